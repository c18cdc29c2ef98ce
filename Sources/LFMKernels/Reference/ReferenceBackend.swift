import Foundation
import LFMCore

/// Plain scalar loops, single-threaded, accumulating in `Double` where it matters: the oracle
/// every optimized kernel is tested against. Obviously correct beats fast here.
public final class ReferenceBackend: ComputeBackend, Sendable {
    /// Creates the reference backend.
    public init() {}

    public func matmul(_ w: WeightMatrix, x: UnsafePointer<Float>, xStride: Int, m: Int,
                       y: UnsafeMutablePointer<Float>, yStride: Int) {
        for i in 0..<m {
            for n in 0..<w.rows {
                var sum = 0.0
                for k in 0..<w.cols { sum += Double(x[i * xStride + k]) * Double(w.element(n, k)) }
                y[i * yStride + n] = Float(sum)
            }
        }
    }

    public func rmsNorm(x: UnsafePointer<Float>, xStride: Int, weight: UnsafePointer<Float>, dim: Int, rows: Int,
                        eps: Float, out: UnsafeMutablePointer<Float>, outStride: Int) {
        for r in 0..<rows {
            var sumSquares = 0.0
            for i in 0..<dim { let v = Double(x[r * xStride + i]); sumSquares += v * v }
            let inverse = Float(1.0 / (sumSquares / Double(dim) + Double(eps)).squareRoot())
            for i in 0..<dim { out[r * outStride + i] = weight[i] * (x[r * xStride + i] * inverse) }
        }
    }

    public func ropeNeox(x: UnsafeMutablePointer<Float>, xStride: Int, rows: Int, heads: Int, headDim: Int,
                         startPosition: Int, inverseFrequencies: UnsafePointer<Float>) {
        let half = headDim / 2
        for r in 0..<rows {
            let position = Float(startPosition + r)
            for h in 0..<heads {
                let base = x + r * xStride + h * headDim
                for j in 0..<half {
                    let angle = position * inverseFrequencies[j]
                    let c = cos(angle), s = sin(angle)
                    let a = base[j], b = base[j + half]
                    base[j] = a * c - b * s
                    base[j + half] = b * c + a * s
                }
            }
        }
    }

