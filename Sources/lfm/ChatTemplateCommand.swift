import ArgumentParser
import Foundation
import LFMChat
import LFMModels

/// Errors of `lfm chat-template` about its input files, each naming the file and what was expected.
enum ChatTemplateCommandError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case badJSON(String, String)
    case badShape(String, String)

    var description: String {
        switch self {
        case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
        case .badJSON(let p, let why): return "\(p): invalid JSON: \(why)"
        case .badShape(let p, let why): return "\(p): \(why)"
        }
    }
}

/// `lfm chat-template`: renders a conversation with a model's chat template, like transformers'
/// `apply_chat_template(tokenize=False)`, and prints exactly the prompt (no newline added).
struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation with a model's Jinja chat template and print the prompt."
    )

    @Option(name: .long, help: "Model folder containing chat_template.jinja or tokenizer_config.json.")
    var model: String

    @Option(name: .long, help: "JSON file with the messages (an array of OpenAI-style messages).")
    var messages: String

    @Option(name: .long, help: "JSON file with the tools (an array of JSON schemas).")
    var tools: String?

    @Flag(name: .long, help: "Do not append the assistant generation prompt.")
    var noGenerationPrompt = false

    func run() throws {
        let config = try loadChatConfig(model)
        let template = try config.makeTemplate()
        guard case .array(let msgs) = try readJSON(messages) else {
            throw ChatTemplateCommandError.badShape(messages, "expected a JSON array of messages")
        }
        var toolList: [Value]? = nil
        if let tools {
            guard case .array(let t) = try readJSON(tools) else {
                throw ChatTemplateCommandError.badShape(tools, "expected a JSON array of tools")
            }
            toolList = t
        }
        let prompt = try template.render(messages: msgs, tools: toolList, addGenerationPrompt: !noGenerationPrompt,
                                         bosToken: config.bosToken, eosToken: config.eosToken)
        FileHandle.standardOutput.write(Data(prompt.utf8))
    }

    private func readJSON(_ path: String) throws -> Value {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ChatTemplateCommandError.unreadable(path, error.localizedDescription)
        }
        do { return try Value.parseJSON(data: data) } catch {
            throw ChatTemplateCommandError.badJSON(path, "\(error)")
        }
    }
}

/// The chat template and special tokens of a model folder or GGUF file.
func loadChatConfig(_ path: String) throws -> ModelChatConfig {
    guard ModelRegistry.isGGUF(path: path) else { return try ModelChatConfig.load(modelPath: path) }
    let metadata = try GGUFTokenizerMetadata(path: path)
    guard let template = metadata.chatTemplate else {
        throw ChatTemplateCommandError.badShape(path, "the GGUF file has no tokenizer.chat_template")
    }
    func text(_ id: Int?) -> String? { id.flatMap { $0 >= 0 && $0 < metadata.tokens.count ? metadata.tokens[$0] : nil } }
    return ModelChatConfig(templateSource: template, bosToken: text(metadata.bosTokenId), eosToken: text(metadata.eosTokenId))
}
