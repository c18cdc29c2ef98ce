import Foundation
@testable import LFMChat
import LFMCore
import LFMFormats
import LFMModels
import LFMTokenizer

// The model-file targets: each input goes through the entry point the program uses on an outside
// file. A thrown typed error is an expected outcome; a crash, a slow input or a broken property is a
// finding. Readers that only take a path read the input from one scratch file, rewritten per input.

extension FuzzHarness {
    /// ASCII text every loaded tokenizer encodes (ids must be in its vocabulary).
    static let probe = "Hello, world! 123 tokens\n\tof <b>ASCII</b> text."

    /// The conversation every template renders: system, user, an assistant tool call, the tool's
    /// answer and a last user turn, with one tool declared.
    static let conversation: (messages: [Value], tools: [Value]) = {
        let messages = """
        [{"role": "system", "content": "You are terse."},
         {"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
         {"role": "tool", "content": "{\\"temperature\\": 21}"},
         {"role": "user", "content": "Thanks <|im_end|> {{ x }}"}]
        """
        let tools = """
        [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        """
        guard case .array(let m)? = try? Value.parseJSON(messages), case .array(let t)? = try? Value.parseJSON(tools) else {
            return ([], [])
        }
        return (m, t)
    }()

    /// Writes `input` to the scratch file `name` (one path per name, reused for every input).
    private func scratchFile(_ name: String, _ input: [UInt8]) -> String? {
        let url = scratch.appendingPathComponent(name)
        do { try Data(input).write(to: url) } catch { return nil }
        return url.path
    }

    /// A GGUF image: the reader, then the model registry (configuration, every tensor bound in place)
    /// and the tokenizer its metadata describes. A file that parses has every tensor's bytes inside the
    /// file, sized as its shape and type say.
    func gguf(_ input: [UInt8]) -> String? {
        let file: GGUFFile
        do { file = try GGUFFile(bytes: input) } catch {
            return error is GGUFError ? nil : "GGUFFile threw an untyped error: \(error)"
        }
        for t in file.tensors {
            let elements = t.dimensions.reduce(1, *)
            let start = file.dataOffset + t.offset
            guard t.elementCount == elements, t.elementCount % t.type.blockSize == 0,
                  t.byteCount == t.elementCount / t.type.blockSize * t.type.typeSize else {
                return "tensor \(t.name): \(t.dimensions) of \(t.type) has \(t.elementCount) elements and \(t.byteCount) bytes"
            }
            guard t.offset >= 0, t.offset % file.alignment == 0, start + t.byteCount <= file.fileSize,
                  file.data(for: t).count == t.byteCount else {
                return "tensor \(t.name): \(t.byteCount) bytes at \(start) do not lie in the \(file.fileSize)-byte file"
            }
        }
        if let metadata = try? GGUFTokenizerMetadata(metadata: file.metadata, file: "fuzz.gguf"),
           let tokenizer = try? Tokenizer(ggmlModel: metadata.model, tokens: metadata.tokens, tokenTypes: metadata.tokenTypes,
                                          merges: metadata.merges, pre: metadata.pre, bosTokenId: metadata.bosTokenId,
                                          eosTokenId: metadata.eosTokenId, addBosToken: metadata.addBosToken,
                                          addEosToken: metadata.addEosToken, source: "fuzz.gguf"),
           let problem = encodes(tokenizer) {
            return "the GGUF tokenizer: \(problem)"
        }
        guard let path = scratchFile("model.gguf", input), let checkpoint = try? ModelRegistry.open(path: path) else { return nil }
        if let problem = sane(checkpoint.configuration) { return "GGUF \(problem)" }
        return tensorsFit(checkpoint.source)
    }

    /// A safetensors file, opened by path as a checkpoint folder's `model.safetensors`: every tensor
    /// of a file that opens lies inside the mapping, sized as its shape and dtype say.
    func safeTensors(_ input: [UInt8]) -> String? {
        guard let path = scratchFile("model.safetensors", input) else { return nil }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch {
            return error is SafeTensorsError ? nil : "SafeTensorsFile threw an untyped error: \(error)"
        }
        if let problem = tensorsFit(file) { return problem }
        do {
            let checkpoint = try SafeTensorsCheckpoint(directory: scratch)
            guard checkpoint.tensorNames == file.tensorNames else {
                return "the checkpoint lists \(checkpoint.tensorNames), the file \(file.tensorNames)"
            }
        } catch {
            return "the file opens but the checkpoint folder does not: \(error)"
        }
        return nil
    }

    /// A `config.json`, resolved through the registry as `lfm info` does without weights: a
    /// configuration that resolves has positive sizes, and the memory figures `lfm info` prints compute.
    func config(_ input: [UInt8]) -> String? {
        guard scratchFile("config.json", input) != nil else { return nil }
        let configuration: any ModelConfiguration
        do { configuration = try ModelRegistry.configuration(directory: scratch) } catch {
            return error is ConfigError ? nil : "the registry threw an untyped error: \(error)"
        }
        return sane(configuration)
    }

