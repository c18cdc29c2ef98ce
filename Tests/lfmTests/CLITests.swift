import Foundation
import Testing

/// Runs the built `lfm` binary, as users and other tools do.
enum CLI {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("LFMModelsTests/Fixtures")

    static var binary: URL {
        // The test runner executable sits next to the products in the build folder.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: directory.appendingPathComponent("lfm").path) {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("lfm")
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

struct GenerateOutput: Decodable {
    struct Entry: Decodable { let id: Int; let logprob: Double }
    let prompt_ids: [Int]
    let tokens: [Int]
    let logprobs: [[Entry]]
}

struct Expected: Decodable {
    let prompt_ids: [Int]
    let greedy_tokens: [Int]
    let decode_logits: [[Double]]
}

@Suite(.serialized) struct CLITests {
    @Test(arguments: ["attn-first-f32", "mixed-gqa4-bf16", "sharded-f32"])
    func greedyGenerateMatchesTransformers(name: String) throws {
        let folder = CLI.fixtures.appendingPathComponent("lfm2/\(name)")
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let ids = expected.prompt_ids.map(String.init).joined(separator: ",")
        let result = try CLI.run(["generate", "--model", folder.path, "--prompt-ids", ids,
                                  "--max-tokens", "\(expected.greedy_tokens.count)", "--temperature", "0", "--json", "--ignore-eos"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONDecoder().decode(GenerateOutput.self, from: Data(result.stdout.utf8))
        #expect(output.prompt_ids == expected.prompt_ids)
        #expect(output.tokens == expected.greedy_tokens)
        #expect(output.logprobs.count == output.tokens.count)
        for (step, entries) in output.logprobs.enumerated() {
            #expect(entries.count == 5)
            #expect(entries.first?.id == output.tokens[step])
            // The reference distribution's log-softmax at the same ids.
            let logits = expected.decode_logits[step]
            let maximum = logits.max()!
            let logTotal = log(logits.reduce(0) { $0 + exp($1 - maximum) }) + maximum
            for entry in entries {
                #expect(abs(entry.logprob - (logits[entry.id] - logTotal)) < 2e-2)
            }
            #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.logprob >= $1.logprob })
        }
    }

    @Test func infoReportsPublishedParameterCounts() throws {
        for (name, count) in [("lfm2-350m", 354_483_968), ("lfm2-1.2b", 1_170_340_608)] {
            let result = try CLI.run(["info", "--model", CLI.fixtures.appendingPathComponent("configs/\(name)").path, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(object?["parameters"] as? Int == count)
            #expect(object?["layer_pattern"] as? String == "CCACCACCACACACAC")
            let text = try CLI.run(["info", "--model", CLI.fixtures.appendingPathComponent("configs/\(name)").path])
            #expect(text.stdout.contains(count.formatted()))
        }
    }

    @Test func benchPrintsTheJSONContract() throws {
        let folder = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32")
        let result = try CLI.run(["bench", "--model", folder.path, "-p", "16", "-n", "4", "-t", "1", "-r", "2", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        for key in ["pp_tokens_per_s", "pp_sd", "tg_tokens_per_s", "tg_sd"] {
            #expect((object?[key] as? Double).map { $0 >= 0 } == true, "\(key)")
        }
        #expect((object?["tg_tokens_per_s"] as? Double ?? 0) > 0)
        // The kernel path: "avx512" (with "+bf16" / "+vnni"), "avx2" or "portable".
        let isa = (object?["isa"] as? String ?? "").split(separator: "+").first.map(String.init)
        #expect(["avx512", "avx2", "portable"].contains(isa ?? ""), "isa: \(object?["isa"] ?? "missing")")
    }

    /// `--isa` forces a slower kernel path (what CPUs without the faster one run) and the JSON names it;
    /// an unknown name, or a path this CPU lacks, is a typed error before anything loads.
    @Test func benchRunsTheKernelPathItIsGiven() throws {
        let folder = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32")
        func benchPath(_ extra: [String]) throws -> (status: Int32, path: String?, stderr: String) {
            let result = try CLI.run(["bench", "--model", folder.path, "-p", "8", "-n", "2", "-t", "2", "-r", "1", "--json"] + extra)
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return (result.status, (object?["isa"] as? String)?.split(separator: "+").first.map(String.init), result.stderr)
        }
        // The best path here, then every path below it (x86-64: avx512 > avx2 > portable).
        let best = try benchPath([])
        let order = ["avx512", "avx2", "portable"]
        let index = try #require(best.path.flatMap { order.firstIndex(of: $0) }, "\(best.stderr)")
        for isa in order[index...] {
            let forced = try benchPath(["--isa", isa])
            #expect(forced.status == 0 && forced.path == isa, "\(isa): \(forced.path ?? "no JSON") \(forced.stderr)")
        }
        let unknown = try benchPath(["--isa", "sse9"])
        #expect(unknown.status != 0 && unknown.stderr.contains("--isa must be avx512, avx2 or portable (found 'sse9')"),
                "\(unknown.stderr)")
        if index > 0 {
            let missing = try benchPath(["--isa", "avx512"])
            #expect(missing.status != 0 && missing.stderr.contains("this CPU does not have it"), "\(missing.stderr)")
        }
    }

    /// `"weight_bytes_per_token"`: every matrix once (the tied embedding as the head; norms, biases and
    /// conv kernels are vectors or rank 3, left out), and of a mixture of experts the router and top-k
    /// of the experts: counted here from the checkpoint's own tensor table.
    @Test(arguments: [("lfm2/attn-first-f32", 1, 1), ("families/moe-k1-f32", 1, 4), ("families/moe-k4-bf16", 4, 8)])
    func benchReportsTheWeightBytesADecodeStepReads(folder: String, topK: Int, experts: Int) throws {
        let path = CLI.fixtures.appendingPathComponent(folder)
        let header = try safeTensorsHeader(path.appendingPathComponent("model.safetensors"))
        var dense = 0, expertBytes = 0
        for (name, entry) in header where name != "__metadata__" {
            guard let entry = entry as? [String: Any], let shape = entry["shape"] as? [Int], shape.count == 2,
                  let offsets = entry["data_offsets"] as? [Int] else { continue }
            if name.contains(".experts.") { expertBytes += offsets[1] - offsets[0] } else { dense += offsets[1] - offsets[0] }
        }
        #expect(expertBytes % experts == 0)
        let result = try CLI.run(["bench", "--model", path.path, "-p", "4", "-n", "2", "-t", "1", "-r", "1", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["weight_bytes_per_token"] as? Int == dense + expertBytes * topK / experts)
    }

    /// `-d` (a list) and `--kv-type`: one JSON object, the first depth's figures at the top level
    /// plus one object per depth; a KV type the heads cannot hold fails with the typed message.
    @Test func benchDepthsAndKVType() throws {
        let folder = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32")
        let result = try CLI.run(["bench", "--model", folder.path, "-p", "8", "-n", "3", "-t", "1", "-r", "1",
                                  "-d", "0,40", "--kv-type", "bf16", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["depth"] as? Int == 0)
        #expect(object?["kv_type"] as? String == "bf16")
        let depths = object?["depths"] as? [[String: Any]] ?? []
        #expect(depths.map { $0["depth"] as? Int } == [0, 40])
        #expect(depths.allSatisfy { ($0["tg_tokens_per_s"] as? Double ?? 0) > 0 && $0["kv_type"] as? String == "bf16" })
        let single = try CLI.run(["bench", "--model", folder.path, "-p", "4", "-n", "2", "-t", "1", "-r", "1",
                                  "--depth", "16", "--json"])
        #expect(single.status == 0, "\(single.stderr)")
        let one = try JSONSerialization.jsonObject(with: Data(single.stdout.utf8)) as? [String: Any]
        #expect(one?["depth"] as? Int == 16 && one?["kv_type"] as? String == "f32" && one?["depths"] == nil)
        // Head dimension 8: Q8_0 blocks of 32 do not fit.
        let refused = try CLI.run(["bench", "--model", folder.path, "-p", "4", "-n", "2", "-r", "1", "--kv-type", "q8_0"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("head dimension 8"), "\(refused.stderr)")
        let badType = try CLI.run(["bench", "--model", folder.path, "--kv-type", "q5_0"])
        #expect(badType.status != 0)
        let badDepth = try CLI.run(["bench", "--model", folder.path, "-d", "1,x"])
        #expect(badDepth.status != 0)
    }

    /// A folder holding the config of an architecture no family reads.
    static func otherArchitecture() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mamba-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(#"{"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 100}"#.utf8)
            .write(to: folder.appendingPathComponent("config.json"))
        return folder.path
    }

    @Test func badInvocationsFailCleanly() throws {
        let folder = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32").path
        let cases: [([String], String)] = [
            (["generate", "--model", "/nonexistent", "--prompt-ids", "1"], "not found"),
            (["generate", "--model", folder, "--prompt-ids", "1,x"], "'x'"),
            (["generate", "--model", folder, "--prompt-ids", "99999"], "outside the vocabulary"),
            (["generate", "--model", folder, "--prompt-ids", "1", "--bogus"], "--bogus"),
            (["generate", "--model", CLI.fixtures.appendingPathComponent("configs/lfm2-350m").path, "--prompt-ids", "1"], "model.safetensors"),
            (["info", "--model", "/nonexistent"], "not found"),
            (["generate", "--prompt", ""], "the prompt is empty"),
            (["generate", "--prompt-ids", Array(repeating: "5", count: 1100).joined(separator: ","), "--max-tokens", "1"],
             "context length exceeded"),
            (["generate", "--model", try Self.otherArchitecture(), "--prompt-ids", "1"], "model_type 'mamba' is not supported"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.status < 128, "\(arguments) crashed")
        }
    }
}

/// The tokenizer and chat-template commands, run as a user would.
@Suite(.serialized) struct TextCommandTests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()

    /// A model folder with the real LFM2 tokenizer and chat template.
    static func modelFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-text-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: tests.appendingPathComponent("LFMTokenizerTests/Fixtures/lfm2/tokenizer.json"),
                                         to: folder.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: tests.appendingPathComponent("LFMChatTests/Fixtures/lfm2/chat_template.jinja"),
                                         to: folder.appendingPathComponent("chat_template.jinja"))
        let config = #"{"bos_token": "<|startoftext|>", "eos_token": "<|im_end|>", "pad_token": "<|pad|>"}"#
        try Data(config.utf8).write(to: folder.appendingPathComponent("tokenizer_config.json"))
        return folder
    }

    @Test func chatTemplateRendersExactlyLikeTransformers() throws {
        struct Case: Decodable { let name: String; let expected: String? }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: Self.tests.appendingPathComponent("LFMChatTests/Fixtures/chat_cases.json")))
        guard let reference = cases.first(where: { $0.name == "lfm2/single_user" }) else {
            Issue.record("fixture case missing"); return
        }
        let folder = try Self.modelFolder()
        let messages = folder.appendingPathComponent("messages.json")
        try Data(#"[{"role": "user", "content": "What is the capital of France?"}]"#.utf8).write(to: messages)
        let result = try CLI.run(["chat-template", "--model", folder.path, "--messages", messages.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == reference.expected)
    }

    @Test func tokenizeAndDetokenizeRoundTrip() throws {
        let folder = try Self.modelFolder()
        let text = "Hello, world! <|im_start|>user\nÇa va? 日本語 🙂"
        let plain = try CLI.run(["tokenize", "--model", folder.path, "--text", text, "--json"])
        #expect(plain.status == 0, "\(plain.stderr)")
        struct Ids: Decodable { let ids: [Int] }
        let ids = try JSONDecoder().decode(Ids.self, from: Data(plain.stdout.utf8)).ids
        #expect(ids.first != 1 && ids.contains(6))
        let special = try JSONDecoder().decode(Ids.self, from: Data(try CLI.run(["tokenize", "--model", folder.path, "--text", text, "--add-special", "--json"]).stdout.utf8)).ids
        #expect(special == [1] + ids)
        let back = try CLI.run(["detokenize", "--model", folder.path, "--ids", ids.map(String.init).joined(separator: ",")])
        #expect(back.status == 0)
        #expect(back.stdout.trimmingCharacters(in: .newlines) == text)
        let bad = try CLI.run(["tokenize", "--model", "/nonexistent", "--text", "x"])
        #expect(bad.status != 0 && bad.status < 128 && !bad.stderr.isEmpty)
    }
}

/// `lfm train`, from scratch and as LoRA fine-tuning, with the output loaded by `lfm generate`.
@Suite(.serialized) struct TrainCommandTests {
    static let tokenizer = TextCommandTests.tests.appendingPathComponent("LFMTokenizerTests/Fixtures/synthetic/gpt2-tiny/tokenizer.json")

    func workspace() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = String(repeating: "The licensee may copy the work. The work is provided as is, without warranty. ", count: 40)
        try Data(text.utf8).write(to: folder.appendingPathComponent("corpus.txt"))
        let config = """
        {"model": {"vocab_size": 608, "hidden_size": 24, "num_hidden_layers": 2, "num_attention_heads": 4,
          "num_key_value_heads": 2, "layer_types": ["conv", "full_attention"], "intermediate_size": 48,
          "block_auto_adjust_ff_dim": false, "max_position_embeddings": 256, "eos_token_id": 1, "bos_token_id": 0},
         "tokenizer": "\(Self.tokenizer.path)", "data": "corpus.txt", "out": "model",
         "steps": 12, "batch_size": 2, "ctx": 32, "lr": 1e-2, "warmup": 2, "eval_every": 12}
        """
        try Data(config.utf8).write(to: folder.appendingPathComponent("train.json"))
        return folder
    }

    struct StepLine: Decodable { let step: Int; let loss: Double; let val_loss: Double? }

    @Test func trainFromScratchThenGenerateAndFineTune() throws {
        let folder = try workspace()
        let result = try CLI.run(["train", "--config", folder.appendingPathComponent("train.json").path, "--json", "-t", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONDecoder().decode(StepLine.self, from: Data($0.utf8)) }
        #expect(lines.map(\.step) == Array(1...12))
        #expect(lines.last!.loss < lines.first!.loss)
        #expect(lines.last?.val_loss != nil)
        let model = folder.appendingPathComponent("model")
        let generated = try CLI.run(["generate", "--model", model.path, "--prompt", "The work", "--max-tokens", "5", "--temperature", "0"])
        #expect(generated.status == 0, "\(generated.stderr)")

        let lora = try CLI.run(["train", "--model", model.path, "--data", folder.appendingPathComponent("corpus.txt").path,
                                "--steps", "3", "--lr", "1e-2", "--ctx", "16", "--out", folder.appendingPathComponent("tuned").path,
                                "--lora", "4", "--lora-targets", "self_attn.q_proj,feed_forward.w1", "--json"])
        #expect(lora.status == 0, "\(lora.stderr)")
        let info = try CLI.run(["info", "--model", folder.appendingPathComponent("tuned").path, "--json"])
        #expect(info.status == 0 && info.stdout.contains("\"has_weights\": true"))
    }

    /// `--checkpoint-activations` recomputes each layer in the backward pass: the same losses step
    /// for step. `--precision bf16` trains (BF16 products) where the CPU has AVX512_BF16 and is a
    /// clean error elsewhere; an unknown precision is refused.
    @Test func trainingOptionsThroughTheBinary() throws {
        let folder = try workspace()
        let config = folder.appendingPathComponent("train.json").path
        func losses(_ extra: [String], out: String) throws -> (status: Int32, losses: [Double], stderr: String) {
            let result = try CLI.run(["train", "--config", config, "--json", "-t", "2", "--steps", "6",
                                      "--out", folder.appendingPathComponent(out).path] + extra)
            let lines = result.stdout.split(separator: "\n").compactMap { try? JSONDecoder().decode(StepLine.self, from: Data($0.utf8)) }
            return (result.status, lines.map(\.loss), result.stderr)
        }
        let plain = try losses([], out: "plain")
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.losses.count == 6)
        let checkpointed = try losses(["--checkpoint-activations"], out: "checkpointed")
        #expect(checkpointed.status == 0, "\(checkpointed.stderr)")
        #expect(checkpointed.losses == plain.losses)
        let bf16 = try losses(["--precision", "bf16"], out: "bf16")
        if bf16.status == 0 {
            #expect(bf16.losses.count == 6)
            #expect(abs(bf16.losses[0] - plain.losses[0]) < 2e-3)
            #expect(bf16.losses.last! < bf16.losses.first!)
        } else {
            #expect(bf16.status < 128 && bf16.stderr.lowercased().contains("bf16"), "\(bf16.stderr)")
        }
        let unknown = try CLI.run(["train", "--config", config, "--precision", "fp8"])
        #expect(unknown.status != 0 && unknown.status < 128 && unknown.stderr.contains("fp8"))
        // `--isa` trains on a slower kernel path this CPU has (the same products up to F32 summation
        // order), refuses a name it does not know, and BF16 products need the AVX-512 path.
        for isa in ["avx2", "portable"] {
            let forced = try losses(["--isa", isa], out: "isa-\(isa)")
            if forced.status != 0 && forced.stderr.contains("this CPU does not have it") { continue } // e.g. avx2 on ARM
            #expect(forced.status == 0 && forced.losses.count == 6, "\(isa): \(forced.stderr)")
            #expect(abs((forced.losses.first ?? 0) - plain.losses[0]) < 1e-3, "\(isa): \(forced.losses) vs \(plain.losses)")
            let bf16OnIt = try losses(["--isa", isa, "--precision", "bf16"], out: "isa-bf16-\(isa)")
            #expect(bf16OnIt.status != 0 && bf16OnIt.status < 128 && bf16OnIt.stderr.contains("AVX512_BF16"), "\(bf16OnIt.stderr)")
        }
        let bogus = try CLI.run(["train", "--config", config, "--isa", "sse9"])
        #expect(bogus.status != 0 && bogus.status < 128 && bogus.stderr.contains("--isa must be avx512, avx2 or portable (found 'sse9')"),
                "\(bogus.stderr)")
    }

    @Test func badTrainingInputsFailCleanly() throws {
        let folder = try workspace()
        try Data().write(to: folder.appendingPathComponent("empty.txt"))
        let cases: [[String]] = [
            ["train"],
            ["train", "--config", "/nonexistent.json"],
            ["train", "--config", folder.appendingPathComponent("train.json").path, "--data", folder.appendingPathComponent("empty.txt").path],
            ["train", "--model", "/nonexistent", "--data", "x.txt", "--out", "y"],
            ["train", "--config", folder.appendingPathComponent("train.json").path, "--steps", "0"],
        ]
        for arguments in cases {
            let result = try CLI.run(arguments)
            #expect(result.status != 0 && result.status < 128, "\(arguments)")
            #expect(!result.stderr.isEmpty)
        }
    }
}

/// The bundled default model: used when no model is given, and equal to transformers on it
/// (reference from Scripts/default-model/check_with_transformers.py).
@Suite(.serialized) struct DefaultModelTests {
    struct Reference: Decodable {
        let prompt: String
        let prompt_ids: [Int]
        let greedy_tokens: [Int]
        let greedy_text: String
    }

    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("DefaultModelReference.json")

    @Test func generateWithoutAModelUsesTheBundledOneAndMatchesTransformers() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.reference))
        let ids = try CLI.run(["generate", "--prompt", reference.prompt, "--max-tokens", "\(reference.greedy_tokens.count)",
                               "--temperature", "0", "--repeat-penalty", "1", "--ignore-eos", "--json"])
        #expect(ids.status == 0, "\(ids.stderr)")
        let output = try JSONDecoder().decode(GenerateOutput.self, from: Data(ids.stdout.utf8))
        #expect(output.prompt_ids == reference.prompt_ids)
        #expect(output.tokens == reference.greedy_tokens)

        let text = try CLI.run(["generate", "--prompt", reference.prompt, "--max-tokens", "\(reference.greedy_tokens.count)",
                                "--temperature", "0", "--repeat-penalty", "1", "--ignore-eos"])
        #expect(text.status == 0)
        #expect(text.stdout == reference.greedy_text + "\n")

        // Seeded sampling is repeatable through the binary.
        let a = try CLI.run(["generate", "--prompt", reference.prompt, "--max-tokens", "12", "--temperature", "0.8", "--seed", "7"])
        let b = try CLI.run(["generate", "--prompt", reference.prompt, "--max-tokens", "12", "--temperature", "0.8", "--seed", "7"])
        #expect(a.status == 0 && a.stdout == b.stdout && !a.stdout.isEmpty)
    }

    @Test func runChatsWithTheBundledModel() throws {
        let result = try CLI.run(["run", "--max-tokens", "8"], stdin: "Hello\n/reset\n/exit\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("conversation reset"))
    }

    @Test func theGGUFExportGivesTheSameTokens() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.reference))
        let gguf = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/lfm/DefaultModel/lfm2-docstrings-bf16.gguf")
        let result = try CLI.run(["generate", "--model", gguf.path, "--prompt", reference.prompt, "--max-tokens",
                                  "\(reference.greedy_tokens.count)", "--temperature", "0", "--repeat-penalty", "1", "--ignore-eos", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try JSONDecoder().decode(GenerateOutput.self, from: Data(result.stdout.utf8))
        #expect(output.tokens == reference.greedy_tokens)
    }
}

/// The JSON header of a safetensors file (name → {"dtype", "shape", "data_offsets"}).
private func safeTensorsHeader(_ url: URL) throws -> [String: Any] {
    let data = try Data(contentsOf: url)
    let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    return try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any] ?? [:]
}
