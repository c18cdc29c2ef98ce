import Foundation
import LFMFormats

/// A language model `Trainer` can train: a next-token loss on autodiff tensors, its parameters
/// in a stable order, and a way to save itself as a model folder.
public protocol TrainableLanguageModel: AnyObject {
    /// Size of the vocabulary (every training token must be below it).
    var vocabularySize: Int { get }
    /// Every trainable parameter with its checkpoint name, in a stable order (optimizer state
    /// and checkpoints are indexed by it).
    var namedParameters: [(name: String, tensor: Tensor)] { get }
    /// Whether each layer's forward is recomputed during the backward pass.
    var checkpointActivations: Bool { get set }
    /// Logits `[B·T, V]` for `B` equal-length sequences (each mixes only over itself).
    func forward(batch sequences: [[Int]], ops: Ops) -> Tensor
    /// Clears every parameter's gradient.
    func zeroGrad()
    /// Writes a model folder (`config.json` + `model.safetensors`) in `dtype`.
    func save(to directory: URL, dtype: SafeTensorsDType) throws
}

extension TrainableLanguageModel {
    /// Mean next-token cross-entropy over a batch of equal-length windows, computed as one graph
    /// (every window predicts its `tokens[1...]` from its own prefixes).
    public func loss(batch windows: [[Int]], ops: Ops) -> Tensor {
        precondition(!windows.isEmpty && windows[0].count >= 2, "need at least two tokens")
        let length = windows[0].count
        precondition(windows.allSatisfy { $0.count == length }, "windows of one batch must have the same length")
        let logits = forward(batch: windows.map { Array($0.dropLast()) }, ops: ops)
        return ops.crossEntropy(logits, targets: windows.flatMap { $0.dropFirst() })
    }
}

extension LFM2Trainable: TrainableLanguageModel {
    public var vocabularySize: Int { configuration.vocabularySize }
    public var namedParameters: [(name: String, tensor: Tensor)] {
        orderedParameters.map { ($0.0.huggingFaceName, $0.1) }
    }
}

extension LIVTrainable: TrainableLanguageModel {
    public var vocabularySize: Int { configuration.settings.vocabularySize }
    public var namedParameters: [(name: String, tensor: Tensor)] { orderedParameters.map { ($0.0, $0.1) } }
}
