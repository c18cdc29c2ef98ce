import Foundation
import LFMFormats
import LFMModels
import LFMTraining

/// Errors of `lfm train` about which model it can train.
enum TrainModelError: Error, CustomStringConvertible {
    /// The folder's family is not one `lfm train` trains.
    case unsupportedFamily(path: String, family: String)
    /// `--lora` on a model whose family has no adapters.
    case loraNeedsLFM2(path: String, family: String)
    /// A from-scratch "model" object with a `model_type` that contradicts its genome.
    case genomeWithOtherModelType(file: String, modelType: String)
    /// An LFM3 / LFM2-MoE model whose sizes have no LIV description (outside the genome's ranges).
    case noLIVDescription(path: String, family: String, detail: String)

    var description: String {
        switch self {
        case let .unsupportedFamily(path, family):
            return "\(path): lfm train cannot train a '\(family)' model (expected model_type \"lfm2\", \"\(LIVArchitecture.name)\", "
                + "\"lfm3\" or \"lfm2_moe\")"
        case let .loraNeedsLFM2(path, family):
            return "\(path): --lora is for LFM2 models only (this model is '\(family)'); train all weights without --lora"
        case let .genomeWithOtherModelType(file, modelType):
            return "\(file): the \"model\" object has a \"genome\" but model_type \"\(modelType)\" (expected \"\(LIVArchitecture.name)\" or none)"
        case let .noLIVDescription(path, family, detail):
            return "\(path): this '\(family)' model has no LIV description, so lfm train cannot train it: \(detail)"
        }
    }
}

/// The model `lfm train` trains: LFM2 (the family with LoRA adapters) or LIV (a genome; LFM3
/// and LFM2-MoE folders are trained as their LIV descriptions).
enum TrainModel {
    case lfm2(LFM2Trainable)
    /// An LIV model, and the family of the folder it was loaded from ("lfm_liv", "lfm3", "lfm2_moe").
    case liv(LIVTrainable, from: String)

    /// The registry name of the family the model was made as or loaded from.
    var family: String {
        switch self {
        case .lfm2: return LFM2Architecture.name
        case .liv(_, let from): return from
        }
    }

    /// Loads the weights of `source` (a model folder, or `OUT/checkpoint` when resuming) as the
    /// family its `config.json` names; an LFM3 or LFM2-MoE folder as its LIV description (its
    /// tensors renamed to the LIV table's).
    /// - Throws: `TrainModelError.unsupportedFamily` for other families,
    ///   `TrainModelError.noLIVDescription`, load errors.
    static func load(_ source: URL) throws -> TrainModel {
        let configuration = try ModelRegistry.configuration(directory: source)
        switch configuration {
        case let liv as LIVConfiguration:
            return .liv(try LIVTrainable(configuration: liv, source: SafeTensorsCheckpoint(directory: source), sourceName: source.path),
                        from: LIVArchitecture.name)
        case let lfm3 as LFM3Configuration:
            return try described(source, family: lfm3.architecture) { try lfm3.livDescription() }
        case let moe as LFM2MoEConfiguration:
            return try described(source, family: moe.architecture) { try moe.livDescription() }
        case is LFM2Configuration:
            return .lfm2(try LFM2Trainable(source: SafeTensorsCheckpoint(directory: source), sourceName: source.path,
                                           configuration: LFM2Architecture.configuration(directory: source)))
        default:
            throw TrainModelError.unsupportedFamily(path: source.path, family: configuration.architecture)
        }
    }

    /// The weights of `source` loaded as the LIV description that `describe` gives.
    private static func described(_ source: URL, family: String, _ describe: () throws -> LIVDescription) throws -> TrainModel {
        let description: LIVDescription
        do { description = try describe() } catch let error as LIVGenomeError {
            throw TrainModelError.noLIVDescription(path: source.path, family: family, detail: error.description)
        }
        let renaming = description.renaming
        let model = try LIVTrainable(configuration: description.configuration, source: SafeTensorsCheckpoint(directory: source),
                                     sourceName: source.path, renaming: { renaming[$0] ?? $0 })
        return .liv(model, from: family)
    }

    /// A freshly initialized model from the "model" object of a training configuration: LIV when
    /// it has a "genome" (or `model_type` "lfm_liv"), with `vocabularySize` (the tokenizer's)
    /// where it gives no "vocab_size"; LFM2 otherwise (`model_type` "lfm2" when absent).
    static func random(shape: JSONObject, vocabularySize: Int, seed: UInt64) throws -> TrainModel {
        var values = shape.values
        let modelType = try shape.string("model_type")
        if shape.has("genome") || modelType == LIVArchitecture.name {
            if let modelType, modelType != LIVArchitecture.name {
                throw TrainModelError.genomeWithOtherModelType(file: shape.file, modelType: modelType)
            }
            values["model_type"] = LIVArchitecture.name
            if values["vocab_size"] == nil { values["vocab_size"] = vocabularySize }
            let configuration = try LIVConfiguration(huggingFace: JSONObject(file: shape.file, values: values))
            return .liv(try LIVTrainable(genome: configuration.genome, settings: configuration.settings, seed: seed),
                        from: LIVArchitecture.name)
        }
        if modelType == nil { values["model_type"] = LFM2Architecture.name }
        let configuration = try LFM2Configuration(huggingFace: JSONObject(file: shape.file, values: values))
        return .lfm2(LFM2Trainable(randomFor: configuration, seed: seed))
    }
}
