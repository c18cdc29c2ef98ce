@testable import LFMServer
import Testing

/// The one path normalisation that routing and authorisation share.
struct RoutePathTests {
    @Test func pathNormalisation() throws {
        #expect(try RoutePath.segments("//v1//chat/completions") == ["v1", "chat", "completions"])
        #expect(try RoutePath.segments("/v1/./chat/completions") == ["v1", "chat", "completions"])
        #expect(try RoutePath.segments("/v1/../v1/models") == ["v1", "models"])
        #expect(try RoutePath.segments("/../../v1/models") == ["v1", "models"])
        #expect(try RoutePath.segments("/%761/models") == ["v1", "models"])
        #expect(try RoutePath.segments("/v1%2Fmodels") == ["v1", "models"])
        #expect(try RoutePath.segments("/v1/%2e%2E/v1/models") == ["v1", "models"])
        #expect(try RoutePath.segments("v1/models") == ["v1", "models"])
        #expect(try RoutePath.segments("/") == [])
        #expect(throws: RoutePath.Malformed.self) { try RoutePath.segments("/v1/%zz") }
        #expect(throws: RoutePath.Malformed.self) { try RoutePath.segments("/v1/%ff%fe") }
        #expect(Endpoint(["V1", "Models"]) == .models)
        #expect(Endpoint(["v1", "models", "Tiny-LFM2"]) == .model("Tiny-LFM2"))
        #expect(Endpoint(["v1", "chat", "completions"]) == .chatCompletions)
        #expect(Endpoint(["HEALTH"]) == .health)
        #expect(Endpoint(["v1"]) == nil)
        #expect(Endpoint(["v1", "models", "a", "b"]) == nil)
    }
}
