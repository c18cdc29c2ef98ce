import Foundation
import HTTPTypes
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// Seeded mutation fuzzing of hostile-input parsers: HTTP request decoding (path, bearer header,
/// JSON body, chat/completion parsing with schemas and tools), the JSON-schema compiler (and its
/// first mask), and the tool-call parser. `swift test` replays the committed corpus
/// (`FuzzCorpus/<target>/`); `Scripts/fuzz/run.sh TARGET SECONDS` mutates it for a while, saving
/// slow inputs to the corpus and leaving the input being run in `$LFM_FUZZ_CURRENT` so that a
/// crash can be saved by the script.
enum FuzzTarget: String, CaseIterable, Sendable {
    case http, schema, toolcall

    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus")

    var corpus: URL { Self.corpusRoot.appendingPathComponent(rawValue) }

    /// The corpus files, sorted by name.
    func corpusFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs one input; errors are expected outcomes, only crashes, hangs and broken properties are findings.
    /// Returns a description of a broken property, if any.
    func run(_ input: [UInt8], harness: FuzzHarness) -> String? {
        switch self {
        case .http: return harness.http(input)
        case .schema: return harness.schema(input)
        case .toolcall: return harness.toolCall(input)
        }
    }
}

/// What the targets need, built once.
final class FuzzHarness: Sendable {
    let server: OpenAIServer
    let schemaOptions: SchemaCompileOptions

    init(target: FuzzTarget) throws {
        server = try TestModel.server(maxContext: 2048)
        // Built once up front, so that its one-time cost is not taken for a slow input.
        if target != .toolcall { _ = server.engine.tokenVocabulary() }
        var options = ServerOptions.defaultSchemaOptions
        options.maxFirstMaskWork = 200_000
        schemaOptions = options
    }

    /// Line 1: the request path; line 2: the Authorization value; the rest: a JSON body for chat (or,
    /// when the path ends in "completions" without "chat", for the legacy endpoint).
    func http(_ input: [UInt8]) -> String? {
        let text = String(decoding: input, as: UTF8.self)
        let lines = text.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false)
        let path = lines.count > 0 ? String(lines[0]) : ""
        let authorization = lines.count > 1 ? String(lines[1]) : ""
        let body = lines.count > 2 ? String(lines[2]) : ""
        let segments = try? RoutePath.segments(path)
        let endpoint = segments.flatMap { Endpoint($0) }
        var fields = HTTPFields()
        if let name = HTTPField.Name("authorization"), !authorization.isEmpty,
           authorization.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) {
            fields[name] = authorization
        }
        _ = BearerToken.parse(fields)
        // Normalising twice changes nothing (routing and authorisation see the same route).
        if let segments, let again = try? RoutePath.segments("/" + segments.map { $0.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F") }.joined(separator: "/")),
           again != segments {
            return "normalising \(path.debugDescription) twice: \(segments) then \(again)"
        }
        _ = endpoint?.isPublic
        guard let value = try? Value.parseJSON(data: Data(body.utf8)) else { return nil }
        if path.hasSuffix("completions") && !path.contains("chat") {
            _ = try? RequestParser.completion(value, context: server.prompt)
        } else {
            _ = try? RequestParser.chat(value, context: server.prompt, schemaOptions: schemaOptions)
        }
        return nil
    }

    /// A JSON schema document (or a response_format wrapper): compile, validate a few values, prepare the first mask.
    func schema(_ input: [UInt8]) -> String? {
        guard let value = try? Value.parseJSON(data: Data(input)) else { return nil }
        let compiled: JSONSchema?
        if case .object(let o) = value, case .string? = o["type"], o["json_schema"] != nil {
            compiled = (try? ResponseFormat.parse(value, options: schemaOptions)) ?? nil
        } else {
            compiled = try? JSONSchema(value, options: schemaOptions)
        }
        let validator = SchemaValidator(schema: value)
        for sample in [Value.none, .bool(true), .int(0), .string(""), .array([]), .dict([])] { _ = validator.firstError(sample) }
        guard let compiled else { return nil }
        var matcher = JSONMatcher(schema: compiled)
        _ = matcher.feed("{\"a\": [1, \"x\", null, true]}")
        _ = matcher.isComplete
        try? ConstrainedDecoder(schema: compiled, vocabulary: server.engine.tokenVocabulary(), stopTokens: []).prepareFirstMask()
        return nil
    }

    /// Tool-call text: parse and extract; a parsed call written back in the model's syntax parses to the same call.
    func toolCall(_ input: [UInt8]) -> String? {
        let text = String(decoding: input, as: UTF8.self)
        _ = ToolCallParser.extract(from: text)
        _ = ToolCallParser.looksLikeBareCall(text)
        _ = ToolCallParser.couldBeBareCallPrefix(text)
        guard let calls = try? ToolCallParser.parse(text) else { return nil }
        let written = "[" + calls.map { pythonCall($0.name, $0.arguments) }.joined(separator: ", ") + "]"
        guard let again = try? ToolCallParser.parse(written) else { return "\(text.debugDescription) written as \(written.debugDescription) does not parse" }
        // Doubles may print differently; compare through the written form.
        let rewritten = "[" + again.map { pythonCall($0.name, $0.arguments) }.joined(separator: ", ") + "]"
        return rewritten == written ? nil : "\(written.debugDescription) reads back as \(rewritten.debugDescription)"
    }
}

