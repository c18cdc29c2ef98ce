import ArgumentParser
import Foundation
import LFMCore
import LFMModels

/// `lfm quantize`: a Hugging Face folder or GGUF file to a quantized GGUF file.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a Hugging Face folder or GGUF file with llama.cpp's mixes (reference quantizers, byte-exact with ggml)."
    )

    @Argument(help: "Hugging Face model folder or GGUF file.")
    var input: String

    @Argument(help: "Output .gguf file.")
    var output: String

    @Option(name: .long, help: "Mix: \(GGUFQuantizationMix.allCases.map(\.rawValue).joined(separator: ", ")).")
    var type: String

    func run() throws {
        guard let mix = GGUFQuantizationMix(rawValue: type.lowercased()) else {
            throw ValidationError("--type must be one of \(GGUFQuantizationMix.allCases.map(\.rawValue).joined(separator: ", ")) (found \(type))")
        }
        let model = try ConversionInput.open(input)
        var bar = ProgressBar(label: "quantizing")
        let types = try model.quantize(to: output, mix: mix, progress: { bar.update($0, $1) })
        Self.report(output, mix: mix, types: Array(types.values))
    }

    /// "wrote out.gguf (q4_0: 9 F32, 14 Q4_0)".
    static func report(_ output: String, mix: GGUFQuantizationMix, types: [DType]) {
        var counts: [String: Int] = [:]
        for t in types { counts[t.name, default: 0] += 1 }
        printError("wrote \(output) (\(mix.rawValue): " + counts.keys.sorted().map { "\(counts[$0, default: 0]) \($0)" }.joined(separator: ", ") + ")")
    }
}
