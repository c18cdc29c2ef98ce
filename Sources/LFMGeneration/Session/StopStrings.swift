/// Finds stop strings in streamed text, holding back just enough of the tail to catch a stop
/// string split across chunks.
public struct StopStringMatcher: Sendable {
    /// The strings that end generation.
    public let stops: [String]
    private var held = ""

    /// Creates a matcher (empty strings are ignored).
    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Feeds `chunk`; returns the text that is safe to emit and whether a stop string was hit
    /// (the stop string and everything after it are dropped).
    public mutating func feed(_ chunk: String) -> (text: String, stopped: Bool) {
        guard !stops.isEmpty else { return (chunk, false) }
        held += chunk
        // The earliest complete stop string wins.
        var earliest: String.Index?
        for stop in stops {
            if let range = held.range(of: stop), earliest.map({ range.lowerBound < $0 }) ?? true { earliest = range.lowerBound }
        }
        if let earliest {
            let text = String(held[..<earliest])
            held = ""
            return (text, true)
        }
        // Hold back the longest suffix that is a proper prefix of a stop string.
        var keep = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, held.count), to: keep, by: -1)
            where held.hasSuffix(stop.prefix(length)) {
                keep = length
                break
            }
        }
        let cut = held.index(held.endIndex, offsetBy: -keep)
        let text = String(held[..<cut])
        held = String(held[cut...])
        return (text, false)
    }

    /// Returns the held-back text at the end of generation.
    public mutating func flush() -> String {
        defer { held = "" }
        return held
    }
}
