import Foundation

extension RecurrenceBlock {
    /// The elementwise part of the recurrence over `rows` consecutive positions of one sequence,
    /// in plain Swift (one pass over H channels per position; the projections around it are the
    /// backend's matmuls).
    ///
    /// - Parameters:
    ///   - projected: `rows` rows of `2H + groups` values, `[u | z | f]` (the `in_proj` output).
    ///   - state: the H values of `h_{t-1}` before the first row; holds `h` of the last row after.
    ///   - out: `rows` rows of H values, `h_t ⊙ silu(z_t)`.
    func scan(projected: UnsafePointer<Float>, rows: Int, hidden h: Int, state: UnsafeMutablePointer<Float>,
              out: UnsafeMutablePointer<Float>) {
        let g = groups, width = 2 * h + g, perGroup = h / g
        decayBias.withUnsafeBufferPointer { bias in
            for i in 0..<rows {
                let u = projected + i * width, z = u + h, f = u + 2 * h, y = out + i * h
                for group in 0..<g {
                    let decay = 1 / (1 + exp(-(f[group] + bias[group])))
                    for c in (group * perGroup)..<((group + 1) * perGroup) {
                        let next = decay * state[c] + (1 - decay) * u[c]
                        state[c] = next
                        y[c] = next * (z[c] / (1 + exp(-z[c])))
                    }
                }
            }
        }
    }
}
