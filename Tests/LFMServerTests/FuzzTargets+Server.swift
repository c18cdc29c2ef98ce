import Foundation
import HTTPTypes
import LFMChat
import LFMGeneration
@testable import LFMServer

/// What the targets need, built once per run: the test server for the server targets, a scratch
/// folder (one file path reused for every input) for the readers that only take a path.
final class FuzzHarness: Sendable {
    /// The server the http, schema and toolcall targets parse against (nil for the file targets).
    let server: OpenAIServer?
    let schemaOptions: SchemaCompileOptions
    /// A folder of its own, removed by `close()`.
    let scratch: URL

    init(target: FuzzTarget) throws {
        if target.needsServer {
            let server = try TestModel.server(maxContext: 2048)
            // Built once up front, so that its one-time cost is not taken for a slow input.
            if target != .toolcall { _ = server.engine.tokenVocabulary() }
            self.server = server
        } else {
            server = nil
        }
        var options = ServerOptions.defaultSchemaOptions
        options.maxFirstMaskWork = 200_000
        schemaOptions = options
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-fuzz-\(target.rawValue)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    /// Stops the server and removes the scratch folder.
    func close() {
        server?.engine.shutdown()
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Line 1: the request path; line 2: the Authorization value; the rest: a JSON body for chat (or,
    /// when the path ends in "completions" without "chat", for the legacy endpoint).
    func http(_ input: [UInt8]) -> String? {
        guard let server else { return "the http target needs the test server" }
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
        guard let server else { return "the schema target needs the test server" }
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