    /// Converts each row with the scalar reference conversions (`DType.quantizeRow`: ggml's
    /// reference quantizers, F16 / BF16 round to nearest even); a block with a non-finite value
    /// becomes scale NaN with codes 0.
    public func storeKeyValues(_ x: UnsafePointer<Float>, xStride: Int, rows: Int, width: Int, as type: KVCacheType,
                               into out: UnsafeMutableRawPointer, rowBytes: Int) {
        let dtype = type.storage, block = type.blockSize
        for r in 0..<rows {
            let row = out + r * rowBytes
            switch type {
            case .f32, .f16, .bf16:
                // Element by element (non-finite values are stored as such).
                for i in 0..<width {
                    let value = x[r * xStride + i]
                    switch type {
                    case .f32: row.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self)
                    case .f16: row.storeBytes(of: HalfConversion.floatToF16(value), toByteOffset: 2 * i, as: UInt16.self)
                    default: row.storeBytes(of: HalfConversion.floatToBF16(value), toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
                continue
            case .q8_0, .q4_0: break
            }
            for b in 0..<(width / block) {
                let source = UnsafeBufferPointer(start: x + r * xStride + b * block, count: block)
                let target = UnsafeMutableRawBufferPointer(start: row + b * dtype.typeSize, count: dtype.typeSize)
                if !source.allSatisfy(\.isFinite) {
                    target.initializeMemory(as: UInt8.self, repeating: 0)
                    target.storeBytes(of: UInt16(0x7E00), as: UInt16.self)
                    continue
                }
                do { try dtype.quantizeRow(source, into: target) } catch {
                    preconditionFailure("reference KV store: \(error)")
                }
            }
        }
    }

    /// Widens the visible rows with `DType.dequantizeRow` (bit-exact with ggml), then a two-pass
    /// softmax in `Double`.
    public func attention(q: UnsafePointer<Float>, qStride: Int, rows: Int, startPosition: Int,
                          keys: UnsafeRawPointer, values: UnsafeRawPointer, kvType: KVCacheType, kvRowBytes: Int,
                          heads: Int, kvHeads: Int, headDim: Int, window: Int, scale: Float,
                          out: UnsafeMutablePointer<Float>, outStride: Int) {
        let group = heads / kvHeads, total = startPosition + rows, width = kvHeads * headDim
        let dtype = kvType.storage, headBytes = kvType.rowBytes(width: headDim)
        // Widened keys and values, one row of kvHeads * headDim per position.
        var k = [Float](repeating: 0, count: total * width), v = k
        for t in 0..<total {
            for head in 0..<kvHeads {
                let offset = t * kvRowBytes + head * headBytes
                k.withUnsafeMutableBufferPointer { widened in
                    v.withUnsafeMutableBufferPointer { widenedValues in
                        do {
                            try dtype.dequantizeRow(UnsafeRawBufferPointer(start: keys + offset, count: headBytes),
                                                    into: UnsafeMutableBufferPointer(rebasing: widened[(t * width + head * headDim)...].prefix(headDim)))
                            try dtype.dequantizeRow(UnsafeRawBufferPointer(start: values + offset, count: headBytes),
                                                    into: UnsafeMutableBufferPointer(rebasing: widenedValues[(t * width + head * headDim)...].prefix(headDim)))
                        } catch {
                            preconditionFailure("reference KV widen: \(error)")
                        }
                    }
                }
            }
        }
        var scores = [Double](repeating: 0, count: total)
        for r in 0..<rows {
            let end = startPosition + r + 1
            let first = window > 0 ? max(0, end - window) : 0
            let visible = end - first
            for h in 0..<heads {
                let kvHead = h / group
                let query = q + r * qStride + h * headDim
                var maximum = -Double.infinity
                for t in 0..<visible {
                    let key = (first + t) * width + kvHead * headDim
                    var dot = 0.0
                    for d in 0..<headDim { dot += Double(query[d]) * Double(k[key + d]) }
                    scores[t] = dot * Double(scale)
                    maximum = max(maximum, scores[t])
                }
                var sum = 0.0
                for t in 0..<visible { scores[t] = exp(scores[t] - maximum); sum += scores[t] }
                let output = out + r * outStride + h * headDim
                for d in 0..<headDim {
                    var acc = 0.0
                    for t in 0..<visible { acc += scores[t] * Double(v[(first + t) * width + kvHead * headDim + d]) }
                    output[d] = Float(acc / sum)
                }
            }
        }
    }

    public func shortConv(x: UnsafePointer<Float>, xStride: Int, rows: Int, channels: Int, kernel: Int,
                          state: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>,
                          out: UnsafeMutablePointer<Float>, outStride: Int) {
        let history = kernel - 1
        // window row τ: τ < history → state row τ, else x row τ − history.
        func window(_ row: Int, _ c: Int) -> Float {
            row < history ? state[row * channels + c] : x[(row - history) * xStride + c]
        }
        for t in 0..<rows {
            for c in 0..<channels {
                var sum = 0.0
                for j in 0..<kernel { sum += Double(weight[c * kernel + j]) * Double(window(t + j, c)) }
                out[t * outStride + c] = Float(sum)
            }
        }
        var newState = [Float](repeating: 0, count: history * channels)
        for r in 0..<history {
            for c in 0..<channels { newState[r * channels + c] = window(rows + r, c) }
        }
        for i in 0..<newState.count { state[i] = newState[i] }
    }

    public func siluMul(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = Double(gate[i])
            out[i] = Float(g / (1 + exp(-g)) * Double(up[i]))
        }
    }

    public func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] * b[i] }
    }

    public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = a[i] + b[i] }
    }
}
