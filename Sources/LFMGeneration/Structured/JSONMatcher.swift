/// An incremental matcher of JSON text against a compiled schema: feed it bytes one at a time;
/// it says which bytes may come next, whether the text so far is a complete valid value, and how
/// many bytes at least are needed to complete it.
public struct JSONMatcher: Sendable, Hashable {
    /// The schema.
    public let schema: JSONSchema
    /// Live alternatives (stacks of frames); empty when the text cannot be completed.
    var threads: [JSONSchema.Thread]

    /// A matcher before any byte.
    public init(schema: JSONSchema) {
        self.schema = schema
        threads = [[.value(Int32(schema.root))]]
    }

    init(schema: JSONSchema, threads: [JSONSchema.Thread]) {
        self.schema = schema
        self.threads = threads
    }

    public static func == (lhs: JSONMatcher, rhs: JSONMatcher) -> Bool {
        lhs.schema === rhs.schema && lhs.threads == rhs.threads
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(threads) }

    /// The matcher after `byte`, or nil when the byte makes the text invalid.
    public func advanced(by byte: UInt8) -> JSONMatcher? {
        var out: [JSONSchema.Thread] = []
        for thread in threads { schema.feed(thread, Int(byte), into: &out) }
        guard !out.isEmpty else { return nil }
        return JSONMatcher(schema: schema, threads: JSONMatcher.unique(out))
    }

    /// Feeds `byte`; returns false (and changes nothing) when it is not allowed.
    @discardableResult
    public mutating func feed(_ byte: UInt8) -> Bool {
        guard let next = advanced(by: byte) else { return false }
        self = next
        return true
    }

    /// Feeds `bytes` in order; returns false (and changes nothing) when one is not allowed.
    @discardableResult
    public mutating func feed<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        var copy = self
        for b in bytes where !copy.feed(b) { return false }
        self = copy
        return true
    }

    /// Feeds the UTF-8 bytes of `text`; returns false (and changes nothing) when they are not allowed.
    @discardableResult
    public mutating func feed(_ text: String) -> Bool { feed(Array(text.utf8)) }

    /// Whether the text so far is a complete value of the schema (the output may end here).
    public var isComplete: Bool {
        for thread in threads {
            var out: [JSONSchema.Thread] = []
            schema.feed(thread, JSONSchema.end, into: &out)
            if !out.isEmpty { return true }
        }
        return false
    }

    /// Bytes that may come next.
    public var allowedBytes: [UInt8] {
        (0...255).map { UInt8($0) }.filter { advanced(by: $0) != nil }
    }

    /// Fewest bytes that complete the value (0 when complete).
    public var shortestCompletion: Int {
        threads.map { schema.distance($0) }.min() ?? JSONSchema.infinite
    }

    /// The threads without repeats, in first-seen order (hashed past a few, so many live
    /// alternatives cost linear time, not quadratic).
    static func unique(_ threads: [JSONSchema.Thread]) -> [JSONSchema.Thread] {
        guard threads.count > 1 else { return threads }
        var out: [JSONSchema.Thread] = []
        if threads.count <= 8 {
            for t in threads where !out.contains(t) { out.append(t) }
            return out
        }
        var seen = Set<JSONSchema.Thread>(minimumCapacity: threads.count)
        for t in threads where seen.insert(t).inserted { out.append(t) }
        return out
    }
}
