import Foundation
import Testing
@testable import LFMHub

/// A fresh temporary cache folder per test.
func makeTemporaryCache() throws -> HubCache {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfmhub-\(UUID().uuidString)/hub")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return HubCache(root: folder)
}

func downloader(_ hub: FakeHub, _ cache: HubCache, token: String? = nil, maxAttempts: Int = 5) throws -> HubDownloader {
    let server = try #require(hub.server)
    return HubDownloader(client: HubClient(endpoint: server.endpoint, token: token, timeout: 10), cache: cache,
                         maxAttempts: maxAttempts)
}

func contents(_ url: URL) throws -> Data { try Data(contentsOf: url) }

@Suite struct PullTests {
    @Test func fullPullProducesTheHuggingFaceCacheLayout() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let repo = try hub.repo
        let result = try await downloader(hub, cache).pull(repo)

        #expect(result.commit == hub.commit)
        #expect(result.files == ["config.json", "tokenizer.json", "model.safetensors"])
        #expect(result.downloaded == result.files)
        let folder = cache.root.appendingPathComponent("models--TestOrg--tiny-model")
        #expect(result.snapshot == folder.appendingPathComponent("snapshots/\(hub.commit)"))
        // refs/main holds the commit, without a newline.
        #expect(try String(contentsOf: folder.appendingPathComponent("refs/main"), encoding: .utf8) == hub.commit)
        // Blobs are named by ETag: the SHA-256 for the LFS file, the git id for the others.
        let blobNames = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("blobs").path).sorted()
        let expectedBlobs = try ["config.json", "tokenizer.json"].map { try #require(hub.file($0)).gitETag }
            + [try #require(hub.file("model.safetensors")).sha256]
        #expect(blobNames == expectedBlobs.sorted())
        for path in result.files {
            let file = try #require(hub.file(path))
            let pointer = result.snapshot.appendingPathComponent(path)
            let etag = file.lfs ? file.sha256 : file.gitETag
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: pointer.path) == "../../blobs/\(etag)")
            #expect(try contents(pointer) == file.content)
        }
        #expect(!FileManager.default.fileExists(atPath: result.snapshot.appendingPathComponent("README.md").path))
        #expect(try String(contentsOf: cache.root.appendingPathComponent("CACHEDIR.TAG"), encoding: .utf8)
            .hasPrefix("Signature: 8a477f597d28d172789f06886806bc55\n"))
        // The LFS file came from the CDN after the Hub's redirect.
        #expect(server.requests.contains { $0.method == "GET" && $0.path.hasPrefix("/cdn/") })
        #expect(server.requests.contains { $0.method == "HEAD" && $0.path.hasSuffix("/resolve/\(hub.commit)/model.safetensors") })
    }

    @Test func secondPullDownloadsNothing() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let puller = try downloader(hub, cache)
        _ = try await puller.pull(try hub.repo)
        let before = server.requests.count
        let second = try await puller.pull(try hub.repo)
        #expect(second.downloaded.isEmpty)
        let later = server.requests.dropFirst(before)
        #expect(later.count == 1)
        #expect(later.allSatisfy { $0.path.hasPrefix("/api/models/") })
    }

    @Test func nestedIncludePatternLinksWithTheRightDepth() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let result = try await downloader(hub, cache).pull(try hub.repo, selection: FileSelection(include: ["*.gguf"]))
        #expect(result.files == ["gguf/tiny-Q4_0.gguf"])
        let pointer = result.snapshot.appendingPathComponent("gguf/tiny-Q4_0.gguf")
        let sha = try #require(hub.file("gguf/tiny-Q4_0.gguf")).sha256
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: pointer.path) == "../../../blobs/\(sha)")
        #expect(try contents(pointer) == Data("GGUF-fake".utf8))
    }

    @Test func droppedConnectionIsResumedWithARangeRequest() async throws {
        let hub = FakeHub.standard()
        hub.dropFirstCDNAfter = 100_000
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let result = try await downloader(hub, cache).pull(try hub.repo)
        let weights = try #require(hub.file("model.safetensors"))
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
        let cdnGets = server.requests.filter { $0.path.hasPrefix("/cdn/") }
        #expect(cdnGets.count == 2)
        let range = try #require(cdnGets.last?.headers["range"])
        let start = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
        #expect(range.hasPrefix("bytes=") && start > 0 && start <= 100_000)
    }

    @Test func interruptedPullIsResumedByTheNextPull() async throws {
        let hub = FakeHub.standard()
        hub.dropFirstCDNAfter = 120_000
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let repo = try hub.repo
        let weights = try #require(hub.file("model.safetensors"))
        await #expect(throws: HubError.self) { try await downloader(hub, cache, maxAttempts: 1).pull(repo) }
        let partial = cache.incompleteBlob(repo, etag: weights.sha256)
        let kept = try #require(fileSize(partial))
        #expect(kept > 0 && kept <= 120_000)
        #expect(try contents(partial) == weights.content.prefix(Int(kept)))
        #expect(!FileManager.default.fileExists(atPath: cache.ref(repo, revision: "main").path))

        let result = try await downloader(hub, cache).pull(repo)
        #expect(server.requests.last { $0.path.hasPrefix("/cdn/") }?.headers["range"] == "bytes=\(kept)-")
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }

    @Test func wrongChecksumIsAnErrorAndLeavesNoSnapshotEntry() async throws {
        let hub = FakeHub.standard()
        hub.corruptCDN = true
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let repo = try hub.repo
        let weights = try #require(hub.file("model.safetensors"))
        do {
            _ = try await downloader(hub, cache).pull(repo)
            Issue.record("a corrupt download was accepted")
        } catch let error as HubError {
            guard case .checksumMismatch(let path, let expected, let found) = error else {
                Issue.record("expected checksumMismatch, got \(error)")
                return
            }
            #expect(path == "model.safetensors" && expected == weights.sha256 && found != expected)
        }
        try expectNoTrace(of: "model.safetensors", etag: weights.sha256, repo: repo, commit: hub.commit, cache: cache)
    }

    @Test func wrongSizeIsAnErrorAndLeavesNoSnapshotEntry() async throws {
        let hub = FakeHub.standard()
        hub.shortCDN = true
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let repo = try hub.repo
        let weights = try #require(hub.file("model.safetensors"))
        do {
            _ = try await downloader(hub, cache, maxAttempts: 2).pull(repo)
            Issue.record("a short download was accepted")
        } catch let error as HubError {
            switch error {
            case .sizeMismatch(let path, let expected, _), .transferFailed(let path, _, .some(let expected), _):
                #expect(path == "model.safetensors" && expected == Int64(weights.content.count))
            default: Issue.record("expected a size error, got \(error)")
            }
        }
        let snapshotEntry = cache.snapshot(repo, commit: hub.commit).appendingPathComponent("model.safetensors")
        #expect((try? FileManager.default.attributesOfItem(atPath: snapshotEntry.path)) == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.blob(repo, etag: weights.sha256).path))
        #expect(!FileManager.default.fileExists(atPath: cache.ref(repo, revision: "main").path))
    }

    func expectNoTrace(of path: String, etag: String, repo: RepoID, commit: String, cache: HubCache) throws {
        let snapshotEntry = cache.snapshot(repo, commit: commit).appendingPathComponent(path)
        #expect((try? FileManager.default.attributesOfItem(atPath: snapshotEntry.path)) == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.blob(repo, etag: etag).path))
        #expect(!FileManager.default.fileExists(atPath: cache.incompleteBlob(repo, etag: etag).path))
        #expect(!FileManager.default.fileExists(atPath: cache.ref(repo, revision: "main").path))
    }
}
