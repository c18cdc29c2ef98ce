import ArgumentParser
import Foundation
import LFMCore
import LFMFormats
import LFMModels

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
        let model = try ConversionInput.open(input)
        guard model.ggufMetadata == nil else {
            throw ValidationError("\(input) is already a GGUF file; use `lfm quantize` to change its types")
        }
        var bar = ProgressBar(label: "converting")
        try model.write(to: output, floatType: floatType, progress: { bar.update($0, $1) })
        printError("wrote \(output) (\(model.architecture), \(floatType.rawValue), \(model.tensors.count) tensors)")
    }
}
