import ArgumentParser
import Foundation
import LFMChat
import LFMGeneration
import LFMKernels
import LFMModels
import LFMTokenizer

/// `lfm run MODEL`: an interactive chat.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Chat with a model interactively.",
        discussion: """
        Type a message and press Enter. End a line with \\ to continue on the next one, or wrap a block in \"\"\".
        Commands: /reset (forget the conversation), /system TEXT (set the system prompt), /exit.
        Ctrl-C stops the current answer; Ctrl-D quits.
        With --session FILE the conversation (messages, KV cache and conv state) is saved to FILE after every turn
        and resumed from it next time, continuing exactly as if it had never stopped.
        """
    )

    @Argument(help: "Model folder, GGUF file, or ORG/NAME of a model fetched with `lfm pull` (default: the bundled model).",
              transform: resolveModelPath)
    var modelArgument: String?

    /// The model to chat with: the one given, or the bundled default model.
    var model: String { modelArgument ?? bundledModelPath() }

    @Option(name: [.customShort("t"), .long], help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("max-tokens"), help: "Most tokens per answer.")
    var maxTokens = 512

    @Option(name: .long, help: "Context length (default: the model's). Under a bounded --kv-policy: the rows the cache may hold; the conversation may be longer.")
    var ctx: Int?

    @OptionGroup var kvStorage: KVTypeOptions

    @OptionGroup var kvCache: KVCacheOptions

    @Option(name: .customLong("session"), help: "Save the conversation to FILE after every turn and resume it from FILE if it exists (same model only).")
    var sessionPath: String?

    @OptionGroup var sampling: SamplingOptions

    @OptionGroup var outputFormatOptions: OutputFormatOptions

    func run() async throws {
        let loaded = try ModelRegistry.load(path: model,
                                        options: ModelLoadOptions(backend: makeBackend(threads: threads)))
        let tokenizer = try loadTokenizer(model: model)
        let config = try loadChatConfig(model)
        let policy = try kvCache.policy()
        let context = try kvCache.context(for: policy, requested: ctx, model: loaded.configuration.maxPositionEmbeddings)
        let session = try InferenceSession(model: loaded, tokenizer: tokenizer, template: try ChatTemplate(config.templateSource),
                                       maxContext: context, kvType: kvStorage.kvType, cachePolicy: policy)
        await session.setOutputFormat(outputFormatOptions.resolve(detected: await session.outputFormat))
        let parameters = try sampling.parameters(forModel: model)
        let options = GenerationOptions(sampling: parameters, maxTokens: maxTokens)

        let interrupts = InterruptHandler()
        var system: String?
        var messages: [ChatMessage] = []
        let store = try sessionPath.map { try SessionFile(path: $0, modelPath: model) }
        if let store, let transcript = await store.resume(session) {
            system = transcript.system
            messages = transcript.messages.map { ChatMessage(role: $0.role, text: $0.text) }
        }
        printError("Chatting with \(modelDisplayName(model)). /exit or Ctrl-D to quit.")
        while let input = readMessage() {
            let trimmed = input.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            if trimmed == "/exit" || trimmed == "/quit" { break }
            if trimmed == "/reset" {
                messages = []
                await session.reset()
                await store?.save(session, system: system, messages: messages)
                printError("(conversation reset)")
                continue
            }
            if trimmed.hasPrefix("/system") {
                let text = trimmed.dropFirst("/system".count).trimmingCharacters(in: .whitespaces)
                system = text.isEmpty ? nil : text
                messages = []
                await session.reset()
                await store?.save(session, system: system, messages: messages)
                printError(system == nil ? "(system prompt cleared)" : "(system prompt set; conversation reset)")
                continue
            }
            messages.append(ChatMessage(role: "user", text: input))
            let conversation = (system.map { [ChatMessage(role: "system", text: $0)] } ?? []) + messages
            var answer = ""
            let consumer = Task { () -> (String, GenerationStatistics?) in
                var text = ""
                var statistics: GenerationStatistics?
                var thinking = ReasoningDisplay()
                for try await event in try await session.respond(to: conversation, options: options) {
                    if case .reasoning(let chunk) = event {
                        thinking.show(chunk)
                        continue
                    }
                    thinking.end()
                    switch event {
                    case .reasoning: break
                    case .text(let chunk):
                        text += chunk
                        FileHandle.standardOutput.write(Data(chunk.utf8))
                    case .toolCall(let call):
                        FileHandle.standardOutput.write(Data("[tool call] \(call.name)(\(call.argumentsJSON))".utf8))
                    case .warning(let message): printError("warning: \(message)")
                    case .finished(_, let s): statistics = s
                    }
                }
                thinking.end()
                return (text, statistics)
            }
            interrupts.onInterrupt = { consumer.cancel() }
            do {
                let (text, statistics) = try await consumer.value
                answer = text
                if let statistics {
                    printError(String(format: "\n[%d prompt tokens (%d reused), %.1f t/s prefill; %d tokens, %.1f t/s]",
                                      statistics.promptTokens, statistics.reusedPromptTokens, statistics.prefillTokensPerSecond,
                                      statistics.completionTokens, statistics.decodeTokensPerSecond))
                } else {
                    printError("\n[stopped]")
                }
            } catch {
                printError("\nerror: \(error)")
            }
            interrupts.onInterrupt = nil
            messages.append(ChatMessage(role: "assistant", text: answer))
            await store?.save(session, system: system, messages: messages)
        }
    }

    /// Reads one message: a line, lines continued with a trailing backslash, or a \"\"\" block.
    private func readMessage() -> String? {
        FileHandle.standardError.write(Data("> ".utf8))
        guard let first = readLine(strippingNewline: true) else { return nil }
        if first.trimmingCharacters(in: .whitespaces) == "\"\"\"" {
            var lines: [String] = []
            while let line = readLine(strippingNewline: true), line.trimmingCharacters(in: .whitespaces) != "\"\"\"" {
                lines.append(line)
            }
            return lines.joined(separator: "\n")
        }
        var lines = [first]
        while let last = lines.last, last.hasSuffix("\\") {
            lines[lines.count - 1] = String(last.dropLast())
            guard let next = readLine(strippingNewline: true) else { break }
            lines.append(next)
        }
        return lines.joined(separator: "\n")
    }
}

/// Shows reasoning before the answer: dimmed on a terminal, else after a `[thinking]` prefix; a
/// newline separates it from the answer.
struct ReasoningDisplay {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var isShowing = false

    mutating func show(_ chunk: String) {
        if !isShowing {
            isShowing = true
            write(isTerminal ? "\u{1B}[2m" : "[thinking] ")
        }
        write(chunk)
    }

    mutating func end() {
        guard isShowing else { return }
        isShowing = false
        write(isTerminal ? "\u{1B}[0m\n" : "\n")
    }

    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
}

/// Routes Ctrl-C to the current answer instead of ending the program.
final class InterruptHandler: @unchecked Sendable {
    // @unchecked: `handler` is only touched under `lock`; `source` is immutable.
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var handler: (() -> Void)?

    var onInterrupt: (() -> Void)? {
        get { lock.lock(); defer { lock.unlock() }; return handler }
        set { lock.lock(); handler = newValue; lock.unlock() }
    }

    init() {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in
            if let action = self?.onInterrupt { action() } else { printError("\n(Ctrl-D or /exit quits)") }
        }
        source.resume()
    }
}
