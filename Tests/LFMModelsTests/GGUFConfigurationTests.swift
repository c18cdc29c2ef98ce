import Foundation
import Testing
import LFMFormats
@testable import LFMModels

/// `LFM2Configuration(gguf:)` on llama.cpp's metadata and on the variants llama.cpp also accepts.
@Suite struct GGUFConfigurationTests {
    static func metadata(_ edit: (inout [(key: String, value: GGUFValue)]) -> Void) throws -> GGUFMetadata {
        var entries = try GGUFFile(path: LlamaCppCase.root.appendingPathComponent("tiny-bf16.gguf").path).metadata.entries
        edit(&entries)
        return try GGUFMetadata(entries)
    }

    @Test func llamaCppMetadataGivesTheFolderConfiguration() throws {
        let fromGGUF = try LFM2Configuration(gguf: try Self.metadata { _ in }, file: "tiny-bf16.gguf")
        var fromFolder = try LFM2Architecture.configuration(directory: ReferenceCase.root.appendingPathComponent("mixed-gqa2-bf16"))
        fromFolder.feedForwardCandidates = [fromGGUF.feedForwardSize]
        fromFolder.feedForwardSize = fromGGUF.feedForwardSize
        fromFolder.declaredDType = nil
        #expect(fromGGUF.layerKinds == fromFolder.layerKinds)
        #expect(fromGGUF == fromFolder, "\(fromGGUF) vs \(fromFolder)")
    }

    @Test func scalarKVHeadsMeanEveryLayerIsAttention() throws {
        let c = try LFM2Configuration(gguf: try Self.metadata { entries in
            if let i = entries.firstIndex(where: { $0.key == "lfm2.attention.head_count_kv" }) { entries[i].value = .uint32(3) }
        }, file: "x")
        #expect(c.layerKinds.allSatisfy { $0 == .attention })
        #expect(c.keyValueHeads == 3)
    }

    @Test func optionalKeysDefaultAsInLlamaCpp() throws {
        let c = try LFM2Configuration(gguf: try Self.metadata { entries in
            entries.removeAll { ["lfm2.rope.freq_base", "lfm2.vocab_size"].contains($0.key) }
        }, file: "x")
        #expect(c.ropeTheta == 10_000)
        #expect(c.vocabularySize == 320) // the token list's length
    }

    @Test func explicitKeyLengthIsUsed() throws {
        let c = try LFM2Configuration(gguf: try Self.metadata { entries in
            entries.append(("lfm2.attention.key_length", .uint32(16)))
            entries.append(("lfm2.attention.value_length", .uint32(16)))
        }, file: "x")
        #expect(c.headDim == 16)
        #expect(throws: GGUFModelError.self) {
            try LFM2Configuration(gguf: try Self.metadata { entries in
                entries.append(("lfm2.attention.key_length", .uint32(16)))
                entries.append(("lfm2.attention.value_length", .uint32(8)))
            }, file: "x")
        }
    }

    /// general.* naming from the folder name, as gguf-py 0.19 (vendored in llama.cpp) derives it
    /// (expected values printed by gguf.metadata.Metadata.get_model_id_components / id_to_title).
    @Test func folderNameComponentsFollowGGUFPy() {
        let params = 354_483_968
        let cases: [(String, String?, String?, String?, String?, String)] = [
            ("tiny-f32", nil, nil, nil, nil, "Tiny F32"),
            ("lfm2-350m-bf16", "lfm2", nil, nil, "350M", "Lfm2 350m Bf16"),
            ("h256", nil, nil, nil, nil, "H256"),
            ("LFM2-1.2B", "LFM2", "1.2b", nil, nil, "LFM2 1.2B"),
            ("LFM2-350M-Instruct", "LFM2", "Instruct", nil, "350M", "LFM2 350M Instruct"),
            ("mixed-gqa3-f16", nil, nil, nil, nil, "Mixed Gqa3 F16"),
        ]
        for (id, basename, finetune, version, size, title) in cases {
            let parts = GGUFGeneralName.nameComponents(id, parameters: params)
            #expect(parts.basename == basename && parts.finetune == finetune && parts.version == version && parts.sizeLabel == size,
                    "\(id): \(parts)")
            #expect(GGUFGeneralName.title(id) == title, "\(id)")
        }
        #expect(GGUFGeneralName.sizeLabel(94_000) == "94K")
        #expect(GGUFGeneralName.sizeLabel(1_170_340_608) == "1.2B")
    }
}
