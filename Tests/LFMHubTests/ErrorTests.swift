import Foundation
import Testing
@testable import LFMHub

@Suite struct ErrorTests {
    @Test func unreachableEndpointIsReportedAsNoNetwork() async throws {
        let closed = try TestHTTPServer { _ in .init(status: 500) }
        closed.stop()
        let cache = try makeTemporaryCache()
        let puller = HubDownloader(client: HubClient(endpoint: closed.endpoint, timeout: 5), cache: cache)
        do {
            _ = try await puller.pull(try RepoID("TestOrg/tiny-model"))
            Issue.record("pull succeeded without a server")
        } catch let error as HubError {
            guard case .offline(let endpoint, _) = error else {
                Issue.record("expected offline, got \(error)")
                return
            }
            #expect(endpoint == closed.endpoint.absoluteString)
            #expect(error.description.hasPrefix("no network: cannot reach \(closed.endpoint.absoluteString)"))
        }
    }

    @Test func missingTokenGives401Error() async throws {
        let hub = FakeHub.standard()
        hub.requiredToken = "secret"
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        await #expect(throws: HubError.unauthorized(repo: "TestOrg/tiny-model", status: 401, tokenSent: false,
                                                    serverMessage: "Invalid credentials in Authorization header")) {
            try await downloader(hub, cache).pull(try hub.repo)
        }
        let wrong = try downloader(hub, cache, token: "nope")
        await #expect(throws: HubError.unauthorized(repo: "TestOrg/tiny-model", status: 401, tokenSent: true,
                                                    serverMessage: "Invalid credentials in Authorization header")) {
            try await wrong.pull(try hub.repo)
        }
        let result = try await downloader(hub, cache, token: "secret").pull(try hub.repo)
        #expect(result.downloaded.count == 3)
        #expect(server.requests.last?.headers["authorization"] == "Bearer secret")
    }

    @Test func unknownRepoRevisionAndFileGiveNotFoundErrors() async throws {
        let hub = FakeHub.standard()
        let server = try hub.start()
        defer { server.stop() }
        let cache = try makeTemporaryCache()
        let puller = try downloader(hub, cache)
        await #expect(throws: HubError.repoNotFound(repo: "TestOrg/missing")) {
            try await puller.pull(try RepoID("TestOrg/missing"))
        }
        await #expect(throws: HubError.revisionNotFound(repo: "TestOrg/tiny-model", revision: "v9")) {
            try await puller.pull(try hub.repo, revision: "v9")
        }
        hub.missingOnResolve = ["tokenizer.json"]
        await #expect(throws: HubError.fileNotFound(repo: "TestOrg/tiny-model", revision: hub.commit, path: "tokenizer.json")) {
            try await puller.pull(try hub.repo)
        }
        await #expect(throws: HubError.nothingSelected(repo: "TestOrg/tiny-model", patterns: ["*.bin"])) {
            try await puller.pull(try hub.repo, selection: FileSelection(include: ["*.bin"]))
        }
    }

    @Test func errorDescriptionsSayWhatToDo() {
        #expect(HubError.unauthorized(repo: "a/b", status: 401, tokenSent: false, serverMessage: nil).description
            .contains("set HF_TOKEN"))
        #expect(HubError.notCached(repo: "a/b", revision: "main", cacheFolder: "/c").description.contains("lfm pull a/b"))
        #expect(HubError.invalidRepoId("x").description.contains("ORG/NAME"))
    }
}
