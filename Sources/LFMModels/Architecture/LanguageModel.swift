import LFMKernels

/// A causal language model of any supported family, bound to a compute backend.
///
/// Everything that runs models (generation, chat sessions, the server, text scoring, benchmarks)
/// works through this protocol; `ModelRegistry` makes one from a Hugging Face folder or a GGUF file.
public protocol LanguageModel: AnyObject, Sendable {
    /// Hyper-parameters as the model's family reads them.
    var configuration: any ModelConfiguration { get }
    /// Kernels the forward pass runs on.
    var backend: ComputeBackend { get }
    /// Bytes of weights one decode step reads (for roofline figures).
    var weightBytesPerToken: Int { get }

    /// A fresh state for one sequence of at most `maxContext` positions (nil: the model's limit).
    func makeState(maxContext: Int?) -> SequenceState

    /// A fresh state whose KV cache stores keys and values as `kvType` (nil `maxContext`: the
    /// model's limit). Throws `KVCacheError` when an attention layer's head dimension is not a
    /// whole number of the type's blocks (Q8_0 / Q4_0 need multiples of 32).
    func makeState(maxContext: Int?, kvType: KVCacheType) throws -> SequenceState

    /// Runs `tokens` through the model after the positions already in `state`, updating it.
    ///
    /// Long inputs are processed in chunks of `chunkSize` positions with matrix-matrix kernels;
    /// the result does not depend on the chunking.
    /// - Returns: logits, `V` per selected position, row-major.
    func forward(_ tokens: [Int], state: inout SequenceState, logits: LogitsSelection, chunkSize: Int) throws -> [Float]

    /// Advances several independent sequences in one pass: `tokens[i]` continues `states[i]`.
    ///
    /// All rows go through the projections together (matrix-matrix kernels, so throughput grows
    /// with the batch); the caches and positions of each sequence stay its own. Typical use: one
    /// decode token per sequence (continuous batching), or a prefill chunk of one sequence next
    /// to decode tokens of others.
    /// - Returns: per sequence, the logits of its last token (`V` values).
    func forward(batch tokens: [[Int]], states: inout [SequenceState]) throws -> [[Float]]
}

extension LanguageModel {
    /// A fresh state for one sequence of up to the model's context length.
    public func makeState() -> SequenceState { makeState(maxContext: nil) }

    /// `forward(_:state:logits:chunkSize:)` in chunks of 512 positions.
    public func forward(_ tokens: [Int], state: inout SequenceState, logits: LogitsSelection = .last) throws -> [Float] {
        try forward(tokens, state: &state, logits: logits, chunkSize: 512)
    }
}
