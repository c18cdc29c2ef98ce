import Foundation
import Testing
@testable import LFMHub

@Suite struct CacheTests {
    @Test func cacheRootFollowsHuggingFaceEnvironmentVariables() {
        #expect(HubCache.fromEnvironment(["HF_HUB_CACHE": "/x/hub", "HF_HOME": "/y"]).root.path == "/x/hub")
        #expect(HubCache.fromEnvironment(["HF_HOME": "/y"]).root.path == "/y/hub")
        #expect(HubCache.fromEnvironment(["XDG_CACHE_HOME": "/z", "HOME": "/h"]).root.path == "/z/huggingface/hub")
        #expect(HubCache.fromEnvironment(["HOME": "/h"]).root.path == "/h/.cache/huggingface/hub")
    }

    @Test func clientReadsEndpointAndToken() throws {
        let client = try HubClient.fromEnvironment(["HF_ENDPOINT": "http://127.0.0.1:8080/", "HF_TOKEN": "t"])
        #expect(client.endpoint.absoluteString == "http://127.0.0.1:8080")
        #expect(client.token == "t")
        let empty = ["HOME": "/nonexistent-home"]
        #expect(try HubClient.fromEnvironment(empty).endpoint.absoluteString == "https://huggingface.co")
        #expect(try HubClient.fromEnvironment(empty).token == nil)
        // Without HF_TOKEN, the token saved by `hf auth login` under HF_HOME (or HF_TOKEN_PATH) is used.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("lfmhub-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try Data("hf_saved\n".utf8).write(to: home.appendingPathComponent("token"))
        #expect(try HubClient.fromEnvironment(["HF_HOME": home.path]).token == "hf_saved")
        #expect(try HubClient.fromEnvironment(["HF_HOME": home.path, "HF_TOKEN": "env"]).token == "env")
        #expect(try HubClient.fromEnvironment(["HF_TOKEN_PATH": home.appendingPathComponent("token").path]).token == "hf_saved")
        #expect(throws: HubError.self) { try HubClient.fromEnvironment(["HF_ENDPOINT": "ftp://x"]) }
        let url = try client.resolveURL(try RepoID("a/b"), revision: "refs/pr/1", path: "sub dir/f.json")
        #expect(url.absoluteString == "http://127.0.0.1:8080/a/b/resolve/refs%2Fpr%2F1/sub%20dir/f.json")
    }

    @Test func repoIDsAreValidated() throws {
        #expect(try RepoID("LiquidAI/LFM2-350M").cacheFolderName == "models--LiquidAI--LFM2-350M")
        for bad in ["LFM2", "a/b/c", "/b", "a/", "../b", "a/..", "a b/c", "./model"] {
            #expect(throws: HubError.invalidRepoId(bad)) { try RepoID(bad) }
        }
    }

    @Test func snapshotPathsNameTheirRepo() {
        let commit = "0123456789abcdef0123456789abcdef01234567"
        #expect(RepoID(snapshotPath: "/c/hub/models--LiquidAI--LFM2-350M/snapshots/\(commit)")?.description == "LiquidAI/LFM2-350M")
        #expect(RepoID(snapshotPath: "/c/hub/models--LiquidAI--LFM2-350M/snapshots/\(commit)/")?.description == "LiquidAI/LFM2-350M")
        #expect(RepoID(snapshotPath: "/models/LFM2-350M") == nil)
        #expect(RepoID(snapshotPath: "/c/hub/datasets--a--b/snapshots/\(commit)") == nil)
        #expect(RepoID(snapshotPath: "/c/hub/models--a--b/snapshots/main") == nil)
    }

    @Test func etagsAreNormalized() {
        #expect(HubClient.normalizeETag("W/\"abc\"") == "abc")
        #expect(HubClient.normalizeETag("\"abc\"") == "abc")
        #expect(HubClient.normalizeETag("abc") == "abc")
    }

    @Test func unsafeRepoPathsAreRejected() {
        let json = #"{"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [{"rfilename": "../../etc/x"}]}"#
        #expect(throws: HubError.self) { try HubClient.parseRepoInfo(Data(json.utf8), url: "u") }
        #expect(throws: HubError.self) { try HubClient.parseRepoInfo(Data("[]".utf8), url: "u") }
    }

