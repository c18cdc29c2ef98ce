import ArgumentParser
import Foundation
import LFMCore
import LFMFormats
import LFMModels

/// A model to convert: its configuration, tensors and how they are named.
struct ConversionInput {
    var configuration: LFM2Configuration
    var source: TensorSource
    var naming: LFM2Weights.Naming
    /// The input GGUF's metadata (nil for a Hugging Face folder).
    var ggufMetadata: GGUFMetadata?
    /// Tokenizer metadata derived from tokenizer.json (Hugging Face folders).
    var tokenizer: GGUFTokenizerMetadata?
    /// Folder or file name without extension (for general.name).
    var name: String

    /// Opens a Hugging Face folder or a GGUF file and checks every tensor against the configuration.
    static func open(_ path: String) throws -> ConversionInput {
        let url = URL(fileURLWithPath: path)
        let isGGUF = ModelRegistry.isGGUF(path: path)
        var isDirectory: ObjCBool = false
        guard isGGUF || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw ModelPathError.notAModel(path: path)
        }
        // The registry names the family; other families go through `FamilyConversion`.
        let family = isGGUF ? try ModelRegistry.configuration(gguf: path).0.architecture
            : try ModelRegistry.configuration(directory: url).architecture
        guard family == LFM2Architecture.name else {
            throw GGUFConvertError.unsupportedSource(path: path, detail: "ConversionInput handles lfm2 models only (this is \(family))")
        }
        if isGGUF {
            var (configuration, source) = try LFM2Architecture.configuration(gguf: path)
            _ = try LFM2Weights.load(from: source, sourceName: path, naming: .gguf, configuration: &configuration, placement: .mapped)
            return ConversionInput(configuration: configuration, source: source, naming: .gguf,
                                   ggufMetadata: source.file.metadata, tokenizer: nil,
                                   name: url.deletingPathExtension().lastPathComponent)
        }
        var configuration = try LFM2Architecture.configuration(directory: url)
        let checkpoint = try SafeTensorsCheckpoint(directory: url)
        _ = try LFM2Weights.load(from: checkpoint, sourceName: path, configuration: &configuration, placement: .mapped)
        let tokenizer = try GGUFTokenizerMetadata(huggingFaceFolder: url, vocabularySize: configuration.vocabularySize,
                                                  configuration: configuration)
        return ConversionInput(configuration: configuration, source: checkpoint, naming: .huggingFace,
                               ggufMetadata: nil, tokenizer: tokenizer, name: url.standardized.lastPathComponent)
    }

    /// The metadata of the output: the input GGUF's entries with `general.file_type` (and
    /// `general.quantization_version`) replaced in place, as llama-quantize does; or for a folder the
    /// entries llama.cpp's converter writes.
    func metadata(fileType: UInt32) -> [(key: String, value: GGUFValue)] {
        if let ggufMetadata {
            var entries = ggufMetadata.entries
            for key in ["general.file_type", "general.quantization_version"] {
                let value: GGUFValue = key == "general.file_type" ? .uint32(fileType) : .uint32(2)
                if let index = entries.firstIndex(where: { $0.key == key }) { entries[index].value = value } else { entries.append((key, value)) }
            }
            return entries
        }
        return LFM2GGUFExport.modelEntries(configuration, name: name, fileType: fileType) + (tokenizer?.entries ?? [])
    }

    /// The stored type of `role` in the input.
    func storedType(_ role: LFM2Tensor) -> DType {
        let name = naming == .gguf ? role.ggufName : role.huggingFaceName
        return source.tensor(named: name)?.dtype ?? .f32
    }
}

/// A progress bar on standard error (only when it is a terminal).
struct ProgressBar {
    let label: String
    let enabled = isatty(STDERR_FILENO) != 0
    private var lastPercent = -1

    init(label: String) { self.label = label }

    /// `[#####.......]`: `fraction` (0...1) of 24 cells filled.
    static func render(_ fraction: Double) -> String {
        let width = 24
        let filled = max(0, min(width, Int(fraction * Double(width))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    mutating func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        FileHandle.standardError.write(Data("\r\(label) \(Self.render(Double(done) / Double(total))) \(percent)%".utf8))
        if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// `lfm convert`: a Hugging Face folder (LFM2, LFM2-MoE, Qwen3, Llama) to a GGUF file llama.cpp loads.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Hugging Face LFM2, LFM2-MoE, Qwen3 or Llama folder to GGUF (the keys and tensor names llama.cpp's convert_hf_to_gguf.py writes)."
    )

    @Argument(help: "Hugging Face model folder (config.json, safetensors, tokenizer.json).")
    var input: String

    @Argument(help: "Output .gguf file.")
    var output: String

    @Option(name: .long, help: "Storage type of the matrices: f32, f16 or bf16 (norms and conv taps stay f32).")
    var type: String = "f16"

    func run() throws {
        guard let floatType = GGUFFloatType(rawValue: type.lowercased()) else {
            throw ValidationError("--type must be one of \(GGUFFloatType.allCases.map(\.rawValue).joined(separator: ", ")) (found \(type))")
        }
        if let family = try FamilyConversion.open(input) {
            guard family.ggufMetadata == nil else {
                throw ValidationError("\(input) is already a GGUF file; use `lfm quantize` to change its types")
            }
            var bar = ProgressBar(label: "converting")
            try family.write(to: output, floatType: floatType, progress: { bar.update($0, $1) })
            printError("wrote \(output) (\(family.architecture), \(floatType.rawValue), \(family.tensors.count) tensors)")
            return
        }
        let model = try ConversionInput.open(input)
        guard model.naming == .huggingFace else {
            throw ValidationError("\(input) is already a GGUF file; use `lfm quantize` to change its types")
        }
        let c = model.configuration
        var types: [LFM2Tensor: DType] = [:]
        for role in LFM2Tensor.all(c) { types[role] = role.isVector ? .f32 : floatType.dtype }
        var bar = ProgressBar(label: "converting")
        try LFM2GGUFExport.write(to: output, configuration: c, source: model.source, sourceName: input, naming: model.naming,
                                 metadata: model.metadata(fileType: floatType.fileType), types: types,
                                 order: LFM2GGUFExport.converterOrder(c),
                                 progress: { bar.update($0, $1) })
        printError("wrote \(output) (\(floatType.rawValue), \(c.parameterCount.formatted()) parameters)")
    }
}
