import Foundation
import LFMCore
import LFMFormats
@testable import LFMModels

/// Writes small random LIV model folders (config.json + model.safetensors from the genome's
/// tensor table) for tests.
enum LIVModelBuilder {
    /// Random values for every tensor of `configuration`'s table, by name.
    static func values(_ configuration: LIVConfiguration, seed: UInt64) -> [String: [Float]] {
        var rng = SeededGenerator(seed: seed)
        var out: [String: [Float]] = [:]
        for tensor in configuration.genome.tensors(configuration.settings) {
            let name = tensor.name
            if tensor.shape.count == 1 && name.hasSuffix("norm.weight") {
                out[name] = (0..<tensor.count).map { _ in 1 + 0.1 * rng.normal() }
            } else if tensor.shape.count == 1 {
                // decay biases, expert selection biases
                out[name] = (0..<tensor.count).map { _ in 0.5 * rng.normal() }
            } else {
                let scale = 1 / Float(tensor.shape.last ?? 1).squareRoot()
                out[name] = (0..<tensor.count).map { _ in scale * rng.normal() }
            }
        }
        return out
    }

    /// A folder holding `configuration` and `values` (nil: random from `seed`); returns its URL.
    static func make(_ configuration: LIVConfiguration, seed: UInt64 = 1,
                     values given: [String: [Float]]? = nil) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lfm-liv-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try configuration.huggingFaceConfigData().write(to: directory.appendingPathComponent("config.json"))
        let values = given ?? self.values(configuration, seed: seed)
        var writer = SafeTensorsWriter()
        for tensor in configuration.genome.tensors(configuration.settings) {
            writer.add(tensor.name, shape: tensor.shape, values: values[tensor.name] ?? [])
        }
        try writer.write(to: directory.appendingPathComponent("model.safetensors"))
        return directory
    }

    /// An LIV configuration from genome text (small vocabulary, short window).
    static func configuration(_ text: String, vocabulary: Int = 53, window: Int = 5, sandwich: Bool = false,
                              tied: Bool = true) throws -> LIVConfiguration {
        try LIVConfiguration(genome: LIVGenome(text: text),
                             settings: LIVSettings(vocabularySize: vocabulary, slidingWindow: window, sandwichNorm: sandwich,
                                                   tieEmbeddings: tied, maxPositionEmbeddings: 512))
    }
}