/// Byte-level mutations, seeded.
struct Mutator {
    var state: UInt64
    static let tokens: [[UInt8]] = ["{", "}", "[", "]", "\"", "\\", "%", "%2F", "%2e", "..", "/", "//", ":", ",", "=", "(", ")", "None",
                                    "True", "1e308", "-0", "\\u0000", "\\ud800", "anyOf", "$ref", "#", "#/$defs/a", "properties",
                                    "required", "items", "enum", "type", "object", "string", "<|tool_call_start|>", "<|tool_call_end|>",
                                    "Bearer ", "\n", "\u{0}", "\u{FFFF}", "é", "99999999999999999999"].map { Array($0.utf8) }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// One to four mutations of `input`, splicing from `other` sometimes.
    mutating func mutate(_ input: [UInt8], other: [UInt8]) -> [UInt8] {
        var data = input
        for _ in 0...below(4) {
            let at = below(data.count + 1)
            switch below(7) {
            case 0 where !data.isEmpty: data[min(at, data.count - 1)] ^= UInt8(1 << below(8))
            case 1: data.insert(UInt8(truncatingIfNeeded: next()), at: at)
            case 2 where !data.isEmpty: data.removeSubrange(at..<min(data.count, at + 1 + below(8)))
            case 3: data.insert(contentsOf: Self.tokens[below(Self.tokens.count)], at: at)
            case 4 where !data.isEmpty:
                let start = below(data.count), length = below(min(64, data.count - start) + 1)
                data.insert(contentsOf: data[start..<(start + length)], at: at)
            case 5 where !other.isEmpty:
                let start = below(other.count), length = below(min(256, other.count - start) + 1)
                data.insert(contentsOf: other[start..<(start + length)], at: at)
            default:
                if !data.isEmpty { data[min(at, data.count - 1)] = UInt8(truncatingIfNeeded: next()) }
            }
        }
        return data.count > 1 << 16 ? Array(data.prefix(1 << 16)) : data
    }
}

@Suite(.serialized) struct FuzzTests {
    /// Every corpus input runs without crashing, within 5 s, and keeps its properties.
    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(target: FuzzTarget) throws {
        let harness = try FuzzHarness(target: target)
        defer { harness.server.engine.shutdown() }
        let files = try target.corpusFiles()
        #expect(!files.isEmpty, "no corpus for \(target)")
        for file in files {
            let start = Date()
            let problem = target.run(Array(try Data(contentsOf: file)), harness: harness)
            #expect(problem == nil, "\(file.lastPathComponent): \(problem ?? "")")
            #expect(Date().timeIntervalSince(start) < 5, "\(file.lastPathComponent) took \(Date().timeIntervalSince(start)) s")
        }
    }

    /// Mutates the corpus for `LFM_FUZZ_SECONDS` when `LFM_FUZZ_TARGET` is set (see Scripts/fuzz/run.sh).
    @Test func fuzzForAWhile() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let name = environment["LFM_FUZZ_TARGET"] else { return }
        guard let target = FuzzTarget(rawValue: name) else { throw TestFailure("unknown fuzz target \(name)") }
        let seconds = Double(environment["LFM_FUZZ_SECONDS"] ?? "") ?? 60
        var mutator = Mutator(state: UInt64(environment["LFM_FUZZ_SEED"] ?? "") ?? 1)
        let current = environment["LFM_FUZZ_CURRENT"].map { URL(fileURLWithPath: $0) }
        let harness = try FuzzHarness(target: target)
        defer { harness.server.engine.shutdown() }
        var pool = try target.corpusFiles().map { Array(try Data(contentsOf: $0)) }
        guard !pool.isEmpty else { throw TestFailure("no corpus for \(target)") }
        let end = Date().addingTimeInterval(seconds)
        var executions = 0, slow = 0, broken = 0
        while Date() < end {
            let input = mutator.mutate(pool[mutator.below(pool.count)], other: pool[mutator.below(pool.count)])
            try current.map { try Data(input).write(to: $0) }
            let start = Date()
            let problem = target.run(input, harness: harness)
            let took = Date().timeIntervalSince(start)
            executions += 1
            if took > 1 || problem != nil {
                let kind = problem != nil ? "broken" : "slow"
                if problem != nil { broken += 1 } else { slow += 1 }
                let file = target.corpus.appendingPathComponent("\(kind)-\(String(format: "%016llx", mutator.next()))")
                try Data(input).write(to: file)
                print("fuzz: \(kind) input saved to \(file.path) (\(String(format: "%.2f", took)) s) \(problem ?? "")")
            }
            // Keep a bounded pool of recent inputs that ran to the end.
            if executions % 16 == 0 { pool.append(input); if pool.count > 256 { pool.remove(at: mutator.below(pool.count)) } }
        }
        try current.map { try? FileManager.default.removeItem(at: $0) }
        print("fuzz: target=\(target.rawValue) executions=\(executions) slow=\(slow) broken=\(broken) seconds=\(seconds)")
    }
}
