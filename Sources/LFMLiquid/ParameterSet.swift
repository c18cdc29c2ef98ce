/// The tensors of a liquid model, named and shaped exactly as the ncps `state_dict`, stored in one
/// flat array so that gradients, optimizer moments and clipping work on flat vectors of the same
/// layout.
public struct ParameterSet: Sendable, Equatable {
    /// One named tensor's place in `values`.
    public struct Entry: Sendable, Equatable {
        /// ncps `state_dict` key, e.g. `rnn_cell.ff1.weight`.
        public let name: String
        /// Shape, outermost first (PyTorch order).
        public let shape: [Int]
        /// First element in `values`.
        public let offset: Int
        /// False for the wiring masks (`sparsity_mask`), which ncps stores but never trains.
        public let trainable: Bool
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
        /// The range of `values` this tensor occupies.
        public var range: Range<Int> { offset..<(offset + count) }
    }

    /// Tensors in registration order.
    public private(set) var entries: [Entry] = []
    /// All values, tensor after tensor.
    public var values: [Float] = []
    private var index: [String: Int] = [:]

    /// An empty set.
    public init() {}

    /// Appends a tensor filled with `fill`; returns its offset.
    @discardableResult
    mutating func add(_ name: String, shape: [Int], trainable: Bool = true, fill: Float = 0) -> Int {
        let entry = Entry(name: name, shape: shape, offset: values.count, trainable: trainable)
        index[name] = entries.count
        entries.append(entry)
        values.append(contentsOf: repeatElement(fill, count: entry.count))
        return entry.offset
    }

    /// The entry called `name`.
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// A copy of the tensor called `name`.
    public subscript(name: String) -> [Float]? {
        guard let e = entry(name) else { return nil }
        return Array(values[e.range])
    }

    /// Replaces the values of `name` (the count must match).
    public mutating func set(_ name: String, _ newValues: [Float]) throws {
        guard let e = entry(name) else { throw LiquidModelError("no tensor named \(name)") }
        guard newValues.count == e.count else {
            throw LiquidModelError("tensor \(name) needs \(e.count) values, got \(newValues.count)")
        }
        values.replaceSubrange(e.range, with: newValues)
    }

    /// 1 for each trainable element, 0 for masks (multiplies gradients and updates).
    public var trainableMask: [Float] {
        var mask = [Float](repeating: 0, count: values.count)
        for e in entries where e.trainable { for i in e.range { mask[i] = 1 } }
        return mask
    }

    /// Number of trainable scalars.
    public var trainableCount: Int { entries.filter(\.trainable).reduce(0) { $0 + $1.count } }
}
