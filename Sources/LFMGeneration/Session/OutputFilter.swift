import LFMChat
import LFMTokenizer

/// Turns generated ids into events: text chunks (through the streaming detokenizer and the stop
/// strings), reasoning (a `<think>` block at the start of the answer, when the format has reasoning
/// markers), and tool calls in the format's syntax (LFM2's marked form and LFM2.5's bare list at the
/// start of an answer, by token id; Qwen3/Hermes and Llama 3 JSON calls, by text), so that neither
/// reasoning nor tool-call text leaks into the text chunks.
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
    /// The reasoning block at the start of the answer (nil: the format has none).
    private var reasoning: ReasoningSplitter?
    /// Text-level tool calls (Hermes, Llama 3); nil for LFM2's id-level handling or no parsing.
    private var scanner: ToolCallStreamParser?
    /// Whether a tool call was parsed so far.
    public private(set) var sawToolCall = false
    /// Whether a stop string was hit (nothing more will be emitted).
    public private(set) var stopped = false

    /// Creates a filter for one generation with LFM2's output format.
    public init(tokenizer: Tokenizer, stopStrings: [String], parseToolCalls: Bool) {
        self.init(tokenizer: tokenizer, stopStrings: stopStrings, parseToolCalls: parseToolCalls, format: .lfm2, promptTokens: [])
    }

    /// Creates a filter for one generation in `format`. `promptTokens` (only its end is read) tells
    /// whether the prompt already opened a reasoning block.
    public init(tokenizer: Tokenizer, stopStrings: [String], parseToolCalls: Bool, format: ChatOutputFormat, promptTokens: [Int]) {
        self.tokenizer = tokenizer
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: false, lossy: true)
        stops = StopStringMatcher(stopStrings)
        self.parseToolCalls = parseToolCalls
        let isLFM2 = format.toolCalls == .lfm2
        callStart = isLFM2 ? tokenizer.id(for: ToolCallParser.startMarker) : nil
        callEnd = isLFM2 ? tokenizer.id(for: ToolCallParser.endMarker) : nil
        bareCandidate = parseToolCalls && isLFM2 ? "" : nil
        scanner = parseToolCalls ? ToolCallStreamParser(format: format.toolCalls) : nil
        if let markers = format.reasoning {
            let tail = (try? tokenizer.decode(Array(promptTokens.suffix(16)), lossy: true)) ?? ""
            reasoning = ReasoningSplitter(markers: markers, startsInside: markers.promptOpensReasoning(tail))
        }
    }

    /// Feeds one generated id; returns the events it completes.
    public mutating func feed(_ id: Int) -> [GenerationEvent] {
        if var splitter = reasoning, !splitter.isInAnswer {
            // Reasoning first: every id is text until the block is over (markers inside it are reasoning).
            let chunk = (try? detokenizer.append(id)) ?? ""
            let pieces = splitter.feed(chunk)
            reasoning = splitter
            return route(pieces)
        }
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
        return answer(chunk)
    }

    /// Ends the stream: unterminated calls and held-back text come out as text (an unclosed reasoning
    /// block as reasoning).
    public mutating func finish() -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        if let ids = callIds {
            callIds = nil
            let body = (try? tokenizer.decode(ids, lossy: true)) ?? ""
            events.append(.warning("unterminated tool call passed on as text"))
            events += emit(ToolCallParser.startMarker + body)
        }
        var tail = (try? detokenizer.flush()) ?? ""
        if var splitter = reasoning, !splitter.isInAnswer {
            var answerTail = ""
            for piece in splitter.feed(tail) + splitter.finish() {
                switch piece {
                case .reasoning(let text): events.append(.reasoning(text))
                case .answer(let text): answerTail += text
                }
            }
            reasoning = splitter
            tail = answerTail
        }
        if var parser = scanner {
            events += toolEvents(parser.feed(tail) + parser.finish())
            scanner = parser
        } else if var candidate = bareCandidate {
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

    /// Reasoning pieces become events; answer pieces go on to the tool-call handling.
    private mutating func route(_ pieces: [ReasoningPiece]) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        for piece in pieces {
            switch piece {
            case .reasoning(let text): events.append(.reasoning(text))
            case .answer(let text): events += answer(text)
            }
        }
        return events
    }

    /// Answer text (after any reasoning): text-level tool calls, LFM2.5's bare list, or plain text.
    private mutating func answer(_ chunk: String) -> [GenerationEvent] {
        if var parser = scanner {
            let events = toolEvents(parser.feed(chunk))
            scanner = parser
            return events
        }
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

    private mutating func toolEvents(_ parsed: [ToolCallStreamEvent]) -> [GenerationEvent] {
        var events: [GenerationEvent] = []
        for event in parsed {
            switch event {
            case .text(let text): events += emit(text)
            case .call(let call):
                sawToolCall = true
                events.append(.toolCall(call))
            case .malformed(let text, let error):
                events.append(.warning("malformed tool call passed on as text: \(error)"))
                events += emit(text)
            }
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