    @Test func pulledRepoResolvesOfflineByItsID() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        let cache = try makeTemporaryCache()
        let pulled = try await downloader(hub, cache).pull(try hub.repo)
        server.stop()
        // No server now: resolution reads only refs/ and snapshots/.
        #expect(try cache.resolveSnapshot(try hub.repo) == pulled.snapshot)
        #expect(try cache.resolveSnapshot(try hub.repo, revision: hub.commit) == pulled.snapshot)
        #expect(try cache.resolveModelArgument("TestOrg/tiny-model") == pulled.snapshot.path)
        let config = try Data(contentsOf: URL(fileURLWithPath: try cache.resolveModelArgument("TestOrg/tiny-model"))
            .appendingPathComponent("config.json"))
        #expect(config == Data(#"{"model_type": "lfm2"}"#.utf8))
        #expect(throws: HubError.notCached(repo: "TestOrg/other", revision: "main",
                                           cacheFolder: cache.root.appendingPathComponent("models--TestOrg--other").path)) {
            try cache.resolveModelArgument("TestOrg/other")
        }
        #expect(throws: HubError.self) { try cache.resolveSnapshot(try hub.repo, revision: "v2") }
    }

    @Test func existingPathsAndNonRepoArgumentsPassThrough() throws {
        let cache = try makeTemporaryCache()
        // A folder named like a repo id wins over the cache (checked relative to the current directory).
        #expect(try cache.resolveModelArgument("Org/model", fileExists: { $0 == "Org/model" }) == "Org/model")
        #expect(throws: HubError.self) { try cache.resolveModelArgument("Org/model", fileExists: { _ in false }) }
        #expect(try cache.resolveModelArgument("/no/such/folder") == "/no/such/folder")
        #expect(try cache.resolveModelArgument("model.gguf") == "model.gguf")
    }
}

@Suite struct SelectionTests {
    @Test func defaultSelectionPicksWhatAModelFolderNeeds() {
        let selection = FileSelection()
        for path in ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                     "special_tokens_map.json", "model.safetensors", "model-00001-of-00002.safetensors",
                     "model.safetensors.index.json"] {
            #expect(selection.contains(path), "\(path)")
        }
        for path in ["README.md", ".gitattributes", "model.gguf", "pytorch_model.bin", "onnx/model.onnx"] {
            #expect(!selection.contains(path), "\(path)")
        }
    }

    @Test func globsBehaveLikeFnmatch() {
        #expect(FileSelection.glob("*.gguf", matches: "LFM2-350M-Q4_0.gguf"))
        #expect(FileSelection.glob("*.gguf", matches: "sub/x.gguf")) // '*' crosses '/', as in Python's fnmatch
        #expect(FileSelection.glob("LFM2-350M-Q4_0.gguf", matches: "LFM2-350M-Q4_0.gguf"))
        #expect(!FileSelection.glob("LFM2-350M-Q4_0.gguf", matches: "LFM2-350M-Q8_0.gguf"))
        #expect(FileSelection.glob("*Q[48]_0*", matches: "m-Q8_0.gguf"))
        #expect(!FileSelection.glob("*Q[!48]_0*", matches: "m-Q8_0.gguf"))
        #expect(FileSelection.glob("*Q[0-5]_K*", matches: "m-Q4_K_M.gguf"))
        #expect(FileSelection.glob("model-?????-of-*.safetensors", matches: "model-00001-of-00002.safetensors"))
        #expect(!FileSelection.glob("model-?????-of-*.safetensors", matches: "model-001-of-002.safetensors"))
        #expect(FileSelection.glob("*", matches: ""))
        #expect(!FileSelection.glob("a*b", matches: "acbd"))
        #expect(FileSelection.glob("a*b*c", matches: "abxbxc"))
        #expect(FileSelection.glob("[", matches: "["))
        #expect(FileSelection(include: ["*.gguf"]).patterns == ["*.gguf"])
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hexDigest(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest(of: Array("abc".utf8))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hexDigest(of: [UInt8](repeating: 0x61, count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func chunkedUpdatesMatchOneShot() {
        var generator = SplitMix(seed: 7)
        let data = (0..<1000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let whole = SHA256.hexDigest(of: data)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 500, 999, 1000] {
            var hasher = SHA256()
            data[..<split].withUnsafeBytes { hasher.update(bytes: $0) }
            hasher.update(data[split...])
            #expect(SHA256.hex(hasher.finalize()) == whole, "split at \(split)")
        }
        // Lengths around the padding boundary.
        for length in 54...66 {
            var one = SHA256()
            one.update(data.prefix(length))
            var bytewise = SHA256()
            for byte in data.prefix(length) { bytewise.update([byte]) }
            #expect(one.finalize() == bytewise.finalize())
        }
    }
}

@Suite struct ProgressLineTests {
    @Test func rendersBytesRateAndETA() {
        let line = ProgressLine(barWidth: 10).render(name: "model.safetensors", received: 500_000_000, total: 1_000_000_000,
                                                     rate: 50_000_000)
        #expect(line.contains("500.0 MB / 1.0 GB"))
        #expect(line.contains("[=====>    ]"))
        #expect(line.contains(" 50%"))
        #expect(line.contains("50.0 MB/s"))
        #expect(line.contains("ETA 0:10"))
        #expect(ProgressLine.bytes(999) == "999 B")
        #expect(ProgressLine.bytes(1536) == "1.5 KB")
        #expect(ProgressLine.duration(3725) == "1:02:05")
        #expect(ProgressLine(barWidth: 4).render(name: "f", received: 10, total: 10, rate: nil).contains("[====]"))
    }
}
