import Foundation
import Hummingbird
import HummingbirdTesting
import LFMChat
import LFMCore
import LFMFormats
import LFMKernels
import LFMModels
import LFMServer
import LFMTokenizer
import Testing

/// A small random LFM2 with the real LFM2 tokenizer and chat template (made in a temporary folder),
/// built the way Tests/LFMGenerationTests/SessionTests.swift builds its chat model.
enum TestModel {
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    static let shared: Result<(DecoderModel, Tokenizer, ChatTemplate), Error> = Result { try make() }

    static func get() throws -> (DecoderModel, Tokenizer, ChatTemplate) { try shared.get() }

    static func make() throws -> (DecoderModel, Tokenizer, ChatTemplate) {
        let tokenizer = try Tokenizer(contentsOf: testsRoot.appendingPathComponent("LFMTokenizerTests/Fixtures/lfm2/tokenizer.json"))
        let template = try ChatTemplate(String(contentsOf: testsRoot.appendingPathComponent("LFMChatTests/Fixtures/lfm2/chat_template.jinja"), encoding: .utf8))
        let configuration = LFM2Configuration(vocabularySize: 65536, hiddenSize: 16, layerKinds: [.conv, .attention, .conv],
                                              attentionHeads: 2, keyValueHeads: 1, headDim: 8, feedForwardSize: 32,
                                              maxPositionEmbeddings: 4096, eosTokenIds: [7])
        var writer = SafeTensorsWriter()
        var state: UInt64 = 99
        func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Float(Double((z ^ (z >> 31)) >> 11) / Double(1 << 53) * 2 - 1)
        }
        for role in LFM2Tensor.all(configuration) {
            let shape = role.shape(configuration)
            let count = shape.reduce(1, *)
            let last = Float(shape.last ?? 1)
            let values: [Float] = role.isVector ? (0..<count).map { _ in 1 + 0.1 * next() }
                : (0..<count).map { _ in next() * 1.7 / last.squareRoot() }
            writer.add(role.huggingFaceName, shape: shape, values: values)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        var c = configuration
        let weights = try LFM2Weights.load(from: checkpoint, sourceName: directory.path, configuration: &c)
        return (DecoderModel(configuration: c, weights: weights, backend: CPUBackend(threads: 2)), tokenizer, template)
    }

    /// A server over the shared test model.
    static func server(maxBatch: Int = 8, maxQueue: Int = 16, maxContext: Int = 1024, apiKey: String? = nil, maxBody: Int = 64 << 10,
                       prefixCache: Int = 8, configure: (inout ServerOptions) -> Void = { _ in }) throws -> OpenAIServer {
        let (model, tokenizer, template) = try get()
        var options = ServerOptions(servedModel: "tiny-lfm2", apiKey: apiKey, maxBodyBytes: maxBody)
        configure(&options)
        return OpenAIServer(model: model, tokenizer: tokenizer, template: template, bosToken: "<|startoftext|>",
                            eosToken: "<|im_end|>",
                            engine: EngineConfiguration(maxBatch: maxBatch, maxQueue: maxQueue, maxContext: maxContext,
                                                        prefixCacheEntries: prefixCache),
                            options: options)
    }
}

/// Errors of test helpers.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Value {
    subscript(key: String) -> Value? {
        guard case .object(let o) = self else { return nil }
        return o[key]
    }
    subscript(index: Int) -> Value? {
        guard case .array(let a) = self, a.indices.contains(index) else { return nil }
        return a[index]
    }
    var string: String? { if case .string(let s) = self { return s }; return nil }
    var int: Int? { if case .int(let i) = self { return i }; return nil }
    var array: [Value]? { if case .array(let a) = self { return a }; return nil }
    var isNull: Bool { if case .none = self { return true }; return false }
    var keys: [String] { if case .object(let o) = self { return o.keys }; return [] }
}

/// Parses a response body as JSON.
func json(_ response: TestResponse) throws -> Value {
    try Value.parseJSON(String(buffer: response.body))
}

/// Parses an SSE body into its `data:` payloads (the last is "[DONE]").
func sseEvents(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").compactMap { block in
        let line = block.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("data: ") else { return nil }
        return String(line.dropFirst(6))
    }
}

func body(_ value: Value) -> ByteBuffer { ByteBuffer(string: (try? value.jsonString()) ?? "") }

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

/// A chat request body.
func chatBody(_ user: String, system: String? = nil, maxTokens: Int = 8, stream: Bool = false, extra: [(String, Value)] = []) -> Value {
    var messages: [Value] = []
    if let system { messages.append(.dict([("role", "system"), ("content", .string(system))])) }
    messages.append(.dict([("role", "user"), ("content", .string(user))]))
    return .dict([("model", "tiny-lfm2"), ("messages", .array(messages)), ("max_tokens", .int(maxTokens)),
                  ("temperature", 0), ("stream", .bool(stream))] + extra)
}

/// Checks the OpenAI error shape and returns the error object.
@discardableResult
func expectError(_ response: TestResponse, status: Int, type: String? = nil, code: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> Value {
    #expect(response.status.code == status, sourceLocation: sourceLocation)
    let object = try json(response)
    #expect(object.keys == ["error"], sourceLocation: sourceLocation)
    let error = object["error"] ?? .none
    #expect(error.keys == ["message", "type", "param", "code"], sourceLocation: sourceLocation)
    let message: String? = error["message"]?.string
    #expect(message?.isEmpty == false, sourceLocation: sourceLocation)
    if let type { #expect(error["type"]?.string == type, sourceLocation: sourceLocation) }
    if let code { #expect(error["code"]?.string == code, sourceLocation: sourceLocation) }
    return error
}
