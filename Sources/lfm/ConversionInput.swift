import Foundation
import LFMCore
import LFMFormats
import LFMModels

/// A model to write as GGUF: a Hugging Face folder through its family's export description (reached
/// through `ModelRegistry`), or a GGUF file's own tensors and metadata.
struct ConversionInput {
    /// The tensors to write, in the order llama.cpp's converter (folder) or the input file has them.
    var tensors: [GGUFExportTensor]
    var source: TensorSource
    /// The family's description (Hugging Face folders).
    var description: GGUFExportDescription?
    /// The input file's metadata (GGUF files).
    var ggufMetadata: [(key: String, value: GGUFValue)]?
    /// GGUF `general.architecture` of the output.
    var architecture: String
    /// Folder or file name without extension (for general.name).
    var name: String

    /// Opens `path` (folder or GGUF file); every tensor is checked against the configuration first.
    static func open(_ path: String) throws -> ConversionInput {
        let url = URL(fileURLWithPath: path)
        let isGGUF = ModelRegistry.isGGUF(path: path)
        var isDirectory: ObjCBool = false
        guard isGGUF || (FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) else {
            throw ModelPathError.notAModel(path: path)
        }
        let checkpoint = try ModelRegistry.open(path: path)
        if let source = checkpoint.source as? GGUFTensorSource, let metadata = checkpoint.ggufMetadata {
            let arch = try metadata.string("general.architecture")
            return ConversionInput(tensors: GGUFModelExporter.tensors(of: source), source: source, description: nil,
                                    ggufMetadata: metadata.entries, architecture: arch,
                                    name: url.deletingPathExtension().lastPathComponent)
        }
        guard let description = try checkpoint.family.ggufExport(checkpoint.configuration, folder: url) else {
            throw GGUFConvertError.unsupportedSource(path: path, detail: "writing GGUF files is not implemented for \(checkpoint.configuration.architecture) models "
                                                     + "(no llama.cpp architecture is described for this family)")
        }
        return ConversionInput(tensors: description.tensors, source: checkpoint.source, description: description,
                                ggufMetadata: nil, architecture: description.architecture, name: url.standardized.lastPathComponent)
    }

    /// The converter's metadata for `fileType` (folders) or the input file's entries.
    func metadata(fileType: UInt32) -> [(key: String, value: GGUFValue)] {
        if let ggufMetadata { return ggufMetadata }
        return description?.entries(name: name, fileType: fileType) ?? []
    }

    /// `lfm convert --type`: matrices as `type`, the tensors the converter keeps F32 as F32.
    func write(to output: String, floatType: GGUFFloatType, progress: ((Int, Int) -> Void)? = nil) throws {
        var types: [String: DType] = [:]
        for t in tensors { types[t.name] = t.keepsF32 ? .f32 : floatType.dtype }
        try GGUFModelExporter.write(to: output, metadata: metadata(fileType: floatType.fileType), tensors: tensors, types: types,
                                    source: source, sourceName: name, progress: progress)
    }

    /// `lfm quantize`: llama-quantize's types, metadata and tensor order (a folder is taken as the
    /// converter's F32 output of it). Returns the chosen types.
    func quantize(to output: String, mix: GGUFQuantizationMix, progress: ((Int, Int) -> Void)? = nil) throws -> [String: DType] {
        let metadata = GGUFModelExporter.quantizedMetadata(metadata(fileType: GGUFFloatType.f32.fileType), fileType: mix.fileType)
        let current = ggufMetadata == nil ? Dictionary(tensors.map { ($0.name, DType.f32) }, uniquingKeysWith: { a, _ in a })
            : GGUFModelExporter.storedTypes(tensors, source: source)
        let model = GGUFQuantizationModel(metadata: metadata, architecture: architecture)
        let types = GGUFQuantizationRules.types(tensors.map { ($0.name, $0.shape, current[$0.name] ?? .f32) }, mix: mix, model: model)
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let ordered = GGUFQuantizationRules.writeOrder(tensors.map(\.name)).compactMap { byName[$0] }
        try GGUFModelExporter.write(to: output, metadata: metadata, tensors: ordered, types: types, source: source,
                                    sourceName: name, progress: progress)
        return types
    }
}
