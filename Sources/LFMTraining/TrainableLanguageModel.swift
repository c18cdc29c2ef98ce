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
    /// Mean next-token cross-entropy over equal-length windows, computed as one graph.
    func loss(batch windows: [[Int]], ops: Ops) -> Tensor
    /// Clears every parameter's gradient.
    func zeroGrad()
    /// Writes a model folder (`config.json` + `model.safetensors`) in `dtype`.
    func save(to directory: URL, dtype: SafeTensorsDType) throws
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