    /// A `tokenizer.json` document: the tokenizer it describes encodes the probe into ids of its vocabulary,
    /// and decoding them does not fail other than with a typed error.
    func tokenizer(_ input: [UInt8]) -> String? {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(json: Data(input), source: "fuzz/tokenizer.json") } catch {
            return error is TokenizerError ? nil : "Tokenizer threw an untyped error: \(error)"
        }
        return encodes(tokenizer)
    }

    /// A chat template: parsed, then rendered as the chat code renders a conversation (with and without
    /// tools). Errors are `TemplateError`s whose position lies in the template.
    func jinja(_ input: [UInt8]) -> String? {
        let source = String(decoding: input, as: UTF8.self)
        // Line breaks counted by the lexer's own rule (`\r\n`, `\r` and `\n`, like jinja2).
        let lines = Lexer.lineCount(of: source)
        func placed(_ error: Error, _ stage: String) -> String? {
            if error is ChatInputError { return nil }
            guard let e = error as? TemplateError else { return "\(stage) threw an untyped error: \(error)" }
            return (1...lines + 1).contains(e.line) && e.column >= 1 ? nil
                : "\(stage) error at line \(e.line), column \(e.column) of a \(lines)-line template: \(e.message)"
        }
        let template: ChatTemplate
        do { template = try ChatTemplate(source) } catch { return placed(error, "parsing") }
        let (messages, tools) = Self.conversation
        let now = { Date(timeIntervalSince1970: 1_750_000_000) }
        for withTools in [true, false] {
            do {
                _ = try template.render(messages: withTools ? messages : Array(messages.prefix(2)), tools: withTools ? tools : nil,
                                        addGenerationPrompt: withTools, bosToken: "<|startoftext|>", eosToken: "<|im_end|>", now: now)
            } catch {
                if let problem = placed(error, "rendering") { return problem }
            }
        }
        return nil
    }

    // MARK: Properties shared by the targets

    /// The probe's ids are in the vocabulary and decode (lossily) without an error.
    private func encodes(_ tokenizer: Tokenizer) -> String? {
        let ids = tokenizer.encode(Self.probe, addSpecialTokens: true)
        if let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabularySize }) {
            return "encoding the probe gave id \(bad), outside the \(tokenizer.vocabularySize)-id vocabulary"
        }
        do { _ = try tokenizer.decode(ids, lossy: true) } catch {
            guard error is TokenizerError else { return "decoding threw an untyped error: \(error)" }
        }
        return nil
    }

    /// Every tensor of `source` lies in the file its bytes were mapped from and has the size its
    /// shape and dtype give.
    private func tensorsFit(_ source: TensorSource) -> String? {
        for name in source.tensorNames {
            guard let tensor = source.tensor(named: name) else { return "tensor \(name) is listed but not found" }
            var elements = 1
            for d in tensor.shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { return "tensor \(name) has shape \(tensor.shape)" }
                elements = product
            }
            guard let size = tensor.dtype.byteCount(of: elements), size == tensor.bytes.count else {
                return "tensor \(name): \(tensor.shape) of \(tensor.dtype.name) spans \(tensor.bytes.count) bytes"
            }
            guard size > 0 else { continue }
            let whole: UnsafeRawBufferPointer
            if let mapped = tensor.owner as? MappedFile {
                whole = mapped.bytes(0..<mapped.count)
            } else {
                continue
            }
            guard let base = whole.baseAddress, let start = tensor.bytes.baseAddress,
                  start >= base, start + size <= base + whole.count else {
                return "tensor \(name): its \(size) bytes lie outside the \(whole.count)-byte file"
            }
        }
        return nil
    }

    /// A resolved configuration has positive sizes, heads that group evenly, and the figures `lfm info`
    /// prints compute.
    private func sane(_ c: any ModelConfiguration) -> String? {
        let sizes = [c.vocabularySize, c.hiddenSize, c.layerCount, c.attentionHeads, c.keyValueHeads, c.headDim,
                     c.feedForwardSize, c.maxPositionEmbeddings]
        guard sizes.allSatisfy({ $0 > 0 }), c.attentionHeads % c.keyValueHeads == 0, c.cacheShapes.count == c.layerCount else {
            return "configuration \(c.architecture) resolves with vocab \(c.vocabularySize), hidden \(c.hiddenSize), "
                + "\(c.layerCount) layers (\(c.cacheShapes.count) cache shapes), heads \(c.attentionHeads)/\(c.keyValueHeads) "
                + "of \(c.headDim), ff \(c.feedForwardSize), context \(c.maxPositionEmbeddings)"
        }
        _ = (c.parameterCount, c.activeParameterCount, c.extraInfo)
        _ = (c.keyValueBytes(context: c.maxPositionEmbeddings), c.keyValueBytesPerToken(context: c.maxPositionEmbeddings))
        _ = (c.recurrentStateBytes, c.convolutionStateBytes)
        return nil
    }
}
