import Foundation
import Testing
import LFMCore
import LFMFormats
@testable import LFMModels

/// GGUF files with a wrong architecture, missing or bad keys, inconsistent or unsupported tensors
/// (built with GGUFWriter from a valid llama.cpp file) fail with typed errors naming the key or tensor.
@Suite struct GGUFMalformedModelTests {
    static let base = LlamaCppCase.root.appendingPathComponent("tiny-f32.gguf").path

    /// Rewrites the valid base file with edited metadata and tensors; returns the new path.
    static func rewrite(base: String = base, editMetadata: (inout [(key: String, value: GGUFValue)]) -> Void = { _ in },
                        editTensors: (inout [(name: String, dimensions: [Int], type: GGUFTensorType, bytes: [UInt8])]) -> Void = { _ in }) throws -> String {
        let file = try GGUFFile(path: base)
        var metadata = file.metadata.entries
        editMetadata(&metadata)
        var tensors = file.tensors.map { (name: $0.name, dimensions: $0.dimensions, type: $0.type, bytes: [UInt8](file.data(for: $0))) }
        editTensors(&tensors)
        var writer = GGUFWriter()
        for entry in metadata { try writer.add(entry.key, entry.value) }
        var data: [String: [UInt8]] = [:]
        for t in tensors {
            try writer.addTensor(name: t.name, dimensions: t.dimensions, type: t.type)
            data[t.name] = t.bytes
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf").path
        try writer.write(to: path, data: data)
        return path
    }

    static func replace(_ key: String, _ value: GGUFValue?) -> (inout [(key: String, value: GGUFValue)]) -> Void {
        { entries in
            guard let i = entries.firstIndex(where: { $0.key == key }) else { return }
            if let value { entries[i].value = value } else { entries.remove(at: i) }
        }
    }

    static func load(_ path: String) throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try ModelRegistry.load(path: path, options: ModelLoadOptions(placement: .mapped, backend: testBackend()))
    }

    @Test func unchangedRewriteLoads() throws {
        try Self.load(try Self.rewrite())
    }

