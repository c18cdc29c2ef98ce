import Foundation
import Testing
@testable import LFMChat

@Suite struct ModelChatConfigTests {
    private func folder(_ files: [String: String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lfmchat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return dir.path
    }

    @Test func jinjaFileWinsAndTokensMayBeObjects() throws {
        let path = try folder([
            "chat_template.jinja": "{{ bos_token }}J",
            "tokenizer_config.json": #"{"chat_template": "C", "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try ModelChatConfig.load(modelPath: path)
        #expect(c.templateSource == "{{ bos_token }}J" && c.bosToken == "<s>" && c.eosToken == "</s>")
    }

    @Test func templateListUsesDefault() throws {
        let path = try folder(["tokenizer_config.json": #"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try ModelChatConfig.load(modelPath: path)
        #expect(c.templateSource == "D" && c.bosToken == nil)
    }

    @Test func lfm2FolderRendersLikeTransformers() throws {
        let path = try folder([
            "chat_template.jinja": try Fixtures.text("lfm2/chat_template.jinja"),
            "tokenizer_config.json": #"{"bos_token": "<|startoftext|>", "eos_token": "<|im_end|>"}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let c = try ModelChatConfig.load(modelPath: path)
        let out = try ChatTemplate(c.templateSource).render(messages: [["role": "user", "content": "What is the capital of France?"]],
                                                            addGenerationPrompt: true, bosToken: c.bosToken, eosToken: c.eosToken)
        // Same input as the lfm2/single_user fixture case.
        let expected = try Fixtures.cases("chat_cases.json").first { $0.string("name") == "lfm2/single_user" }?.string("expected")
        #expect(out == expected)
    }

    @Test func errors() throws {
        #expect(throws: ModelChatConfigError.ggufNotSupported(path: "m.gguf")) { try ModelChatConfig.load(modelPath: "m.gguf") }
        #expect(throws: ModelChatConfigError.notAFolder(path: "/nonexistent/x")) { try ModelChatConfig.load(modelPath: "/nonexistent/x") }
        let empty = try folder([:])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ModelChatConfigError.noTemplate(path: empty)) { try ModelChatConfig.load(modelPath: empty) }
        let bad = try folder(["tokenizer_config.json": "{\"chat_template\": "])
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect(throws: ModelChatConfigError.self) { try ModelChatConfig.load(modelPath: bad) }
    }
}
