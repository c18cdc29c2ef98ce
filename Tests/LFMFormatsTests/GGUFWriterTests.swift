import Foundation
import Testing
@testable import LFMFormats

@Suite struct GGUFWriterTests {
    /// Re-writes a file produced by the gguf Python package's GGUFWriter through our reader and writer:
    /// the bytes must be identical.
    @Test(arguments: ["metadata", "aligned64"])
    func rewriteIsByteIdenticalToPythonGGUFWriter(_ name: String) throws {
        let path = try GGUFFixtures.path("\(name).gguf")
        let file = try GGUFFile(path: path)
        var writer = GGUFWriter()
        for (key, value) in file.metadata.entries { try writer.add(key, value) }
        for t in file.tensors {
            let info = try writer.addTensor(name: t.name, dimensions: t.dimensions, type: t.type)
            #expect(info == t)
        }
        let out = GGUFFixtures.temporaryPath("\(name).gguf")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try writer.write(to: out) { info, sink in
            // Stream each tensor in two pieces to exercise chunked writes.
            let data = file.data(for: info)
            let half = data.count / 2
            try sink.write(UnsafeRawBufferPointer(rebasing: data[0..<half]))
            try sink.write(UnsafeRawBufferPointer(rebasing: data[half...]))
        }
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let written = try Data(contentsOf: URL(fileURLWithPath: out))
        #expect(written == original)
    }

    @Test func roundTripsEveryValueTypeIncludingEmptyAndNestedArrays() throws {
        let inner: [GGUFArray] = [.string(["a", "b"]), .int32([1]), .array([.float32([2])]), .uint8([])]
        let scalars: [(String, GGUFValue)] = [
            ("general.architecture", .string("lfm2")),
            ("general.alignment", .uint32(16)),
            ("u8", .uint8(255)), ("i8", .int8(-128)), ("u16", .uint16(65535)), ("i16", .int16(-32768)),
            ("u32", .uint32(.max)), ("i32", .int32(.min)), ("u64", .uint64(.max)), ("i64", .int64(.min)),
            ("f32", .float32(-0.0)), ("f32nan", .float32(Float(bitPattern: 0x7FC0_1234))), ("f64", .float64(.infinity)),
            ("yes", .bool(true)), ("no", .bool(false)), ("s", .string("ünïcödé 🦙")), ("empty", .string("")),
        ]
        let arrays: [(String, GGUFArray)] = [
            ("a.u8", .uint8([1, 2])), ("a.i8", .int8([-1])), ("a.u16", .uint16([7])),
            ("a.i16", .int16([-7])), ("a.u32", .uint32([9])), ("a.i32", .int32([])),
            ("a.u64", .uint64([.max])), ("a.i64", .int64([.min])), ("a.f32", .float32([1.5, -0.0])),
            ("a.f64", .float64([-1e-300])), ("a.bool", .bool([true, false])),
            ("a.str", .string(["", "x", "ü"])), ("a.empty_str", .string([])), ("a.nested", .array(inner)),
        ]
        let values = scalars + arrays.map { ($0.0, GGUFValue.array($0.1)) }
        var writer = GGUFWriter()
        for (k, v) in values { try writer.add(k, v) }
        let matrix: [Float] = (0..<96).map { Float($0) - 40.5 }
        let q8: [UInt8] = (0..<(34 * 4)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        try writer.addTensor(name: "m.weight", dimensions: [32, 3], type: .f32)
        try writer.addTensor(name: "q.weight", dimensions: [64, 2], type: .q8_0)
        try writer.addTensor(name: "odd.bias", dimensions: [3], type: .f16)
        let data: [String: [UInt8]] = [
            "m.weight": matrix.withUnsafeBytes { Array($0) },
            "q.weight": q8,
            "odd.bias": [1, 0, 2, 0, 3, 0],
        ]
        let out = GGUFFixtures.temporaryPath("roundtrip.gguf")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try writer.write(to: out, data: data)

        let file = try GGUFFile(path: out)
        #expect(file.version == 3)
        #expect(file.alignment == 16)
        #expect(file.metadata.count == values.count)
        for ((k, v), entry) in zip(values, file.metadata.entries) {
            #expect(entry.key == k)
            #expect(entry.value.bitwiseEquals(v), "\(k)")
        }
        #expect(file.tensors.map(\.name) == ["m.weight", "q.weight", "odd.bias"])
        #expect(file.tensors.map(\.offset) == [0, 384, 528])
        for t in file.tensors { #expect(Array(file.data(for: t)) == data[t.name]) }
        let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        #expect(size == file.dataOffset + 528 + 16)  // the last tensor is padded too
    }

    @Test func rejectsBadInput() throws {
        var writer = GGUFWriter()
        try writer.add("k", .uint8(1))
        #expect(throws: GGUFError.duplicateKey("k")) { try writer.add("k", .uint8(2)) }
        #expect(throws: GGUFError.badAlignment(found: "uint32 12")) { try writer.add("general.alignment", .uint32(12)) }
        #expect(throws: GGUFError.badAlignment(found: "int32 32")) { try writer.add("general.alignment", .int32(32)) }
        try writer.addTensor(name: "a", dimensions: [32], type: .q4_0)
        #expect(throws: GGUFError.duplicateTensorName("a")) { try writer.addTensor(name: "a", dimensions: [32], type: .q4_0) }
        #expect(throws: GGUFError.notBlockMultiple(tensor: "b", type: "Q4_0", firstDimension: 31, blockSize: 32)) {
            try writer.addTensor(name: "b", dimensions: [31], type: .q4_0)
        }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: String(repeating: "n", count: 64), dimensions: [1], type: .f32) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "c", dimensions: [1, 1, 1, 1, 1], type: .f32) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "d", dimensions: [-1], type: .f32) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "e", dimensions: [1 << 62], type: .f32) }
        #expect(throws: GGUFError.self) { try writer.add("general.alignment", .uint32(64)) }
        // Names rejected above stay available.
        try writer.addTensor(name: "b", dimensions: [64], type: .q4_0)
        #expect(writer.tensors.map(\.offset) == [0, 32])

        let out = GGUFFixtures.temporaryPath("short.gguf")
        defer { try? FileManager.default.removeItem(atPath: out) }
        #expect(throws: GGUFError.tensorDataSizeMismatch(tensor: "a", expected: 18, found: 17)) {
            try writer.write(to: out, data: ["a": [UInt8](repeating: 0, count: 17), "b": [UInt8](repeating: 0, count: 36)])
        }
        #expect(throws: GGUFError.missingTensor("b")) {
            try writer.write(to: out, data: ["a": [UInt8](repeating: 0, count: 18)])
        }
        #expect(throws: GGUFError.self) { try writer.write(to: "/nonexistent-dir/x.gguf", data: [:]) }
    }
}
