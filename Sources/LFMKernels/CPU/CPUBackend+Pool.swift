extension CPUBackend {
    /// The backend's worker threads, for callers (e.g. the training ops) that split their own
    /// kernels over the same threads instead of starting a second pool.
    public var threadPool: ThreadPool { pool }
}
