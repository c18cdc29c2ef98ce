import ArgumentParser
import Foundation
import LFMModels
import LFMTokenizer

/// Errors of the tokenize/detokenize commands that are not tokenizer errors.
enum TokenizeCommandError: Error, CustomStringConvertible {
    case missingTokenizer(path: String)
    case unreadableInput(path: String, reason: String)
    case invalidIds(String)

    var description: String {
        switch self {
        case let .missingTokenizer(path):
            return "\(path): no tokenizer.json found (expected a model folder containing tokenizer.json, or the file itself)"
        case let .unreadableInput(path, reason):
            return "cannot read input file \(path): \(reason)"
        case let .invalidIds(detail):
            return "invalid --ids: \(detail) (expected comma-separated non-negative integers, e.g. 1,2,3)"
        }
    }
}

/// Loads the tokenizer of a model folder (or a tokenizer.json path).
func loadTokenizer(model path: String) throws -> Tokenizer {
    if ModelRegistry.isGGUF(path: path) {
        return try Tokenizer(gguf: GGUFTokenizerMetadata(path: path), source: path)
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw TokenizeCommandError.missingTokenizer(path: path)
    }
    let url = URL(fileURLWithPath: path)
    if isDirectory.boolValue,
        !FileManager.default.fileExists(atPath: url.appendingPathComponent("tokenizer.json").path)
    {
        throw TokenizeCommandError.missingTokenizer(path: path)
    }
    return try Tokenizer(contentsOf: url)
}

/// Prints an error to stderr and exits with status 1.
func failCommand(_ error: Error) -> ExitCode {
    let message = String(describing: error)
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    return ExitCode.failure
}

/// `lfm tokenize`: text to token ids.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Encode text into token ids with a model's tokenizer.json.")

    @Option(name: .long, help: "Model folder containing tokenizer.json, the tokenizer.json file, or a GGUF file.")
    var model: String

    @Option(name: .long, help: "Text to encode.")
    var text: String?

    @Option(name: .long, help: "File whose UTF-8 contents to encode.")
    var file: String?

    @Flag(name: .long, help: "Add the post-processor's special tokens (e.g. BOS).")
    var addSpecial = false

    @Flag(name: .long, help: "Print {\"ids\": [...]}.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Encode the input this many times and report throughput.", visibility: .hidden))
    var benchmarkRepeats: Int?

    @Flag(name: .long, help: ArgumentHelp("With --benchmark-repeats: the file is JSON lines with a \"text\" field; encode each text separately.", visibility: .hidden))
    var benchmarkJsonl = false

    func validate() throws {
        if (text == nil) == (file == nil) { throw ValidationError("pass exactly one of --text or --file") }
        if let benchmarkRepeats, benchmarkRepeats < 1 { throw ValidationError("--benchmark-repeats must be >= 1") }
    }

    func run() throws {
        do {
            let loadStart = DispatchTime.now().uptimeNanoseconds
            let tokenizer = try loadTokenizer(model: model)
            let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
            var ids: [Int]
            var input: String
            if let text {
                input = text
                ids = tokenizer.encode(text, addSpecialTokens: addSpecial)
            } else if let file {
                let data: Data
                do {
                    data = try Data(contentsOf: URL(fileURLWithPath: file))
                } catch {
                    throw TokenizeCommandError.unreadableInput(path: file, reason: error.localizedDescription)
                }
                // encode(bytes:) rejects invalid UTF-8 with a typed error (and keeps a leading BOM).
                ids = try tokenizer.encode(bytes: [UInt8](data), addSpecialTokens: addSpecial)
                input = String(decoding: data, as: UTF8.self)
            } else {
                input = ""
                ids = []
            }
            if let repeats = benchmarkRepeats {
                var texts = [input]
                if benchmarkJsonl {
                    texts = try input.split(separator: "\n").map { line in
                        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                        guard let text = object?["text"] as? String else {
                            throw ValidationError("--benchmark-jsonl: a line has no \"text\" string")
                        }
                        return text
                    }
                }
                benchmark(tokenizer, texts, repeats: repeats, loadSeconds: loadSeconds)
                return
            }
            if json {
                print("{\"ids\": [" + ids.map(String.init).joined(separator: ", ") + "]}")
            } else {
                for id in ids {
                    let token = tokenizer.token(for: id) ?? "?"
                    print("\(id)\t\(token.debugDescription)")
                }
                print("\(ids.count) tokens")
            }
        } catch {
            throw failCommand(error)
        }
    }

    /// Prints JSON with the cold (first) and best warm throughput over `repeats` passes over `texts`.
    private func benchmark(_ tokenizer: Tokenizer, _ texts: [String], repeats: Int, loadSeconds: Double) {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var times: [Double] = []
        var tokens = 0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            tokens = 0
            for text in texts { tokens += tokenizer.encode(text, addSpecialTokens: addSpecial).count }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let best = times.min() ?? 0
        let first = times.first ?? 0
        let mb = Double(bytes) / 1e6
        print(
            "{\"bytes\": \(bytes), \"texts\": \(texts.count), \"tokens\": \(tokens), \"repeats\": \(repeats), "
                + "\"load_seconds\": \(loadSeconds), \"first_seconds\": \(first), \"best_seconds\": \(best), "
                + "\"first_mb_per_s\": \(mb / first), \"best_mb_per_s\": \(mb / best)}")
    }
}

/// `lfm detokenize`: token ids to text.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize", abstract: "Decode token ids into text with a model's tokenizer.json.")

    @Option(name: .long, help: "Model folder containing tokenizer.json, the tokenizer.json file, or a GGUF file.")
    var model: String

    @Option(name: .long, help: "Comma-separated token ids, e.g. 1,2,3.")
    var ids: String

    @Flag(name: .long, help: "Leave out special tokens.")
    var skipSpecial = false

    func run() throws {
        do {
            var parsed: [Int] = []
            for part in ids.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = part.trimmingCharacters(in: .whitespaces)
                guard let id = Int(trimmed), id >= 0 else { throw TokenizeCommandError.invalidIds(trimmed.debugDescription) }
                parsed.append(id)
            }
            let tokenizer = try loadTokenizer(model: model)
            print(try tokenizer.decode(parsed, skipSpecialTokens: skipSpecial))
        } catch {
            throw failCommand(error)
        }
    }
}
