import Foundation
import Testing
import LFMFormats

/// `lfm convert`, `lfm quantize`, `lfm perplexity` and `lfm info` on GGUF files, against outputs of
/// llama.cpp and transformers recorded by Scripts/reference/gguf-interop/make_interop_fixtures.py.
@Suite(.serialized) struct GGUFCommandTests {
    static let gguf = CLI.fixtures.appendingPathComponent("gguf")

    /// Metadata (bit-exact values, same order) and tensors (names, dims, types, bytes) of two files.
    static func expectSame(_ ours: String, _ theirs: String) throws {
        let a = try GGUFFile(path: ours), b = try GGUFFile(path: theirs)
        #expect(a.metadata.keys == b.metadata.keys)
        for (key, value) in b.metadata.entries {
            let mine = try #require(a.metadata[key], "missing \(key)")
            #expect(mine.bitwiseEquals(value), "\(key): ours \(mine), llama.cpp \(value)")
        }
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        for info in b.tensors {
            let mine = try #require(a.tensor(named: info.name))
            #expect(mine.dimensions == info.dimensions && mine.type == info.type, "\(info.name): ours \(mine.type) \(mine.dimensions), llama.cpp \(info.type) \(info.dimensions)")
            #expect([UInt8](a.data(for: mine)) == [UInt8](b.data(for: info)), "\(info.name): bytes differ")
        }
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-gguf-\(UUID().uuidString)/\(name)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func convertWritesWhatLlamaCppsConverterWrites() throws {
        // The folder llama.cpp converted: the attn-first-f32 checkpoint plus its tiny tokenizer.
        let folder = try Self.temporaryDirectory("tiny-f32")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let checkpoint = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32")
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: checkpoint.appendingPathComponent(file), to: folder.appendingPathComponent(file))
        }
        for file in ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja"] {
            try FileManager.default.copyItem(at: Self.gguf.appendingPathComponent("tiny-f32-hf/\(file)"), to: folder.appendingPathComponent(file))
        }
        let out = folder.deletingLastPathComponent().appendingPathComponent("out.gguf").path
        let result = try CLI.run(["convert", folder.path, out, "--type", "f32"])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.expectSame(out, Self.gguf.appendingPathComponent("tiny-f32.gguf").path)
    }

    @Test(arguments: ["q4_k_m", "iq4_nl", "iq4_xs"])
    func quantizeWritesWhatLlamaQuantizeWrites(mix: String) throws {
        let directory = try Self.temporaryDirectory("q")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent()) }
        let out = directory.appendingPathComponent("out.gguf").path
        let result = try CLI.run(["quantize", Self.gguf.appendingPathComponent("h256-q8_0.gguf").path, out, "--type", mix])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.expectSame(out, Self.gguf.appendingPathComponent("h256-q8_0-to-\(mix).gguf.ref").path)
    }

    @Test func perplexityMatchesTransformers() throws {
        struct Reference: Decodable { let ctx: Int; let tokens: Int; let nll: Double }
        struct Output: Decodable { let tokens: Int; let nll: Double; let ppl: Double }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.gguf.appendingPathComponent("perplexity.json")))
        let result = try CLI.run(["perplexity", "--model", Self.gguf.appendingPathComponent("tiny-f32.gguf").path,
                                  "--file", Self.gguf.appendingPathComponent("perplexity.txt").path,
                                  "--ctx", "\(reference.ctx)", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.tokens == reference.tokens)
        #expect(abs(output.nll - reference.nll) < 1e-3, "ours \(output.nll), transformers \(reference.nll)")
        #expect(abs(output.ppl - exp(output.nll)) < 1e-9 * output.ppl)
    }

    /// `--kl-reference`: a model against itself diverges by nothing; Q4_0 against Q8_0 of the same
    /// weights diverges a little, and the reference figures equal scoring the reference alone.
    @Test func perplexityComparesWithAReferenceModel() throws {
        struct KL: Decodable { let positions: Int; let mean: Double; let p99: Double; let max: Double; let top1_agreement: Double; let reference_nll: Double }
        struct Output: Decodable { let tokens: Int; let nll: Double; let kl: KL? }
        func run(_ model: String, reference: String?, windows: String = "all") throws -> Output {
            var arguments = ["perplexity", "--model", Self.gguf.appendingPathComponent(model).path,
                             "--file", Self.gguf.appendingPathComponent("perplexity.txt").path,
                             "--ctx", "16", "--windows", windows, "--json"]
            if let reference { arguments += ["--kl-reference", Self.gguf.appendingPathComponent(reference).path] }
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(result.stderr)")
            return try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        }
        let same = try run("h256-q8_0.gguf", reference: "h256-q8_0.gguf")
        let sameKL = try #require(same.kl)
        #expect(sameKL.positions == same.tokens && sameKL.mean == 0 && sameKL.max == 0 && sameKL.top1_agreement == 1)
        let q8 = try run("h256-q8_0.gguf", reference: nil)
        #expect(q8.kl == nil)
        let q4 = try run("h256-q4_0.gguf", reference: "h256-q8_0.gguf")
        let kl = try #require(q4.kl)
        #expect(kl.positions == q4.tokens && q4.tokens == q8.tokens)
        #expect(abs(kl.reference_nll - q8.nll) < 1e-12)
        #expect(kl.mean > 1e-4 && kl.mean < 0.5, "mean KL \(kl.mean)")
        #expect(kl.p99 >= kl.mean && kl.max >= kl.p99)
        #expect(kl.top1_agreement > 0.2 && kl.top1_agreement < 1)
        // llama-perplexity's positions: whole 16-token windows, tokens 9...15 of each scored.
        let half = try run("h256-q4_0.gguf", reference: "h256-q8_0.gguf", windows: "second-half")
        #expect(half.tokens == (q8.tokens + 1) / 16 * 7)
        // Another vocabulary is refused with a message, not compared.
        let mismatch = try CLI.run(["perplexity", "--model", Self.gguf.appendingPathComponent("h256-q4_0.gguf").path,
                                    "--file", Self.gguf.appendingPathComponent("perplexity.txt").path, "--ctx", "16",
                                    "--kl-reference", Self.gguf.appendingPathComponent("tiny-f32.gguf").path])
        #expect(mismatch.status != 0)
        #expect(mismatch.stderr.contains("vocabulary"))
    }

    @Test func infoReportsBytesPerStorageType() throws {
        struct Info: Decodable { let layer_pattern: String; let weight_dtype_bytes: [String: Int]; let has_weights: Bool }
        let path = Self.gguf.appendingPathComponent("h256-q4_k_m.gguf").path
        let result = try CLI.run(["info", "--model", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let info = try JSONDecoder().decode(Info.self, from: Data(result.stdout.utf8))
        #expect(info.layer_pattern == "CA")
        #expect(info.has_weights)
        let file = try GGUFFile(path: path)
        var expected: [String: Int] = [:]
        for t in file.tensors { expected[t.type.name, default: 0] += t.byteCount }
        #expect(info.weight_dtype_bytes == expected)
        #expect(Set(expected.keys) == ["F32", "Q4_K", "Q6_K"])
    }

    @Test func generateOnAGGUFFileGivesLlamaCppsGreedyTokens() throws {
        struct Reference: Decodable { let prompt_ids: [Int]; let greedy_tokens: [Int] }
        struct Output: Decodable { let tokens: [Int] }
        for name in ["tiny-f32", "tiny-f16"] {
            let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.gguf.appendingPathComponent("\(name).json")))
            let result = try CLI.run(["generate", "--model", Self.gguf.appendingPathComponent("\(name).gguf").path,
                                      "--prompt-ids", reference.prompt_ids.map(String.init).joined(separator: ","),
                                      "--max-tokens", "\(reference.greedy_tokens.count)", "--ignore-eos", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
            #expect(output.tokens == reference.greedy_tokens, "\(name)")
        }
    }

    @Test func badInputsAreReported() throws {
        let badType = try CLI.run(["quantize", Self.gguf.appendingPathComponent("tiny-f32.gguf").path, "/dev/null", "--type", "q9_9"])
        #expect(badType.status != 0)
        #expect(badType.stderr.contains("q4_k_m"))
        let notModel = try CLI.run(["convert", Self.gguf.appendingPathComponent("perplexity.txt").path, "/dev/null"])
        #expect(notModel.status != 0)
        #expect(notModel.stderr.contains("perplexity.txt"))
    }
}
