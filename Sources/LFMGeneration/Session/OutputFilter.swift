import LFMChat
import LFMTokenizer

/// Turns generated ids into events: text chunks (through the streaming detokenizer and the stop
/// strings), and tool calls (LFM2's marked form, and LFM2.5's bare list at the start of an answer),
/// so that tool-call text never leaks into the text chunks.
/// Public so that other schedulers (the server's batch engine) reuse the exact same output handling.
public struct OutputFilter {
    private var detokenizer: StreamingDetokenizer
    private var stops: StopStringMatcher
    private let tokenizer: Tokenizer
    private let parseToolCalls: Bool
    private let callStart: Int?
    private let callEnd: Int?
    private var callIds: [Int]?          // inside <|tool_call_start|> … <|tool_call_end|>
    private var bareCandidate: String?   // start of the answer while it may be a bare call list
    /// Whether a tool call was parsed so far.
    public private(set) var sawToolCall = false
    /// Whether a stop string was hit (nothing more will be emitted).
    public private(set) var stopped = false

    /// Creates a filter for one generation.
    public init(tokenizer: Tokenizer, stopStrings: [String], parseToolCalls: Bool) {
        self.tokenizer = tokenizer
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: false, lossy: true)
        stops = StopStringMatcher(stopStrings)
        self.parseToolCalls = parseToolCalls
        callStart = tokenizer.id(for: ToolCallParser.startMarker)
        callEnd = tokenizer.id(for: ToolCallParser.endMarker)
        bareCandidate = parseToolCalls ? "" : nil
    }

    /// Feeds one generated id; returns the events it completes.
    public mutating func feed(_ id: Int) -> [GenerationEvent] {
        if parseToolCalls, let callStart, id == callStart, callIds == nil {
            var events = releaseBare()
            events += flushText()
            callIds = []
            return events
        }
        if let ids = callIds {
            if let callEnd, id == callEnd {
                callIds = nil
                let body = (try? tokenizer.decode(ids, lossy: true)) ?? ""
                do {
                    let calls = try ToolCallParser.parse(body)
                    sawToolCall = sawToolCall || !calls.isEmpty
                    return calls.map { .toolCall($0) }
                } catch {
                    let text = ToolCallParser.startMarker + body + ToolCallParser.endMarker
                    return [.warning("malformed tool call passed on as text: \(error)")] + emit(text)
                }
            }
            callIds?.append(id)
            return []
        }
        let chunk = (try? detokenizer.append(id)) ?? ""
        if var candidate = bareCandidate {
            candidate += chunk
            if ToolCallParser.couldBeBareCallPrefix(candidate) || (ToolCallParser.looksLikeBareCall(candidate)) {
                bareCandidate = candidate
                return []
            }
            bareCandidate = nil
            return emit(candidate)
        }
        return emit(chunk)
    }

    /// Ends the stream: unterminated calls and held-back text come out as text.
    public mutating func finish() -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        if let ids = callIds {
            callIds = nil
            let body = (try? tokenizer.decode(ids, lossy: true)) ?? ""
            events.append(.warning("unterminated tool call passed on as text"))
            events += emit(ToolCallParser.startMarker + body)
        }
        let tail = (try? detokenizer.flush()) ?? ""
        if var candidate = bareCandidate {
            candidate += tail
            bareCandidate = nil
            if ToolCallParser.looksLikeBareCall(candidate), let calls = try? ToolCallParser.parse(candidate), !calls.isEmpty {
                sawToolCall = true
                return events + calls.map { .toolCall($0) }
            }
            events += emit(candidate)
        } else {
            events += emit(tail)
        }
        if !stopped {
            let rest = stops.flush()
            if !rest.isEmpty { events.append(.text(rest)) }
        }
        return events
    }

    private mutating func releaseBare() -> [GenerationEvent] {
        guard let candidate = bareCandidate else { return [] }
        bareCandidate = nil
        return emit(candidate)
    }

    private mutating func flushText() -> [GenerationEvent] {
        let tail = (try? detokenizer.flush()) ?? ""
        return emit(tail)
    }

    private mutating func emit(_ text: String) -> [GenerationEvent] {
        guard !stopped, !text.isEmpty else { return [] }
        let (safe, hit) = stops.feed(text)
        if hit { stopped = true }
        return safe.isEmpty ? [] : [.text(safe)]
    }
}
