import ArgumentParser
import Foundation
import LFMChat
import LFMGeneration
import LFMModels
import LFMServer

/// `lfm serve`: an OpenAI-compatible HTTP server with continuous batching.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API.",
        discussion: """
        Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, GET /health, GET /metrics.
        The model id is the base name of the model folder. SIGTERM/SIGINT stop accepting requests, let running
        ones finish (up to --grace seconds) and exit.
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var outputFormatOptions: OutputFormatOptions

    @Option(name: .long, help: "Address to bind (default: loopback only).")
    var host = "127.0.0.1"

    @Option(name: .long, help: "TCP port.")
    var port = 8080

    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1/* (default: env LFM_API_KEY, else none).")
    var apiKey: String?

    @Option(name: .customLong("max-batch"), help: "Most sequences decoded together.")
    var maxBatch = 8

    @Option(name: .customLong("max-queue"), help: "Most requests waiting for a slot; more get 429.")
    var maxQueue = 64

    @Option(name: .long, help: "Context length per sequence (default: min(model's, 4096)).")
    var ctx: Int?

    @Option(name: .customLong("max-body"), help: "Largest request body in bytes (413 above).")
    var maxBody = 4 << 20

    @Option(name: .long, help: "Per-request generation timeout in seconds.")
    var timeout = 600

    @Option(name: .long, help: "Seconds to let in-flight requests finish on shutdown.")
    var grace = 30

    @Option(name: .customLong("prefix-cache"), help: "Prefix-cache snapshots kept (0 disables).")
    var prefixCache = 8

    @Option(name: .customLong("prefill-chunk"), help: "Most prompt tokens prefilled per scheduler iteration, next to the running batch's decode tokens (0: whole prompts).")
    var prefillChunk = 256

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535 (found \(port))") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be >= 1 (found \(maxBatch))") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be >= 0 (found \(maxQueue))") }
        if let ctx, ctx < 2 { throw ValidationError("--ctx must be >= 2 (found \(ctx))") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be >= 1024 (found \(maxBody))") }
        guard prefillChunk >= 0 else { throw ValidationError("--prefill-chunk must be >= 0 (found \(prefillChunk))") }
        guard timeout >= 1, grace >= 0, prefixCache >= 0 else { throw ValidationError("--timeout must be >= 1, --grace and --prefix-cache >= 0") }
    }

    func run() async throws {
        let model = try modelOptions.load()
        let tokenizer = try loadTokenizer(model: modelOptions.model)
        var templateSource: String?
        var bosToken: String?, eosToken: String?
        if ModelRegistry.isGGUF(path: modelOptions.model) {
            // A GGUF file carries its template and special-token ids in its metadata.
            let metadata = try GGUFTokenizerMetadata(path: modelOptions.model)
            templateSource = metadata.chatTemplate
            bosToken = metadata.bosTokenId.flatMap { tokenizer.token(for: $0) }
            eosToken = metadata.eosTokenId.flatMap { tokenizer.token(for: $0) }
        } else if let chatConfig = try? ModelChatConfig.load(modelPath: modelOptions.model) {
            templateSource = chatConfig.templateSource
            bosToken = chatConfig.bosToken
            eosToken = chatConfig.eosToken
        }
        let template = try templateSource.map { try ChatTemplate($0) }
        if template == nil { printError("warning: no chat template found; only /v1/completions will work") }
        let context = min(ctx ?? min(model.configuration.maxPositionEmbeddings, 4096), model.configuration.maxPositionEmbeddings)
        let served = URL(fileURLWithPath: modelOptions.model).standardizedFileURL.lastPathComponent
        let key = apiKey ?? ProcessInfo.processInfo.environment["LFM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let server = OpenAIServer(model: model, tokenizer: tokenizer, template: template,
                                  bosToken: bosToken, eosToken: eosToken,
                                  engine: EngineConfiguration(maxBatch: maxBatch, maxQueue: maxQueue, maxContext: context,
                                                              prefixCacheEntries: prefixCache, prefillChunk: prefillChunk),
                                  options: ServerOptions(servedModel: served, apiKey: key, maxBodyBytes: maxBody,
                                                         requestTimeout: TimeInterval(timeout),
                                                         outputFormat: outputFormatOptions.resolve(
                                                             detected: .detect(templateSource: templateSource, tokenizer: tokenizer,
                                                                             family: model.configuration.architecture))))
        printError("serving \(served) on http://\(host):\(port) (max batch \(maxBatch), queue \(maxQueue), context \(context), prefill chunk \(prefillChunk))")
        try await server.run(host: host, port: port, grace: grace)
        printError("server stopped")
    }
}
