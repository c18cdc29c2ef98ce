/// The markers around a reasoning block at the start of an answer.
///
/// Facts (from Qwen3's chat template): the model writes `<think>\n…\n</think>\n\n` before the answer; the
/// template strips it from earlier turns (keeping the text after `</think>`, reasoning passed as
/// `reasoning_content`), and with `enable_thinking=false` the generation prompt ends with an empty
/// `<think>\n\n</think>\n\n`. Other templates (e.g. Qwen3's thinking-only variants) end the generation
/// prompt with an open `<think>\n`, so the answer starts inside the block.
public struct ReasoningMarkers: Sendable, Equatable {
    /// The opening marker.
    public var open: String
    /// The closing marker.
    public var close: String

    /// Creates markers.
    public init(open: String, close: String) {
        self.open = open
        self.close = close
    }

    /// `<think>` … `</think>`.
    public static let think = ReasoningMarkers(open: "<think>", close: "</think>")

    /// The markers a chat template uses: `<think>` when it writes or strips `</think>`.
    public static func detect(templateSource: String?) -> ReasoningMarkers? {
        guard let source = templateSource, source.contains(think.close) else { return nil }
        return .think
    }

    /// Whether a prompt ends inside a reasoning block: its last opening marker is followed by nothing
    /// but whitespace (the template opened the block for the model).
    public func promptOpensReasoning(_ prompt: String) -> Bool {
        let scalars = Array(prompt.unicodeScalars)
        var end = scalars.count
        while end > 0, ScalarText.isSpace(scalars[end - 1]) { end -= 1 }
        let marker = Array(open.unicodeScalars)
        return !marker.isEmpty && end >= marker.count && scalars[(end - marker.count)..<end].elementsEqual(marker)
    }
}

/// A piece of an answer split by ``ReasoningSplitter``.
public enum ReasoningPiece: Equatable, Sendable {
    /// Reasoning text (markers and the whitespace next to them removed).
    case reasoning(String)
    /// Answer text.
    case answer(String)
}

/// Streams an answer and separates a reasoning block at its start (`<think>…</think>`, leading
/// whitespace allowed before it) from the answer after it. Text that may still be a marker is held back,
/// so markers never reach either side; the whitespace around the reasoning and at the start of the
/// answer after `</think>` is dropped. A block not closed by the end is all reasoning. Markers later in
/// the answer are answer text.
///
/// Feeding the same text in any split gives the same pieces once adjacent pieces of a kind are joined.
public struct ReasoningSplitter: Sendable {
    private enum Phase: Sendable { case start, reasoning, answer }

    private let open: [Unicode.Scalar]
    private let close: [Unicode.Scalar]
    private var phase: Phase
    private var held: [Unicode.Scalar] = []
    /// No reasoning text emitted yet (its leading whitespace is dropped).
    private var atReasoningStart = true
    /// Just after the closing marker (the answer's leading whitespace is dropped).
    private var afterClose = false

    /// A splitter; `startsInside` when the prompt already opened the block.
    public init(markers: ReasoningMarkers, startsInside: Bool = false) {
        open = Array(markers.open.unicodeScalars)
        close = Array(markers.close.unicodeScalars)
        phase = startsInside ? .reasoning : .start
    }

    /// Whether the reasoning part is over and the answer's leading whitespace after it is dropped:
    /// everything from now on is answer, unchanged.
    public var isInAnswer: Bool { phase == .answer && !afterClose }

    /// Feeds the next piece of the answer.
    public mutating func feed(_ chunk: String) -> [ReasoningPiece] {
        held += chunk.unicodeScalars
        var pieces: [ReasoningPiece] = []
        while step(&pieces, final: false) {}
        return pieces
    }

    /// Ends the answer: held text comes out (an unclosed block as reasoning).
    public mutating func finish() -> [ReasoningPiece] {
        var pieces: [ReasoningPiece] = []
        while step(&pieces, final: true) {}
        switch phase {
        case .start:
            if !held.isEmpty { pieces.append(.answer(ScalarText.string(held))) }
        case .reasoning:
            var end = held.count
            while end > 0, ScalarText.isSpace(held[end - 1]) { end -= 1 }
            pieces += reasoning(held[..<end])
        case .answer: break
        }
        held = []
        return pieces
    }

    /// Splits a whole answer: the reasoning (nil when there is none) and the answer.
    public static func split(_ text: String, markers: ReasoningMarkers, startsInside: Bool = false) -> (reasoning: String?, answer: String) {
        var splitter = ReasoningSplitter(markers: markers, startsInside: startsInside)
        var reasoning: String?
        var answer = ""
        for piece in splitter.feed(text) + splitter.finish() {
            switch piece {
            case .reasoning(let r): reasoning = (reasoning ?? "") + r
            case .answer(let a): answer += a
            }
        }
        return (reasoning, answer)
    }

    private mutating func step(_ pieces: inout [ReasoningPiece], final: Bool) -> Bool {
        switch phase {
        case .start:
            guard let first = held.firstIndex(where: { !ScalarText.isSpace($0) }) else { return false }
            let rest = held[first...]
            if rest.starts(with: open) {
                held.removeFirst(first + open.count)
                phase = .reasoning
                return true
            }
            if !final && open.starts(with: rest) { return false }
            phase = .answer
            let text = held
            held = []
            pieces.append(.answer(ScalarText.string(text)))
            return false
        case .reasoning:
            if let end = ScalarText.find(close, in: held) {
                var last = end
                while last > 0, ScalarText.isSpace(held[last - 1]) { last -= 1 }
                pieces += reasoning(held[..<last])
                held.removeFirst(end + close.count)
                phase = .answer
                afterClose = true
                return true
            }
            if final { return false }
            // Hold a possible start of the closing marker and trailing whitespace.
            var keep = held.count - ScalarText.partialSuffix(held, close)
            while keep > 0, ScalarText.isSpace(held[keep - 1]) { keep -= 1 }
            pieces += reasoning(held[..<keep])
            held.removeFirst(keep)
            return false
        case .answer:
            guard !held.isEmpty else { return false }
            if afterClose {
                guard let first = held.firstIndex(where: { !ScalarText.isSpace($0) }) else { held = []; return false }
                held.removeFirst(first)
                afterClose = false
            }
            pieces.append(.answer(ScalarText.string(held)))
            held = []
            return false
        }
    }

    private mutating func reasoning(_ slice: ArraySlice<Unicode.Scalar>) -> [ReasoningPiece] {
        var slice = slice
        if atReasoningStart {
            guard let first = slice.firstIndex(where: { !ScalarText.isSpace($0) }) else { return [] }
            slice = slice[first...]
            atReasoningStart = false
        }
        return slice.isEmpty ? [] : [.reasoning(ScalarText.string(slice))]
    }
}
