import LFMKernels

/// Returning a state to an earlier position without a copy of its key/value cache.
///
/// Under the full cache policy, layers without a sliding window only append key/value rows: a
/// forward pass writes rows at and after `position` and never touches the rows before it. So a
/// checkpoint needs only the position and the small per-layer rows (convolution and recurrent
/// state); rewinding restores those, and the next forward pass overwrites the rows past it.
/// `lfm bench` measures every repetition from one filled context this way, holding the cache
/// once instead of copying it per test.
extension SequenceState {
    /// A point `rewind(to:)` returns a state to.
    public struct Checkpoint: Sendable, Equatable {
        /// Tokens in the context at the checkpoint.
        public let position: Int
        let conv: [[Float]]
        let shapes: [LayerCacheShape]
    }

    /// A checkpoint of this state, or nil when later forward passes may move or drop the rows it
    /// would need: a layer with a sliding window (rows older than the window are dropped) or a
    /// bounded cache policy (streaming and prune evict rows).
    public func checkpoint() -> Checkpoint? {
        guard isAppendOnly else { return nil }
        return Checkpoint(position: position, conv: conv, shapes: shapes)
    }

    /// Returns the state to `checkpoint`, taken from this state, which since then has only been
    /// advanced by forward passes (a copy of the state it was taken from counts). Throws
    /// `InferenceError.stateMismatch` when the checkpoint cannot belong to this state's history:
    /// other layer shapes, a position past the state's, or a state that now evicts rows.
    public mutating func rewind(to checkpoint: Checkpoint) throws {
        guard checkpoint.shapes == shapes else {
            throw InferenceError.stateMismatch(detail: "the checkpoint was taken from a state with other layers")
        }
        guard checkpoint.position <= position else {
            throw InferenceError.stateMismatch(detail: "checkpoint at position \(checkpoint.position) is ahead of the state (\(position))")
        }
        guard isAppendOnly else {
            throw InferenceError.stateMismatch(detail: "a state under the \(cachePolicy) cache policy cannot be rewound")
        }
        position = checkpoint.position
        conv = checkpoint.conv
    }

    /// Whether forward passes only append key/value rows (full policy, no sliding windows, nothing
    /// evicted so far).
    private var isAppendOnly: Bool {
        guard cachePolicy == .full, policyState.shift == 0, firstKept.allSatisfy({ $0 == 0 }) else { return false }
        return !shapes.contains { if case .keyValue(_, let window) = $0 { return window > 0 } else { return false } }
    }
}
