import ArgumentParser
import LFMKernels

/// `--kv-type`: how the KV cache stores keys and values (shared by bench, generate, run, serve, perplexity).
struct KVTypeOptions: ParsableArguments {
    @Option(name: .customLong("kv-type"),
            help: "KV cache storage: f32, f16, bf16, q8_0 or q4_0 (llama.cpp's -ctk/-ctv types; q8_0/q4_0 need head dimensions that are multiples of 32).")
    var kvType: KVCacheType = .f32
}

extension KVCacheType: ExpressibleByArgument {}
