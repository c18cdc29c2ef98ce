extension Ops {
    /// Activation checkpointing: runs `body` (a function of `x` and of parameters) without
    /// keeping its intermediate activations, and runs it again during the backward pass to
    /// compute its gradients. The result and every gradient are bit-identical to calling `body`
    /// directly (the kernels are deterministic); the cost is one more forward of `body`.
    public func checkpoint(_ x: Tensor, _ body: @escaping (Ops, Tensor) -> Tensor) -> Tensor {
        // Forward only: nothing is recorded, so the intermediate activations are freed as they go.
        let y = body(on(Tape(recording: false)), x)
        let out = Tensor(shape: y.shape, data: y.data)
        // The closure must not hold this tape (the tape holds the closure): keep detached ops.
        let detached = on(Tape())
        return tape.record(out, inputs: [x], always: true) {
            let replay = Tape()
            let input = Tensor(shape: x.shape, data: x.data, requiresGrad: needsGrad(x))
            let recomputed = body(detached.on(replay), input)
            guard recomputed.backward != nil else { return } // nothing inside needs a gradient
            recomputed.grad = out.grad
            replay.backward(seeded: recomputed)
            if needsGrad(x) { passGradient(input, to: x, detached.kernels) }
        }
    }
}
