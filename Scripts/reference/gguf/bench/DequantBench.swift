// Throughput of the scalar reference dequantizers (dequantizeRow), for bench.sh. Not part of CI.
import Foundation
import LFMKernels

@main
struct DequantBench {
    static func main() throws {
        let count = 1 << 22  // 4M elements per pass
        let passes = 10
        var seed: UInt64 = 12345
        let input: [Float] = (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2_000_001 - 1_000_000) * 1e-7
        }
        var out = [Float](repeating: 0, count: count)
        for type in [GGMLType.q8_0, .q4_0, .q4_K, .q5_K, .q6_K, .f16, .bf16] {
            let bytes = try type.quantize(input)
            var best = Double.infinity
            for _ in 0..<passes {
                let start = DispatchTime.now().uptimeNanoseconds
                try bytes.withUnsafeBytes { src in
                    try out.withUnsafeMutableBufferPointer { try type.dequantizeRow(src, into: $0) }
                }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start))
            }
            print(String(format: "swift %@ %.3f ns/element (best of %d passes over %d elements) checksum %.3f",
                         type.name, best / Double(count), passes, count, out.reduce(0.0) { $0 + Double($1) }))
        }
    }
}
