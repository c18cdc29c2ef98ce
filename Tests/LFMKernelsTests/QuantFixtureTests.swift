import Foundation
import Testing
@testable import LFMKernels

/// The block-format fixtures live with the GGUF fixtures in Tests/LFMFormatsTests/Fixtures/gguf (written by
/// Scripts/reference/gguf/make_gguf_fixtures.py); this target has no resources, so they are read by source path.
enum QuantFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LFMFormatsTests/Fixtures/gguf")

    static func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// First index where two float arrays differ bit for bit, or nil.
func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
}

func firstByteDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    if a.count != b.count { return min(a.count, b.count) }
    return a.indices.first { a[$0] != b[$0] }
}

@Suite struct QuantFixtureTests {
    static let quantizedByGGUF: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0]
    /// IQ4_NL / IQ4_XS fixtures come from Scripts/reference/gguf/iq4 (ggml's quantize_iq4_nl / _xs, which
    /// llama-quantize runs; their random-block dequantizations are ggml's, equal to gguf.quants').
    static let blockTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
                                         .iq4_NL, .iq4_XS]
    static let dequantizedByGGUF: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
                                                .iq4_NL, .iq4_XS]

    @Test func geometryMatchesTheGGUFPackage() throws {
        let table = try #require(try JSONSerialization.jsonObject(with: Data(QuantFixtures.bytes("ggml_types.json"))) as? [[String: Any]])
        for type in GGMLType.allCases {
            let row = try #require(table.first { $0["id"] as? UInt32 == type.rawValue }, "\(type)")
            #expect(row["name"] as? String == type.name)
            #expect(row["block_size"] as? Int == type.blockSize, "\(type)")
            #expect(row["type_size"] as? Int == type.typeSize, "\(type)")
        }
        // The sizes the GGUF spec gives for the common block formats.
        #expect([GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS].map { "\($0.typeSize)/\($0.blockSize)" }
                == ["34/32", "18/32", "20/32", "22/32", "24/32", "144/256", "176/256", "210/256", "18/32", "136/256"])
    }

    /// dequantizeRow(bytes that gguf.quants.quantize produced) == gguf.quants.dequantize, bit for bit.
    @Test(arguments: quantizedByGGUF)
    func dequantizationIsBitExactWithGGUF(_ type: GGMLType) throws {
        let bytes = try QuantFixtures.bytes("quant/\(type.name).gguf.bin")
        let expected = try QuantFixtures.floats("quant/\(type.name).deq.f32")
        let got = try type.dequantize(bytes, count: expected.count)
        #expect(firstBitDifference(got, expected) == nil, "\(type): first difference at \(firstBitDifference(got, expected) ?? -1)")
    }

    /// Random block bytes (every bit pattern of quants, scales and high bits) dequantize like gguf.quants.
    @Test(arguments: dequantizedByGGUF)
    func dequantizationOfRandomBlocksIsBitExactWithGGUF(_ type: GGMLType) throws {
        let bytes = try QuantFixtures.bytes("quant/\(type.name).random.bin")
        let expected = try QuantFixtures.floats("quant/\(type.name).random.deq.f32")
        #expect(expected.count == 1024)
        let got = try type.dequantize(bytes, count: expected.count)
        #expect(firstBitDifference(got, expected) == nil, "\(type): first difference at \(firstBitDifference(got, expected) ?? -1)")
    }

    /// quantizeRow == gguf.quants.quantize byte for byte (the types gguf implements in Python).
    @Test(arguments: quantizedByGGUF)
    func quantizationMatchesGGUFByteForByte(_ type: GGMLType) throws {
        let input = try QuantFixtures.floats("quant/\(type.name).input.f32")
        let expected = try QuantFixtures.bytes("quant/\(type.name).gguf.bin")
        let got = try type.quantize(input)
        #expect(firstByteDifference(got, expected) == nil, "\(type): first difference at byte \(firstByteDifference(got, expected) ?? -1)")
    }

    /// quantizeRow == ggml's quantize_row_*_ref (run by Scripts/reference/gguf/ggml_oracle) byte for byte,
    /// including the K-quants, which gguf does not implement in Python.
    @Test(arguments: blockTypes)
    func quantizationMatchesGGMLReferenceByteForByte(_ type: GGMLType) throws {
        let input = try QuantFixtures.floats("quant/\(type.name).input.f32")
        let expected = try QuantFixtures.bytes("quant/\(type.name).ggml.bin")
        let got = try type.quantize(input)
        #expect(firstByteDifference(got, expected) == nil, "\(type): first difference at byte \(firstByteDifference(got, expected) ?? -1)")
    }

    /// The same against 16 blocks of 256 with varied distributions (1e-7 to 6.5e4 in scale, heavy tails,
    /// sparse, one-sided, constant, many ties), where the scale searches take their rarer branches.
    @Test(arguments: blockTypes)
    func quantizationOfStressInputsMatchesGGMLReference(_ type: GGMLType) throws {
        let input = try QuantFixtures.floats("quant/stress.input.f32")
        #expect(input.count == 4096)
        let expected = try QuantFixtures.bytes("quant/\(type.name).stress.ggml.bin")
        let got = try type.quantize(input)
        #expect(firstByteDifference(got, expected) == nil, "\(type): first difference at byte \(firstByteDifference(got, expected) ?? -1)")
    }

    /// Quantize then dequantize stays within a per-type budget of relative RMS error (the inputs include
    /// 40x outliers, which dominate the per-256 scale of Q8_K).
    @Test(arguments: GGMLType.allCases)
    func roundTripErrorIsSmall(_ type: GGMLType) throws {
        let input = try QuantFixtures.floats("quant/\(type.name).input.f32")
        let back = try type.dequantize(try type.quantize(input), count: input.count)
        var errorSquares: Double = 0, signalSquares: Double = 0
        for (x, y) in zip(input, back) {
            errorSquares += Double(x - y) * Double(x - y)
            signalSquares += Double(x) * Double(x)
        }
        let relativeRMS = (errorSquares / signalSquares).squareRoot()
        let budget: [GGMLType: Double] = [.f32: 0, .f16: 1e-3, .bf16: 5e-3, .q8_0: 0.01, .q8_K: 0.03, .q6_K: 0.03,
                                          .q5_0: 0.06, .q5_1: 0.06, .q5_K: 0.06, .q4_0: 0.12, .q4_1: 0.12, .q4_K: 0.12,
                                          .q3_K: 0.25, .q2_K: 0.5, .iq4_NL: 0.12, .iq4_XS: 0.12]
        #expect(relativeRMS <= budget[type] ?? 0, "\(type): relative RMS error \(relativeRMS)")
    }
}
