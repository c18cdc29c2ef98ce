import Testing
@testable import LFMKernels

@Suite struct QuantEdgeTests {
    @Test func rowBytesChecksBlocksAndOverflow() throws {
        #expect(try GGMLType.q4_K.rowBytes(cols: 512) == 288)
        #expect(try GGMLType.bf16.rowBytes(cols: 3) == 6)
        #expect(try GGMLType.q8_0.rowBytes(cols: 0) == 0)
        #expect(throws: QuantError.notBlockMultiple(type: .q4_0, count: 33)) { try GGMLType.q4_0.rowBytes(cols: 33) }
        #expect(throws: QuantError.negativeCount(type: .f16, count: -1)) { try GGMLType.f16.rowBytes(cols: -1) }
        #expect(throws: QuantError.sizeOverflow(type: .f32, count: Int.max / 2)) { try GGMLType.f32.rowBytes(cols: Int.max / 2) }
        #expect(throws: QuantError.sizeOverflow(type: .q8_K, count: Int.max / 256 * 256)) {
            try GGMLType.q8_K.rowBytes(cols: Int.max / 256 * 256)
        }
    }

    @Test func typeIdsAreGGMLs() throws {
        #expect(GGMLType.allCases.map(\.rawValue) == [0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 20, 23, 30])
        #expect(try GGMLType(id: 12) == .q4_K)
        #expect(throws: QuantError.unsupportedType(id: 9)) { try GGMLType(id: 9) }
        #expect(try GGMLType(id: 20) == .iq4_NL)
        #expect(try GGMLType(id: 23) == .iq4_XS)
        #expect(throws: QuantError.unsupportedType(id: 21)) { try GGMLType(id: 21) }
    }

    @Test func buffersOfTheWrongSizeAreRejected() throws {
        #expect(throws: QuantError.bufferSizeMismatch(type: .q8_0, elements: 32, expectedBytes: 34, foundBytes: 33)) {
            try GGMLType.q8_0.dequantize([UInt8](repeating: 0, count: 33), count: 32)
        }
        var out = [UInt8](repeating: 0, count: 10)
        let input = [Float](repeating: 1, count: 32)
        #expect(throws: QuantError.bufferSizeMismatch(type: .q4_0, elements: 32, expectedBytes: 18, foundBytes: 10)) {
            try input.withUnsafeBufferPointer { src in try out.withUnsafeMutableBytes { try GGMLType.q4_0.quantizeRow(src, into: $0) } }
        }
    }

    @Test(arguments: GGMLType.allCases)
    func nonFiniteInputsAreRejected(_ type: GGMLType) throws {
        var values = [Float](repeating: 0.5, count: 256)
        values[77] = .nan
        #expect(throws: QuantError.nonFiniteInput(type: type, index: 77)) { try type.quantize(values) }
        values[77] = -.infinity
        #expect(throws: QuantError.nonFiniteInput(type: type, index: 77)) { try type.quantize(values) }
    }

    @Test(arguments: GGMLType.allCases)
    func zerosRoundTripToZeros(_ type: GGMLType) throws {
        let zeros = [Float](repeating: 0, count: 512)
        let back = try type.dequantize(try type.quantize(zeros), count: 512)
        #expect(back.allSatisfy { $0 == 0 }, "\(type)")
    }

    @Test func q8KDequantizesAsScaleTimesQuant() throws {
        // Q8_K: f32 d, 256 int8 quants, 16 int16 block sums; dequantize = d * q.
        var block = [UInt8](repeating: 0, count: 292)
        withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { block.replaceSubrange(0..<4, with: $0) }
        for i in 0..<256 { block[4 + i] = UInt8(bitPattern: Int8(truncatingIfNeeded: i - 128)) }
        let values = try GGMLType.q8_K.dequantize(block, count: 256)
        #expect(values == (0..<256).map { Float($0 - 128) * 0.25 })
        // The quantizer fills the block sums.
        let q = try GGMLType.q8_K.quantize((0..<256).map { Float($0 % 16) - 7.5 })
        for j in 0..<16 {
            let sum = (0..<16).reduce(0) { $0 + Int(Int8(bitPattern: q[4 + 16 * j + $1])) }
            let stored = Int(Int16(bitPattern: UInt16(q[260 + 2 * j]) | UInt16(q[261 + 2 * j]) << 8))
            #expect(stored == sum)
        }
    }
}
