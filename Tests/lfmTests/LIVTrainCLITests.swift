import Foundation
import Testing

/// `lfm train` on LIV models: from scratch with a genome, continued from an `lfm_liv` folder
/// (and resumed from its checkpoint), with the outputs run by `lfm info` and `lfm generate`.
@Suite(.serialized) struct LIVTrainCLITests {
    static let genome = "h32x4x8 C3:48 A2:48 R4:32"

    struct StepLine: Decodable { let step: Int; let loss: Double }

    /// A folder with a corpus and a from-scratch config whose model is `genome` (no vocab_size:
    /// the tokenizer's).
    func workspace() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-liv-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = String(repeating: "The licensee may copy the work. The work is provided as is, without warranty. ", count: 40)
        try Data(text.utf8).write(to: folder.appendingPathComponent("corpus.txt"))
        let config = """
        {"model": {"genome": "\(Self.genome)", "max_position_embeddings": 64, "eos_token_id": 1, "bos_token_id": 0},
         "tokenizer": "\(TrainCommandTests.tokenizer.path)", "data": "corpus.txt", "out": "model",
         "steps": 4, "batch_size": 2, "ctx": 16, "lr": 1e-2, "warmup": 1, "eval_every": 4}
        """
        try Data(config.utf8).write(to: folder.appendingPathComponent("train.json"))
        return folder
    }

    func steps(_ stdout: String) throws -> [StepLine] {
        try stdout.split(separator: "\n").map { try JSONDecoder().decode(StepLine.self, from: Data($0.utf8)) }
    }

    /// Trains from scratch, checks the folder with `info` and `generate`, then continues training it.
    @Test func trainGenomeFromScratchThenContinue() throws {
        let folder = try workspace()
        defer { try? FileManager.default.removeItem(at: folder) }
        let scratch = try CLI.run(["train", "--config", folder.appendingPathComponent("train.json").path, "--json", "-t", "2"])
        #expect(scratch.status == 0, "\(scratch.stderr)")
        let first = try steps(scratch.stdout)
        #expect(first.map(\.step) == [1, 2, 3, 4])
        #expect(first.allSatisfy { $0.loss.isFinite })
        let model = folder.appendingPathComponent("model")

        let info = try CLI.run(["info", "--model", model.path, "--json"])
        #expect(info.status == 0, "\(info.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
        #expect(object?["architecture"] as? String == "lfm_liv")
        #expect(object?["genome"] as? String == Self.genome)
        #expect(object?["layer_pattern"] as? String == "CAR")
        #expect(object?["has_weights"] as? Bool == true)
        let generated = try CLI.run(["generate", "--model", model.path, "--prompt", "The work", "--max-tokens", "4",
                                     "--temperature", "0", "--json"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let tokens = (try JSONSerialization.jsonObject(with: Data(generated.stdout.utf8)) as? [String: Any])?["tokens"] as? [Int]
        #expect(tokens?.count == 4, "\(generated.stdout)")

        // Continuing starts from the trained weights: its first loss is below a fresh model's.
        let tuned = folder.appendingPathComponent("tuned")
        func more(_ count: Int, _ extra: [String] = []) throws -> CLI.Result {
            try CLI.run(["train", "--model", model.path, "--data", folder.appendingPathComponent("corpus.txt").path,
                         "--steps", String(count), "--ctx", "16", "--batch-size", "2", "--lr", "1e-2",
                         "--out", tuned.path, "--json", "-t", "2"] + extra)
        }
        let continued = try more(3)
        #expect(continued.status == 0, "\(continued.stderr)")
        let later = try steps(continued.stdout)
        #expect(later.map(\.step) == [1, 2, 3])
        #expect(later.allSatisfy { $0.loss.isFinite })
        #expect(later[0].loss < first[0].loss - 1, "continued \(later[0].loss), fresh \(first[0].loss)")
        let reloaded = try CLI.run(["info", "--model", tuned.path, "--json"])
        #expect(reloaded.status == 0 && reloaded.stdout.contains(Self.genome), "\(reloaded.stderr)")
        #expect(try CLI.run(["generate", "--model", tuned.path, "--prompt", "The", "--max-tokens", "2"]).status == 0)

        // --resume picks up OUT/checkpoint (step 3) and runs the remaining steps.
        let resumed = try more(5, ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed at step 3"), "\(resumed.stderr)")
        #expect(try steps(resumed.stdout).map(\.step) == [4, 5])
    }

    /// LoRA is LFM2-only; a genome with another model_type, and a family `lfm train` does not
    /// train, are refused with errors that say so.
    @Test func loraAndContradictoryConfigsAreTypedErrors() throws {
        let folder = try workspace()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("train.json")
        #expect(try CLI.run(["train", "--config", config.path, "--steps", "1", "-t", "2"]).status == 0)
        let model = folder.appendingPathComponent("model")
        let lora = try CLI.run(["train", "--model", model.path, "--data", folder.appendingPathComponent("corpus.txt").path,
                                "--steps", "1", "--ctx", "16", "--out", folder.appendingPathComponent("adapted").path, "--lora", "4"])
        #expect(lora.status != 0 && lora.status < 128)
        #expect(lora.stderr.contains("--lora is for LFM2 models only") && lora.stderr.contains("lfm_liv"), "\(lora.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("adapted").path))
        let fromScratchLoRA = try CLI.run(["train", "--config", config.path, "--lora", "4", "--out", folder.appendingPathComponent("x").path])
        #expect(fromScratchLoRA.status != 0 && fromScratchLoRA.stderr.contains("--lora is for LFM2 models only"), "\(fromScratchLoRA.stderr)")

        let contradictory = """
        {"model": {"genome": "\(Self.genome)", "model_type": "lfm2"}, "tokenizer": "\(TrainCommandTests.tokenizer.path)",
         "data": "corpus.txt", "out": "other", "steps": 1, "ctx": 16}
        """
        try Data(contradictory.utf8).write(to: folder.appendingPathComponent("bad.json"))
        let bad = try CLI.run(["train", "--config", folder.appendingPathComponent("bad.json").path])
        #expect(bad.status != 0 && bad.status < 128)
        #expect(bad.stderr.contains("genome") && bad.stderr.contains("\"lfm2\""), "\(bad.stderr)")

        // A Qwen3 folder (config.json and tokenizer are enough: the family is refused before the weights).
        let qwen = folder.appendingPathComponent("qwen")
        try FileManager.default.createDirectory(at: qwen, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TrainCommandTests.tokenizer, to: qwen.appendingPathComponent("tokenizer.json"))
        let qwenConfig: [String: Any] = ["model_type": "qwen3", "vocab_size": 603, "hidden_size": 32, "num_hidden_layers": 2,
                                         "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 48]
        try JSONSerialization.data(withJSONObject: qwenConfig).write(to: qwen.appendingPathComponent("config.json"))
        let other = try CLI.run(["train", "--model", qwen.path, "--data", folder.appendingPathComponent("corpus.txt").path,
                                 "--steps", "1", "--out", folder.appendingPathComponent("qwen-out").path])
        #expect(other.status != 0 && other.status < 128)
        #expect(other.stderr.contains("cannot train a 'qwen3' model") && other.stderr.contains("lfm_liv"), "\(other.stderr)")
    }

    /// A GPT-2 byte-level BPE tokenizer with the 256 byte tokens only (ids 0 … 255), for the
    /// 256-token family fixtures.
    static func byteTokenizer() throws -> Data {
        var bytes = Array(33...126) + Array(161...172) + Array(174...255)
        var characters = bytes
        var extra = 0
        for b in 0..<256 where !bytes.contains(b) {
            bytes.append(b)
            characters.append(256 + extra)
            extra += 1
        }
        var vocabulary: [String: Int] = [:]
        for (b, c) in zip(bytes, characters) { vocabulary[String(Character(Unicode.Scalar(UInt32(c))!))] = b }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let tokenizer: [String: Any] = [
            "version": "1.0", "added_tokens": [], "pre_tokenizer": byteLevel, "decoder": byteLevel,
            "model": ["type": "BPE", "vocab": vocabulary, "merges": [], "byte_fallback": false, "fuse_unk": false],
        ]
        return try JSONSerialization.data(withJSONObject: tokenizer)
    }

    /// LFM3 and LFM2-MoE folders train as their LIV descriptions: the output is an lfm_liv folder
    /// with the same parameter count that `info` and `generate` run.
    @Test(arguments: ["lfm3-gqa2-f32", "moe-k1-f32"])
    func familyFoldersTrainAsTheirLIVDescription(_ fixture: String) throws {
        let folder = try workspace()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent(fixture)
        try FileManager.default.copyItem(at: TextCommandTests.tests.appendingPathComponent("LFMModelsTests/Fixtures/families/\(fixture)"),
                                         to: source)
        try Self.byteTokenizer().write(to: source.appendingPathComponent("tokenizer.json"))
        let before = try CLI.run(["info", "--model", source.path, "--json"])
        #expect(before.status == 0, "\(before.stderr)")
        let sourceInfo = try JSONSerialization.jsonObject(with: Data(before.stdout.utf8)) as? [String: Any]
        let out = folder.appendingPathComponent("out")
        let trained = try CLI.run(["train", "--model", source.path, "--data", folder.appendingPathComponent("corpus.txt").path,
                                   "--steps", "2", "--ctx", "16", "--batch-size", "2", "--out", out.path, "--json", "-t", "2"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(try steps(trained.stdout).map(\.step) == [1, 2])
        #expect(try steps(trained.stdout).allSatisfy { $0.loss.isFinite })
        let after = try CLI.run(["info", "--model", out.path, "--json"])
        #expect(after.status == 0, "\(after.stderr)")
        let outInfo = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any]
        #expect(sourceInfo?["architecture"] as? String != "lfm_liv")
        #expect(outInfo?["architecture"] as? String == "lfm_liv")
        #expect(outInfo?["parameters"] as? Int == sourceInfo?["parameters"] as? Int)
        #expect(try CLI.run(["generate", "--model", out.path, "--prompt", "The", "--max-tokens", "2"]).status == 0)
    }
}
