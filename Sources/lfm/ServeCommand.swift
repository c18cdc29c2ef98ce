import ArgumentParser
import Foundation
import LFMChat
import LFMGeneration
import LFMKernels
import LFMModels
import LFMServer

/// `lfm serve`: an OpenAI-compatible HTTP server with continuous batching.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API.",
        discussion: """
        Endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, GET /health, GET /metrics.
        The model id is the base name of the model folder. With an API key, every path but /health and /metrics
        needs it. The socket listens before the model loads: /health answers 503 {"status":"loading"} until it is
        loaded, then 200. SIGTERM/SIGINT drain the replica: /health answers 503 {"status":"draining"}, new requests
        get 503 with Retry-After and Connection: close, running generations finish (up to --drain-timeout seconds;
        those still running then end with an error event), then the process stops listening and exits 0. A second
        signal ends the running generations at once. /metrics series carry replica="--replica-id" and model labels.
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @OptionGroup var kvStorage: KVTypeOptions

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

    @Option(name: [.customLong("drain-timeout"), .customLong("grace")],
            help: "Seconds running generations may take to finish after SIGTERM/SIGINT before they are ended (--grace is an alias).")
    var drainTimeout = 30

    @Option(name: .customLong("replica-id"), help: "This replica's name: the replica label on /metrics and a /health field (default: hostname:port).")
    var replicaID: String?

    @Option(name: .customLong("header-timeout"), help: "Seconds from a request's first byte until its header is complete (408 and close after).")
    var headerTimeout: Double = 10

    @Option(name: .customLong("body-timeout"), help: "Seconds from a request's header until its body is complete (close after).")
    var bodyTimeout: Double = 30

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may wait without a request (close after).")
    var idleTimeout: Double = 60

    @Option(name: .customLong("max-connections"), help: "Most open connections; more are answered 503 and closed.")
    var maxConnections = 256

    @Option(name: .customLong("schema-time-limit"), help: "Seconds a request's JSON schema (response_format, tool parameters) may take to compile and prepare; past it, 400.")
    var schemaTimeLimit: Double = 2

    @Option(name: .customLong("prefix-cache"), help: "Prefix-cache snapshots kept (0 disables).")
    var prefixCache = 8

    @OptionGroup var kvCache: KVCacheOptions

    @Option(name: .customLong("prefix-cache-bytes"), help: "Most bytes of prefix-cache snapshots kept in RAM (0: only --prefix-cache limits them).")
    var prefixCacheBytes = 0

    @Option(name: .customLong("prefix-cache-dir"), help: "Directory for the prefix cache's disk tier: snapshots are written there, mapped back when needed and found again after a restart (default: RAM only).")
    var prefixCacheDir: String?

    @Option(name: .customLong("prefix-cache-disk-bytes"), help: "Most bytes of snapshots kept in --prefix-cache-dir (least recently used deleted first).")
    var prefixCacheDiskBytes = 4 << 30

    @Option(name: .customLong("prefill-chunk"), help: "Most prompt tokens prefilled per scheduler iteration, next to the running batch's decode tokens (0: whole prompts).")
    var prefillChunk = 256

    @Option(name: .customLong("prefill-chunk-decoding"), help: "Most prompt tokens prefilled per iteration while other requests are decoding: the larger of this and the number of decoding requests, at most --prefill-chunk (0: --prefill-chunk throughout).")
    var prefillChunkDecoding = 32

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535 (found \(port))") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be >= 1 (found \(maxBatch))") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be >= 0 (found \(maxQueue))") }
        if let ctx, ctx < 2 { throw ValidationError("--ctx must be >= 2 (found \(ctx))") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be >= 1024 (found \(maxBody))") }
        guard prefillChunk >= 0 else { throw ValidationError("--prefill-chunk must be >= 0 (found \(prefillChunk))") }
        guard prefillChunkDecoding >= 0 else { throw ValidationError("--prefill-chunk-decoding must be >= 0 (found \(prefillChunkDecoding))") }
        for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout),
                              ("--schema-time-limit", schemaTimeLimit)] {
            guard value > 0, value <= 86_400 else { throw ValidationError("\(name) must be in (0, 86400] seconds (found \(value))") }
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be >= 1 (found \(maxConnections))") }
        guard prefixCacheBytes >= 0, prefixCacheDiskBytes >= 0 else {
            throw ValidationError("--prefix-cache-bytes and --prefix-cache-disk-bytes must be >= 0")
        }
        if let prefixCacheDir, prefixCacheDir.isEmpty { throw ValidationError("--prefix-cache-dir must not be empty") }
        guard timeout >= 1, drainTimeout >= 0, prefixCache >= 0 else { throw ValidationError("--timeout must be >= 1, --drain-timeout and --prefix-cache >= 0") }
        if let replicaID, replicaID.isEmpty || replicaID.contains(where: { $0.isNewline }) {
            throw ValidationError("--replica-id must be non-empty and on one line")
        }
    }

    func run() async throws {
        let served = URL(fileURLWithPath: modelOptions.model).standardizedFileURL.lastPathComponent
        var schemaOptions = ServerOptions.defaultSchemaOptions
        schemaOptions.timeLimit = schemaTimeLimit
        let key = apiKey ?? ProcessInfo.processInfo.environment["LFM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        var base = ServerOptions(servedModel: served, apiKey: key, maxBodyBytes: maxBody, requestTimeout: TimeInterval(timeout),
                                 connections: ConnectionLimits(headerTimeout: headerTimeout, bodyTimeout: bodyTimeout,
                                                               idleTimeout: idleTimeout, maxConnections: maxConnections),
                                 schemaOptions: schemaOptions)
        base.replicaID = replicaID ?? "\(ProcessInfo.processInfo.hostName):\(port)"
        let options = base
        let host = ReplicaHost(options: options, metrics: ServerMetrics(replica: options.replicaID ?? "", model: served))
        let command = self
        let address = self.host
        // Listens first (a busy port fails at once, with a ListenError that says so), then loads:
        // /health says "loading" meanwhile.
        try await host.run(host: address, port: port, drainTimeout: TimeInterval(drainTimeout), load: {
            try command.makeServer(options: options, metrics: host.metrics)
        }, onListening: { bound in
            printError("listening on http://\(address):\(bound) (replica \(options.replicaID ?? "")); loading \(served)")
        }, onReady: {
            printError("ready: serving \(served) (max batch \(command.maxBatch), queue \(command.maxQueue), prefill chunk \(command.prefillChunk), \(command.prefillChunkDecoding) while decoding)")
        })
        // Snapshots still being written to the prefix cache's disk tier are finished first.
        host.server?.engine.flushPrefixCache()
        printError("server stopped")
    }

    /// Loads the model, tokenizer and chat template and builds the server.
    private func makeServer(options serverOptions: ServerOptions, metrics: ServerMetrics) throws -> OpenAIServer {
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
        let base = min(ctx ?? min(model.configuration.maxPositionEmbeddings, 4096), model.configuration.maxPositionEmbeddings)
        let policy = try kvCache.policy()
        let context = try kvCache.context(for: policy, requested: ctx.map { _ in base }, model: base)
        // Fails here, before the server is ready, when the model's heads cannot be stored as the KV type.
        _ = try model.makeState(maxContext: 1, kvType: kvStorage.kvType)
        var engine = EngineConfiguration(maxBatch: maxBatch, maxQueue: maxQueue, maxContext: context,
                                         prefixCacheEntries: prefixCache, prefillChunk: prefillChunk,
                                         kvType: kvStorage.kvType, cachePolicy: policy)
        engine.prefixCacheBytes = prefixCacheBytes
        engine.decodingPrefillChunk = prefillChunkDecoding
        if let prefixCacheDir {
            let identity = try ModelFingerprint.compute(path: modelOptions.model, salt: modelOptions.bf16Dot ? "bf16-dot" : "")
            engine.prefixCacheDisk = PrefixCacheDiskOptions(directory: prefixCacheDir, maxBytes: prefixCacheDiskBytes, model: identity)
        }
        var options = serverOptions
        options.outputFormat = outputFormatOptions.resolve(
            detected: .detect(templateSource: templateSource, tokenizer: tokenizer, family: model.configuration.architecture))
        printError("loaded: context \(context), KV \(kvStorage.kvType), KV cache \(policy)"
                   + (prefixCacheDir.map { ", prefix cache dir \($0)" } ?? ""))
        return OpenAIServer(model: model, tokenizer: tokenizer, template: template, bosToken: bosToken, eosToken: eosToken,
                            engine: engine, options: options, metrics: metrics)
    }
}
