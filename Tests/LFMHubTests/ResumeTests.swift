import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import LFMHub

@Suite struct ResumeTests {
    /// Leaves the first `count` bytes of the weights as a partial download, as an interrupted pull would.
    func seedPartial(_ hub: FakeHub, _ cache: HubCache, bytes: Data) throws -> URL {
        let weights = try #require(hub.file("model.safetensors"))
        let partial = cache.incompleteBlob(try hub.repo, etag: weights.sha256)
        try FileManager.default.createDirectory(at: partial.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.write(to: partial)
        return partial
    }

    @Test func partialBlobIsResumedFromItsExactSize() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let weights = try #require(hub.file("model.safetensors"))
        _ = try seedPartial(hub, cache, bytes: weights.content.prefix(65_537))
        let result = try await downloader(hub, cache).pull(try hub.repo)
        #expect(server.requests.filter { $0.path.hasPrefix("/cdn/") }.map { $0.headers["range"] } == ["bytes=65537-"])
        // The Range header went to the Hub first and survived its redirect to the CDN.
        #expect(server.requests.contains { $0.method == "GET" && $0.path.hasSuffix("/model.safetensors")
            && $0.headers["range"] == "bytes=65537-" })
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
    }

    @Test func serverIgnoringRangeRestartsFromZero() async throws {
        let hub = FakeHub.standard()
        hub.ignoreRange = true
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let weights = try #require(hub.file("model.safetensors"))
        _ = try seedPartial(hub, cache, bytes: weights.content.prefix(1000))
        let result = try await downloader(hub, cache).pull(try hub.repo)
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
    }

    @Test func garbagePartialLongerThanTheFileIsDiscarded() async throws {
        let hub = FakeHub.standard(weightsSize: 5000)
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let weights = try #require(hub.file("model.safetensors"))
        _ = try seedPartial(hub, cache, bytes: Data(repeating: 7, count: 6000))
        let result = try await downloader(hub, cache).pull(try hub.repo)
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
        #expect(server.requests.filter { $0.path.hasPrefix("/cdn/") }.allSatisfy { $0.headers["range"] == nil })
    }

    @Test func refusedResumeRangeIsAnErrorAndDropsThePartial() async throws {
        let hub = FakeHub.standard(weightsSize: 5000)
        hub.shortCDN = true // the CDN's copy is 10 bytes shorter than announced: resuming at 4995 gets HTTP 416
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let weights = try #require(hub.file("model.safetensors"))
        let partial = try seedPartial(hub, cache, bytes: weights.content.prefix(4995))
        do {
            _ = try await downloader(hub, cache).pull(try hub.repo)
            Issue.record("a refused resume was accepted")
        } catch let error as HubError {
            guard case .badResponse(_, let reason) = error else {
                Issue.record("expected badResponse, got \(error)")
                return
            }
            #expect(reason.contains("HTTP 416"))
        }
        #expect(!FileManager.default.fileExists(atPath: partial.path))
    }

    @Test func serverErrorsAreRetriedThenReported() async throws {
        let hub = FakeHub.standard(weightsSize: 5000)
        hub.unavailableCDNRequests = 2
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let weights = try #require(hub.file("model.safetensors"))
        let result = try await downloader(hub, cache, maxAttempts: 3).pull(try hub.repo)
        #expect(try contents(result.snapshot.appendingPathComponent("model.safetensors")) == weights.content)
        #expect(server.requests.filter { $0.path.hasPrefix("/cdn/") }.count == 3)

        let other = try makeTemporaryCache()
        hub.unavailableCDNRequests = 5
        await #expect(throws: HubError.httpStatus(url: "http://127.0.0.1:\(server.port)/cdn/\(weights.sha256)", status: 503,
                                                  serverMessage: "busy")) {
            try await downloader(hub, other, maxAttempts: 2).pull(try hub.repo)
        }
    }

    @Test func pullingACommitHashWritesNoRef() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let repo = try hub.repo
        let result = try await downloader(hub, cache).pull(repo, revision: hub.commit)
        #expect(result.commit == hub.commit)
        #expect(!FileManager.default.fileExists(atPath: cache.repoFolder(repo).appendingPathComponent("refs").path))
        #expect(try cache.resolveSnapshot(repo, revision: hub.commit) == result.snapshot)
        #expect(throws: HubError.self) { try cache.resolveSnapshot(repo) }
    }

    @Test func redirectsKeepRangeAndDropTheTokenOffHost() throws {
        var original = URLRequest(url: try #require(URL(string: "https://huggingface.co/a/b/resolve/main/m.safetensors")))
        original.setValue("Bearer hf_x", forHTTPHeaderField: "Authorization")
        original.setValue("bytes=10-", forHTTPHeaderField: "Range")
        let cdn = redirectedRequest(URLRequest(url: try #require(URL(string: "https://cdn-lfs.hf.co/x?sig=1"))), from: original)
        #expect(cdn.value(forHTTPHeaderField: "Authorization") == nil)
        #expect(cdn.value(forHTTPHeaderField: "Range") == "bytes=10-")
        let renamed = redirectedRequest(URLRequest(url: try #require(URL(string: "https://huggingface.co/c/b/resolve/main/m"))),
                                        from: original)
        #expect(renamed.value(forHTTPHeaderField: "Authorization") == "Bearer hf_x")
    }
}