    @Test func wrongArchitecture() throws {
        let path = try Self.rewrite(editMetadata: Self.replace("general.architecture", .string("mamba")))
        #expect(throws: GGUFModelError.unsupportedArchitecture(file: path, found: "mamba", supported: ModelRegistry.ggufArchitectures)) {
            try Self.load(path)
        }
        // An architecture the registry knows, with the keys of another: the missing key is named.
        let llama = try Self.rewrite(editMetadata: Self.replace("general.architecture", .string("llama")))
        #expect(throws: GGUFModelError.missingKey(file: llama, key: "llama.block_count")) { try Self.load(llama) }
    }

    @Test(arguments: ["lfm2.block_count", "lfm2.embedding_length", "lfm2.feed_forward_length", "lfm2.attention.head_count",
                      "lfm2.attention.layer_norm_rms_epsilon", "lfm2.shortconv.l_cache", "lfm2.context_length", "general.architecture"])
    func missingKey(key: String) throws {
        let path = try Self.rewrite(editMetadata: Self.replace(key, nil))
        #expect(throws: GGUFModelError.missingKey(file: path, key: key)) { try Self.load(path) }
    }

    @Test func badKeyValues() throws {
        let cases: [(String, GGUFValue, String)] = [
            ("lfm2.attention.head_count_kv", .array(.int32([5, 0, 0])), "has 3 entries"),
            ("lfm2.attention.head_count_kv", .array(.int32([5, 0, 0, 1])), "share one positive"),
            ("lfm2.attention.head_count_kv", .array(.int32([2, 0, 0, 2])), "not a multiple"),
            ("lfm2.block_count", .string("four"), "lfm2.block_count"),
            ("lfm2.shortconv.l_cache", .uint32(0), "must be positive"),
            ("lfm2.attention.layer_norm_rms_epsilon", .float32(-1), "must be positive"),
            ("tokenizer.ggml.eos_token_id", .uint32(9999), "outside the vocabulary"),
        ]
        for (key, value, message) in cases {
            let path = try Self.rewrite(editMetadata: Self.replace(key, value))
            do {
                try Self.load(path)
                Issue.record("\(key) = \(value) loaded")
            } catch let error as GGUFModelError {
                guard case .invalidValue(let file, let named, let detail) = error else { Issue.record("\(error)"); continue }
                #expect(file == path && named == key, "\(error)")
                #expect(detail.contains(message) || named.contains(message), "\(error)")
            }
        }
    }

    @Test func inconsistentTensorShape() throws {
        // ffn_up of layer 2 with one row too few.
        let path = try Self.rewrite(editTensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "blk.2.ffn_up.weight" }) else { return }
            tensors[i].dimensions = [40, 119]
            tensors[i].bytes = Array(tensors[i].bytes.prefix(40 * 119 * 4))
        })
        #expect(throws: ModelLoadError.shapeMismatch(name: "blk.2.ffn_up.weight", file: path, expected: [120, 40], found: [119, 40])) {
            try Self.load(path)
        }
    }

    @Test func feedForwardWidthDisagreesWithTheKey() throws {
        let path = try Self.rewrite(editMetadata: Self.replace("lfm2.feed_forward_length", .uint32(128)))
        #expect(throws: ModelLoadError.self) { try Self.load(path) }
    }

    @Test func missingTensor() throws {
        let path = try Self.rewrite(editTensors: { $0.removeAll { $0.name == "blk.1.shortconv.conv.weight" } })
        #expect(throws: ModelLoadError.missingTensor(name: "blk.1.shortconv.conv.weight", source: path)) { try Self.load(path) }
    }

    @Test func unsupportedTensorType() throws {
        // MXFP4 has blocks of 32 elements in 17 bytes but no kernels here.
        let path = try Self.rewrite(editTensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "blk.0.attn_q.weight" }) else { return }
            tensors[i].type = .mxfp4
            tensors[i].dimensions = [32, 40]
            tensors[i].bytes = [UInt8](repeating: 0, count: 40 * 17)
        })
        #expect(throws: GGUFTensorSourceError.unsupportedType(tensor: "blk.0.attn_q.weight", file: path, type: "MXFP4")) {
            try Self.load(path)
        }
    }

    @Test func quantizedNormIsRejected() throws {
        let base = LlamaCppCase.root.appendingPathComponent("h256-q8_0.gguf").path
        let path = try Self.rewrite(base: base, editTensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "token_embd_norm.weight" }) else { return }
            tensors[i].type = .q8_0
            tensors[i].bytes = [UInt8](repeating: 0, count: 8 * 34)
        })
        #expect(throws: ModelLoadError.unsupportedType(name: "token_embd_norm.weight", file: path, dtype: "Q8_0", expected: "F32, F16 or BF16")) {
            try Self.load(path)
        }
    }

    @Test func untiedHeadIsDetected() throws {
        let path = try Self.rewrite(editTensors: { tensors in
            guard let embedding = tensors.first(where: { $0.name == "token_embd.weight" }) else { return }
            tensors.append((name: "output.weight", dimensions: embedding.dimensions, type: embedding.type, bytes: embedding.bytes))
        })
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (configuration, _) = try LFM2Architecture.configuration(gguf: path)
        #expect(!configuration.tieEmbeddings)
        _ = try ModelRegistry.load(path: path, options: ModelLoadOptions(placement: .mapped, backend: testBackend()))
    }

    @Test func notAModel() throws {
        let text = LlamaCppCase.root.appendingPathComponent("perplexity.txt").path
        #expect(throws: ModelPathError.notAModel(path: text)) { _ = try ModelRegistry.load(path: text) }
        #expect(throws: FileError.notFound(path: "/nonexistent/model.gguf")) { _ = try ModelRegistry.load(path: "/nonexistent/model.gguf") }
    }
}
