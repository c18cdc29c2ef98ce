import ArgumentParser
import Foundation
import LFMHub
import LFMKernels
import LFMModels

/// Options shared by every command that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("model"),
            help: "Model folder (config.json + safetensors), GGUF file, or ORG/NAME of a model fetched with `lfm pull` (default: the bundled model).",
            transform: resolveModelPath)
    var modelArgument: String?

    /// The model to load: the one given, or the bundled default model.
    var model: String { modelArgument ?? bundledModelPath() }

    @Option(name: [.customShort("t"), .long], help: "Worker threads (default: all cores).")
    var threads: Int?

    @Flag(name: .long, help: "Read weights in place from the memory-mapped files instead of copying them to huge pages.")
    var mmap = false

    @Flag(name: .customLong("bf16-dot"), help: "Prefill BF16 weights with BF16 dot products (activations rounded to BF16, as llama.cpp does): about twice the prompt speed, logits differ by ~1e-3 relative.")
    var bf16Dot = false

    @Option(name: .long, help: "Kernel path: avx512, avx2 or portable, one this CPU has (default: the best it has), with the extensions it has (avx2: AVX-VNNI where present; LFM_ASSUME_AVXVNNI=1 asserts it where a hypervisor hides it, LFM_ASSUME_AVXVNNI=0 turns it off). A slower path measures what CPUs without the faster one get.")
    var isa: String?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 {
            throw ValidationError("--threads must be between 1 and 256 (found \(threads))")
        }
        _ = try chosenISA()
    }

    /// The kernel path `--isa` names, checked against this CPU; nil without `--isa`.
    func chosenISA() throws -> ISA? { try parseISAOption(isa) }

    /// The model folder or file as a URL.
    var modelURL: URL { URL(fileURLWithPath: model) }

    /// Loads the model on the CPU backend.
    func load() throws -> any LanguageModel { try load(path: model) }

    /// Loads the model at `path` with these options (placement, threads, kernels).
    func load(path: String) throws -> any LanguageModel {
        try ModelRegistry.load(path: path,
                           options: ModelLoadOptions(placement: mmap ? .mapped : .hugePages,
                                                     backend: makeBackend(threads: threads, bf16Dot: bf16Dot,
                                                                          isa: try chosenISA())))
    }
}

/// Resolves a MODEL argument without network access: an existing path stays as it is; `ORG/NAME` becomes the
/// folder of that repo's `main` snapshot in the Hugging Face cache (see `lfm pull`).
func resolveModelPath(_ argument: String) throws -> String {
    do {
        return try HubCache.fromEnvironment().resolveModelArgument(argument)
    } catch let error as HubError {
        throw ValidationError(error.description)
    }
}

/// A short name for a model path: `ORG/NAME` for a cached snapshot, else the folder's name.
func modelDisplayName(_ path: String) -> String {
    RepoID(snapshotPath: path)?.description ?? URL(fileURLWithPath: path).lastPathComponent
}

/// The kernel path an `--isa` value names, checked against this CPU; nil for nil (the best path).
func parseISAOption(_ name: String?) throws -> ISA? {
    guard let name else { return nil }
    let available = ISA.available.map(\.description).joined(separator: ", ")
    guard let chosen = ISA(name: name) else {
        throw ValidationError("--isa must be avx512, avx2 or portable (found '\(name)')")
    }
    guard chosen.isSupported else {
        throw ValidationError("--isa \(name): this CPU does not have it (it has: \(available))")
    }
    return chosen
}

/// The backend every command runs on.
/// `isa` must be supported by this CPU (`ModelOptions.chosenISA` checks it); nil picks the best path.
func makeBackend(threads: Int?, bf16Dot: Bool = false, isa: ISA? = nil) -> ComputeBackend {
    CPUBackend(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, isa: isa, bf16DotPrefill: bf16Dot)
}

/// Parses "1,2,3" into token ids.
func parseIds(_ text: String, option: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespaces) }
    var ids: [Int] = []
    for part in parts {
        guard let id = Int(part), id >= 0 else {
            throw ValidationError("\(option) expects comma-separated non-negative integers; '\(part)' is not one")
        }
        ids.append(id)
    }
    return ids
}

/// Writes `text` to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Where the bundled default model is: `$LFM_DEFAULT_MODEL`, else the `DefaultModel` resource next to
/// the executable (SwiftPM copies it into `swift-lfm_lfm.resources`), else the source tree's copy.
func bundledModelPath() -> String {
    if let override = ProcessInfo.processInfo.environment["LFM_DEFAULT_MODEL"], !override.isEmpty { return override }
    let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "lfm").resolvingSymlinksInPath()
    #if os(Linux)
    let resolved = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map(URL.init(fileURLWithPath:)) ?? executable
    #else
    let resolved = executable
    #endif
    var candidates: [URL] = []
    for binary in [resolved, executable] {
        let directory = binary.deletingLastPathComponent()
        candidates.append(directory.appendingPathComponent("swift-lfm_lfm.resources/DefaultModel"))
        candidates.append(directory.appendingPathComponent("swift-lfm_lfm.bundle/DefaultModel"))
        candidates.append(directory.appendingPathComponent("swift-lfm_lfm.bundle/Contents/Resources/DefaultModel"))
    }
    candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Sources/lfm/DefaultModel"))
    for candidate in candidates where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("config.json").path) {
        return candidate.path
    }
    return candidates[0].path
}
