import Foundation
import HTTPTypes
import LFMChat
import LFMGeneration
@testable import LFMServer
import Testing

/// Seeded mutation fuzzing of hostile-input parsers: HTTP request decoding (path, bearer header,
/// JSON body, chat/completion parsing with schemas and tools), the JSON-schema compiler (and its
/// first mask), the tool-call parser (`FuzzTargets+Server.swift`), and the readers of model files
/// (`FuzzTargets+Files.swift`): GGUF, safetensors, `config.json`, `tokenizer.json` and Jinja chat
/// templates. `swift test` replays the committed corpus
/// (`FuzzCorpus/<target>/`); `Scripts/fuzz/run.sh TARGET SECONDS` mutates it for a while, saving
/// slow inputs to the corpus and leaving the input being run in `$LFM_FUZZ_CURRENT` so that a
/// crash can be saved by the script.
enum FuzzTarget: String, CaseIterable, Sendable {
    case http, schema, toolcall
    case gguf, safetensors, config, tokenizer, jinja

    static let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus")

    var corpus: URL { Self.corpusRoot.appendingPathComponent(rawValue) }

    /// The corpus files, sorted by name (hidden files and a folder's README.md left out).
    func corpusFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") && $0.lastPathComponent != "README.md" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs one input; errors are expected outcomes, only crashes, hangs and broken properties are findings.
    /// Returns a description of a broken property, if any.
    func run(_ input: [UInt8], harness: FuzzHarness) -> String? {
        switch self {
        case .http: return harness.http(input)
        case .schema: return harness.schema(input)
        case .toolcall: return harness.toolCall(input)
        case .gguf: return harness.gguf(input)
        case .safetensors: return harness.safeTensors(input)
        case .config: return harness.config(input)
        case .tokenizer: return harness.tokenizer(input)
        case .jinja: return harness.jinja(input)
        }
    }

    /// Whether the target parses against the test server (built once per run).
    var needsServer: Bool { self == .http || self == .schema }
}

/// Byte-level mutations, seeded.
struct Mutator {
    var state: UInt64
    static let tokens: [[UInt8]] = ["{", "}", "[", "]", "\"", "\\", "%", "%2F", "%2e", "..", "/", "//", ":", ",", "=", "(", ")", "None",
                                    "True", "1e308", "-0", "\\u0000", "\\ud800", "anyOf", "$ref", "#", "#/$defs/a", "properties",
                                    "required", "items", "enum", "type", "object", "string", "<|tool_call_start|>", "<|tool_call_end|>",
                                    "Bearer ", "\n", "\u{0}", "\u{FFFF}", "é", "99999999999999999999",
                                    // Model files: config keys, safetensors header fields, tokenizer.json, Jinja.
                                    "0", "-1", "65536", "2147483648", "9223372036854775807", "null", "[]", "{}",
                                    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
                                    "layer_types", "vocab_size", "\"dtype\"", "\"F32\"", "\"BF16\"", "shape", "data_offsets",
                                    "__metadata__", "merges", "vocab", "added_tokens", "pre_tokenizer", "Split", "ByteLevel",
                                    "(?i)", "\\p{L}+", "{{", "}}", "{%", "%}", "{%-", "-%}", "{% for x in ", "{% endfor %}",
                                    "{% if ", "{% endif %}", "{% macro m(a) %}", "{% endmacro %}", "m(", "loop.", "range(",
                                    "messages", "tools", "| tojson", "* 99999", "namespace("].map { Array($0.utf8) }
    /// Binary tokens for GGUF and safetensors: counts, lengths, type tags and offsets at their extremes.
    static let binaryTokens: [[UInt8]] = [
        [0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0, 0, 0, 0, 0x80],
        [1, 0, 0, 0, 0, 0, 0, 0], [0x20, 0, 0, 0, 0, 0, 0, 0], [9, 0, 0, 0], [8, 0, 0, 0], [12, 0, 0, 0], [13, 0, 0, 0],
        Array("GGUF".utf8), Array("general.alignment".utf8), Array("general.architecture".utf8), Array("block_count".utf8),
    ]

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
            case 3:
                let token = below(4) == 0 ? Self.binaryTokens[below(Self.binaryTokens.count)] : Self.tokens[below(Self.tokens.count)]
                // Binary tokens overwrite as often as they insert (fixed-width fields keep their place).
                if token.count <= 8, at + token.count <= data.count, below(2) == 0 {
                    data.replaceSubrange(at..<(at + token.count), with: token)
                } else {
                    data.insert(contentsOf: token, at: at)
                }
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
        defer { harness.close() }
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
        defer { harness.close() }
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
        current.map { try? FileManager.default.removeItem(at: $0) }
        print("fuzz: target=\(target.rawValue) executions=\(executions) slow=\(slow) broken=\(broken) seconds=\(seconds)")
    }
}
