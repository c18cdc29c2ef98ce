import Foundation
import Testing

/// `lfm info` on an LIV folder (config.json only) reports the genome, the R layers and their state.
@Suite(.serialized) struct LIVInfoTests {
    @Test func infoJSONCarriesTheGenome() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-liv-info-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let genome = "h32x4x8 C3:48 A2:48 S2g:40e4 R4:32"
        let config: [String: Any] = ["model_type": "lfm_liv", "genome": genome, "vocab_size": 100, "sliding_window": 16,
                                     "max_position_embeddings": 256]
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
        let result = try CLI.run(["info", "--model", folder.path, "--json", "--ctx", "64"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["architecture"] as? String == "lfm_liv")
        #expect(object?["genome"] as? String == genome)
        #expect(object?["genome_integers"] as? [Int] == [32, 4, 8, 0, 3, 0, 0, 48, 0, 1, 2, 0, 0, 48, 0, 2, 2, 0, 1, 40, 4,
                                                         3, 4, 0, 0, 32, 0])
        #expect(object?["layer_pattern"] as? String == "CASR")
        #expect(object?["attention_layers"] as? [Int] == [1, 2])
        #expect(object?["recurrent_state_bytes"] as? Int == 32 * 4)
        let text = try CLI.run(["info", "--model", folder.path])
        #expect(text.stdout.contains("1 recurrence") && text.stdout.contains(genome), "\(text.stdout)")
        // An invalid genome is a clear error naming the layer and field.
        var bad = config
        bad["genome"] = "h32x4x8 C3:48 A3:48"
        try JSONSerialization.data(withJSONObject: bad).write(to: folder.appendingPathComponent("config.json"))
        let failed = try CLI.run(["info", "--model", folder.path])
        #expect(failed.status != 0 && failed.stderr.contains("layer 1") && failed.stderr.contains("groups"), "\(failed.stderr)")
    }
}
