/// A node of the reverse-mode autodiff graph: F32 values (row-major), their gradient, and how
/// to send the gradient to the inputs.
///
/// Graphs are built eagerly by the operations in this folder and recorded on a `Tape`;
/// `Tape.backward(from:)` walks them in reverse creation order. Parameters are leaves created
/// with `requiresGrad`; their `grad` accumulates across backward passes until `zeroGrad()`.
public final class Tensor {
    /// Shape, outermost first.
    public let shape: [Int]
    /// Values, row-major.
    public var data: [Float]
    /// d(loss)/d(data), allocated on first use.
    public var grad: [Float]
    /// Whether a gradient flows into this tensor.
    public let requiresGrad: Bool
    /// Sends `grad` to the inputs (nil for leaves).
    var backward: (() -> Void)?

    /// A tensor with `data` of `shape`.
    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == data.count, "data does not fill shape \(shape)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
        grad = requiresGrad ? [Float](repeating: 0, count: data.count) : []
    }

    /// A zero tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Rows of a 2-D tensor (product of all but the last dimension).
    public var rows: Int { shape.count <= 1 ? 1 : count / (shape.last ?? 1) }
    /// Last dimension.
    public var columns: Int { shape.last ?? 1 }

    /// Clears the gradient.
    public func zeroGrad() {
        if requiresGrad {
            if grad.count != count { grad = [Float](repeating: 0, count: count); return }
            grad.withUnsafeMutableBufferPointer { g in g.update(repeating: 0) }
        }
    }

    /// Adds `values` into the gradient (allocating it if needed).
    func accumulate(_ values: [Float]) {
        if grad.isEmpty { grad = values; return }
        grad.withUnsafeMutableBufferPointer { g in
            values.withUnsafeBufferPointer { v in
                for i in 0..<g.count { g[i] += v[i] }
            }
        }
    }

    /// Runs `body` on the gradient buffer with `accumulate == false` when no gradient has been
    /// written yet (the buffer is then uninitialized and `body` must overwrite all of it), else
    /// with `accumulate == true` (`body` must add into it).
    func writeGrad(_ body: (UnsafeMutablePointer<Float>, _ accumulate: Bool) -> Void) {
        if grad.isEmpty {
            grad = uninitializedFloats(count) { body($0, false) }
            return
        }
        grad.withUnsafeMutableBufferPointer { body($0.baseAddress!, true) }
    }
}

/// Records the operations of one forward pass so their gradients can be computed.
public final class Tape {
    private(set) var nodes: [Tensor] = []

    /// Whether ops record their backward functions (false: forward only, e.g. for evaluation;
    /// intermediate activations are then freed as soon as they are used).
    public let recording: Bool

    /// An empty tape; `recording: false` makes a forward-only tape.
    public init(recording: Bool = true) { self.recording = recording }

    // Each recorded output's backward closure captures the output itself: drop the closures so
    // the graph is freed with the tape (otherwise every step would leak its activations).
    deinit { reset() }

    /// Records `tensor` (an op's output) with its backward function, if any input needs a gradient.
    /// `always` records even when no input needs a gradient (ops with parameters inside them).
    func record(_ tensor: Tensor, inputs: [Tensor], always: Bool = false, backward: @escaping () -> Void) -> Tensor {
        guard recording, always || inputs.contains(where: { $0.requiresGrad || $0.backward != nil }) else { return tensor }
        tensor.backward = backward
        nodes.append(tensor)
        return tensor
    }

    /// Backpropagates from the scalar `loss` (d loss/d loss = 1) through every recorded op.
    public func backward(from loss: Tensor) {
        precondition(loss.count == 1, "backward starts from a scalar")
        if loss.grad.isEmpty { loss.grad = [0] }
        loss.grad[0] = 1
        backward(seeded: loss)
    }

    /// Backpropagates through every recorded op; `seed` (the last output) already holds its gradient.
    func backward(seeded seed: Tensor) {
        let loss = seed
        for node in nodes.reversed() {
            // A node that received no gradient (an unused output) contributes nothing.
            guard !node.grad.isEmpty else { continue }
            node.backward?()
            // Its inputs have their share now (and every consumer of this node ran before it):
            // free the activation gradient and the closure (with the inputs it holds) early.
            node.backward = nil
            if node !== loss { node.grad = [] }
        }
    }

    /// Forgets the recorded graph (gradients of parameters stay).
    public func reset() {
        for node in nodes { node.backward = nil }
        nodes.removeAll()
    }
}

/// Whether gradients must flow into `tensor`.
@inline(__always) func needsGrad(_ tensor: Tensor) -> Bool { tensor.requiresGrad || tensor.backward != nil }
