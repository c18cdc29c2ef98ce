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

    var description: String {
        switch self {
        case let .unsupportedFamily(path, family):
            return "\(path): lfm train cannot train a '\(family)' model (expected model_type \"lfm2\" or \"\(LIVArchitecture.name)\")"
        case let .loraNeedsLFM2(path, family):
            return "\(path): --lora is for LFM2 models only (this model is '\(family)'); train all weights without --lora"
        case let .genomeWithOtherModelType(file, modelType):
            return "\(file): the \"model\" object has a \"genome\" but model_type \"\(modelType)\" (expected \"\(LIVArchitecture.name)\" or none)"
        }
    }
}

/// The model `lfm train` trains: LFM2 (the family with LoRA adapters) or LIV (a genome).
enum TrainModel {
    case lfm2(LFM2Trainable)
    case liv(LIVTrainable)

    /// The family's registry name ("lfm2", "lfm_liv").
    var family: String {
        switch self {
        case .lfm2: return LFM2Architecture.name
        case .liv: return LIVArchitecture.name
        }
    }

    /// Loads the weights of `source` (a model folder, or `OUT/checkpoint` when resuming) as the
    /// family its `config.json` names.
    /// - Throws: `TrainModelError.unsupportedFamily` for a family other than LFM2 and LIV; load errors.
    static func load(_ source: URL) throws -> TrainModel {
        let configuration = try ModelRegistry.configuration(directory: source)
        switch configuration {
        case let liv as LIVConfiguration:
            return .liv(try LIVTrainable(configuration: liv, source: SafeTensorsCheckpoint(directory: source), sourceName: source.path))
        case is LFM2Configuration:
            return .lfm2(try LFM2Trainable(source: SafeTensorsCheckpoint(directory: source), sourceName: source.path,
                                           configuration: LFM2Architecture.configuration(directory: source)))
        default:
            throw TrainModelError.unsupportedFamily(path: source.path, family: configuration.architecture)
        }
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
            return .liv(try LIVTrainable(genome: configuration.genome, settings: configuration.settings, seed: seed))
        }
        if modelType == nil { values["model_type"] = LFM2Architecture.name }
        let configuration = try LFM2Configuration(huggingFace: JSONObject(file: shape.file, values: values))
        return .lfm2(LFM2Trainable(randomFor: configuration, seed: seed))
    }
}
