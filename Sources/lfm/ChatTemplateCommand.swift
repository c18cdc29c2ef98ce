import ArgumentParser
import Foundation
import LFMChat
import LFMModels

/// Errors of `lfm chat-template`, each naming the file and what was expected.
enum ChatTemplateCommandError: Error, CustomStringConvertible {
    case notAFolder(String)
    case noTemplate(String)
    case unreadable(String, String)
    case badJSON(String, String)
    case badShape(String, String)

    var description: String {
        switch self {
        case .notAFolder(let p):
            return "\(p): expected a model folder (with chat_template.jinja or tokenizer_config.json)"
        case .noTemplate(let p):
            return "\(p): no chat template found: expected chat_template.jinja, or a \"chat_template\" string (or list of {name, template} with a \"default\" entry) in tokenizer_config.json"
        case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
        case .badJSON(let p, let why): return "\(p): invalid JSON: \(why)"
        case .badShape(let p, let why): return "\(p): \(why)"
        }
    }
}

/// `lfm chat-template`: renders a conversation with a model's chat template, like transformers'
/// `apply_chat_template(tokenize=False)`.
struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a conversation with a model's Jinja chat template and print the prompt."
    )

    @Option(name: .long, help: "Model folder containing chat_template.jinja or tokenizer_config.json, or a GGUF file with tokenizer.chat_template.")
    var model: String

    @Option(name: .long, help: "JSON file with the messages (an array of OpenAI-style messages).")
    var messages: String

    @Option(name: .long, help: "JSON file with the tools (an array of JSON schemas).")
    var tools: String?

    @Flag(name: .long, help: "Do not append the assistant generation prompt.")
    var noGenerationPrompt = false

    func run() throws {
        let source = try ModelChatConfig.load(model)
        let template = try ChatTemplate(source.template)
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
                                         bosToken: source.bosToken, eosToken: source.eosToken)
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

/// The chat template and special tokens of a model folder.
struct ModelChatConfig {
    var template: String
    var bosToken: String?
    var eosToken: String?

    static func load(_ path: String) throws -> ModelChatConfig {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if LFM2Model.isGGUF(path: path) {
            let m = try GGUFTokenizerMetadata(path: path)
            guard let template = m.chatTemplate else { throw ChatTemplateCommandError.noTemplate(path) }
            func text(_ id: Int?) -> String? { id.flatMap { $0 >= 0 && $0 < m.tokens.count ? m.tokens[$0] : nil } }
            return ModelChatConfig(template: template, bosToken: text(m.bosTokenId), eosToken: text(m.eosTokenId))
        }
        guard exists, isDir.boolValue else { throw ChatTemplateCommandError.notAFolder(path) }
        let folder = URL(fileURLWithPath: path, isDirectory: true)
        var config = OrderedDict()
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let data: Data
            do { data = try Data(contentsOf: configURL) } catch {
                throw ChatTemplateCommandError.unreadable(configURL.path, error.localizedDescription)
            }
            let parsed: Value
            do { parsed = try Value.parseJSON(data: data) } catch {
                throw ChatTemplateCommandError.badJSON(configURL.path, "\(error)")
            }
            guard case .object(let o) = parsed else {
                throw ChatTemplateCommandError.badShape(configURL.path, "expected a JSON object")
            }
            config = o
        }
        var template: String? = nil
        let jinjaURL = folder.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinjaURL.path) {
            do { template = try String(contentsOf: jinjaURL, encoding: .utf8) } catch {
                throw ChatTemplateCommandError.unreadable(jinjaURL.path, error.localizedDescription)
            }
        } else if let t = config["chat_template"] {
            switch t {
            case .string(let s): template = s
            case .array(let items):
                for item in items {
                    if case .object(let entry) = item, case .string("default")? = entry["name"],
                       case .string(let s)? = entry["template"] {
                        template = s
                    }
                }
            default: break
            }
        }
        guard let template else { throw ChatTemplateCommandError.noTemplate(path) }
        return ModelChatConfig(template: template, bosToken: token(config["bos_token"]),
                               eosToken: token(config["eos_token"]))
    }

    private static func token(_ v: Value?) -> String? {
        switch v {
        case .string(let s)?: return s
        case .object(let o)?: if case .string(let s)? = o["content"] { return s } else { return nil }
        default: return nil
        }
    }
}
