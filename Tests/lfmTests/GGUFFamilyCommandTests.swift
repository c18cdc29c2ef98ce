import Foundation
import Testing
import LFMFormats

/// `lfm convert` and `lfm quantize` for LFM2-MoE, Qwen3 and Llama against the files llama.cpp's
/// convert_hf_to_gguf.py and llama-quantize wrote (Scripts/reference/gguf-interop/make_family_interop_fixtures.py).
@Suite(.serialized) struct GGUFFamilyCommandTests {
    static let families = GGUFCommandTests.gguf.appendingPathComponent("families")
    static let models = ["qwen3-h64", "llama-h64", "moe-h64"]

    static func run(_ arguments: [String]) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
    }

    /// Converting each tiny Hugging Face folder gives llama.cpp's F32 file: metadata (tokenizer and
    /// general.name included), tensor names, order, types, shapes and bytes (Llama's permuted q/k
    /// rows and rope_freqs, the stacked MoE experts).
    @Test(arguments: models) func convertWritesWhatLlamaCppsConverterWrites(_ model: String) throws {
        let directory = try GGUFCommandTests.temporaryDirectory(model)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let out = directory.appendingPathComponent("out.gguf").path
        try Self.run(["convert", Self.families.appendingPathComponent("\(model)-hf").path, out, "--type", "f32"])
        try GGUFCommandTests.expectSame(out, Self.families.appendingPathComponent("\(model)-f32.gguf").path)
    }

    /// F16 keeps norms, vectors, the MoE router and the conv taps F32 and rounds the rest.
    @Test func convertToF16KeepsTheConvertersF32Tensors() throws {
        let directory = try GGUFCommandTests.temporaryDirectory("f16")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let out = directory.appendingPathComponent("out.gguf").path
        try Self.run(["convert", Self.families.appendingPathComponent("moe-h64-hf").path, out, "--type", "f16"])
        let file = try GGUFFile(path: out), reference = try GGUFFile(path: Self.families.appendingPathComponent("moe-h64-f32.gguf").path)
        #expect(file.tensors.map(\.name) == reference.tensors.map(\.name))
        for info in file.tensors {
            let keepsF32 = info.dimensions.count == 1 || info.name.hasSuffix("_norm.weight") || info.name.contains("ffn_gate_inp")
                || info.name.contains("shortconv.conv")
            #expect(info.type == (keepsF32 ? .f32 : .f16), "\(info.name): \(info.type)")
        }
        #expect(file.metadata["general.file_type"]?.bitwiseEquals(.uint32(1)) == true)
    }

    /// Quantizing llama.cpp's F32 files gives llama-quantize's Q8_0, Q4_0 and Q4_K_M files byte for byte.
    @Test(arguments: models) func quantizeWritesWhatLlamaQuantizeWrites(_ model: String) throws {
        let directory = try GGUFCommandTests.temporaryDirectory(model)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let source = Self.families.appendingPathComponent("\(model)-f32.gguf").path
        for (mix, reference) in [("q8_0", "\(model)-q8_0.gguf"), ("q4_0", "\(model)-q4_0.gguf"),
                                 ("q4_k_m", "\(model)-f32-to-q4_k_m.gguf.ref")] {
            let out = directory.appendingPathComponent("\(mix).gguf").path
            try Self.run(["quantize", source, out, "--type", mix])
            try GGUFCommandTests.expectSame(out, Self.families.appendingPathComponent(reference).path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: Self.families.appendingPathComponent(reference)), "\(mix)")
        }
    }

    /// Quantizing a Hugging Face folder equals converting it and quantizing llama.cpp's F32 file.
    @Test(arguments: models) func quantizeFromAFolderEqualsLlamaQuantizeOfTheConversion(_ model: String) throws {
        let directory = try GGUFCommandTests.temporaryDirectory(model)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let out = directory.appendingPathComponent("q8_0.gguf").path
        try Self.run(["quantize", Self.families.appendingPathComponent("\(model)-hf").path, out, "--type", "q8_0"])
        try GGUFCommandTests.expectSame(out, Self.families.appendingPathComponent("\(model)-q8_0.gguf").path)
    }

    /// Real k-quant blocks (rows of 256) from quantized inputs: Qwen3 Q6_K → Q4_K_M and LFM2-MoE
    /// Q4_K_M → Q5_K_M (stacked experts; ffn_down_exps bumped to Q6_K, rows of 32 falling back).
    @Test func requantizeWithKQuantsWritesWhatLlamaQuantizeWrites() throws {
        let directory = try GGUFCommandTests.temporaryDirectory("k")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        for (source, mix) in [("qwen3-h256-q6_k", "q4_k_m"), ("moe-h256-q4_k_m", "q5_k_m")] {
            let out = directory.appendingPathComponent("\(source)-\(mix).gguf").path
            try Self.run(["quantize", Self.families.appendingPathComponent("\(source).gguf").path, out, "--type", mix])
            try GGUFCommandTests.expectSame(out, Self.families.appendingPathComponent("\(source)-to-\(mix).gguf.ref").path)
        }
    }

    /// A family without a GGUF export description is refused with its name; nothing is written.
    @Test func familiesWithoutAGGUFFormAreRefusedByName() throws {
        let directory = try GGUFCommandTests.temporaryDirectory("lfm3")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let folder = CLI.fixtures.appendingPathComponent("families/lfm3-hd24-plain-bf16").path
        let out = directory.appendingPathComponent("out.gguf").path
        for arguments in [["convert", folder, out, "--type", "f16"], ["quantize", folder, out, "--type", "q8_0"]] {
            let result = try CLI.run(arguments)
            #expect(result.status != 0)
            #expect(result.stderr.contains("lfm3"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        // A GGUF input is quantized, not converted.
        let gguf = try CLI.run(["convert", Self.families.appendingPathComponent("qwen3-h64-f32.gguf").path, out])
        #expect(gguf.status != 0)
        #expect(gguf.stderr.contains("lfm quantize"))
    }
}
