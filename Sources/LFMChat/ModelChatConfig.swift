import Foundation

/// Why a model folder's chat template could not be loaded.
public enum ModelChatConfigError: Error, CustomStringConvertible, Equatable {
    /// GGUF files carry the template in their metadata; reading it belongs to the GGUF reader (not yet available).
    case ggufNotSupported(path: String)
    case notAFolder(path: String)
    case noTemplate(path: String)
    case unreadable(path: String, reason: String)
    case invalidJSON(path: String, reason: String)
    case invalidShape(path: String, expected: String)

    public var description: String {
        switch self {
        case .ggufNotSupported(let p):
            return "\(p): reading chat templates from GGUF files is not supported yet; pass a model folder with chat_template.jinja or tokenizer_config.json"
        case .notAFolder(let p):
            return "\(p): expected a model folder (with chat_template.jinja or tokenizer_config.json)"
        case .noTemplate(let p):
            return "\(p): no chat template found: expected chat_template.jinja, or a \"chat_template\" string (or a list of {name, template} with a \"default\" entry) in tokenizer_config.json"
        case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
        case .invalidJSON(let p, let why): return "\(p): invalid JSON: \(why)"
        case .invalidShape(let p, let expected): return "\(p): expected \(expected)"
        }
    }
}

/// The chat template and special tokens of a Hugging Face model folder, found the way transformers finds them:
/// `chat_template.jinja` first, else `tokenizer_config.json`'s `chat_template` (a string, or a list of
/// `{name, template}` from which `default` is used); `bos_token` / `eos_token` from `tokenizer_config.json`
/// (a string or an added-token object `{"content": ...}`).
public struct ModelChatConfig: Sendable {
    /// The template source text.
    public var templateSource: String
    public var bosToken: String?
    public var eosToken: String?

    public init(templateSource: String, bosToken: String?, eosToken: String?) {
        self.templateSource = templateSource
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// Parses the template.
    public func makeTemplate() throws -> ChatTemplate { try ChatTemplate(templateSource) }

    /// Loads from a model folder path. A `.gguf` path throws ``ModelChatConfigError/ggufNotSupported(path:)``.
    public static func load(modelPath path: String) throws -> ModelChatConfig {
        if path.lowercased().hasSuffix(".gguf") { throw ModelChatConfigError.ggufNotSupported(path: path) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelChatConfigError.notAFolder(path: path)
        }
        let folder = URL(fileURLWithPath: path, isDirectory: true)
        var config = OrderedDict()
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let data: Data
            do { data = try Data(contentsOf: configURL) } catch {
                throw ModelChatConfigError.unreadable(path: configURL.path, reason: error.localizedDescription)
            }
            let parsed: Value
            do { parsed = try Value.parseJSON(data: data) } catch {
                throw ModelChatConfigError.invalidJSON(path: configURL.path, reason: "\(error)")
            }
            guard case .object(let o) = parsed else {
                throw ModelChatConfigError.invalidShape(path: configURL.path, expected: "a JSON object")
            }
            config = o
        }
        var template: String? = nil
        let jinjaURL = folder.appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinjaURL.path) {
            do { template = try String(contentsOf: jinjaURL, encoding: .utf8) } catch {
                throw ModelChatConfigError.unreadable(path: jinjaURL.path, reason: error.localizedDescription)
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
            default:
                throw ModelChatConfigError.invalidShape(path: configURL.path,
                                                        expected: "\"chat_template\" to be a string or a list of {name, template}")
            }
        }
        guard let template else { throw ModelChatConfigError.noTemplate(path: path) }
        return ModelChatConfig(templateSource: template, bosToken: token(config["bos_token"]),
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
