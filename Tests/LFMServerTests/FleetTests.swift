import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import LFMChat
import Logging
@testable import LFMServer
import Testing

/// Running as a fleet (issue 14): readiness while loading and draining, the drain itself, and
/// `/metrics` in the Prometheus text format with the replica's labels.
@Suite(.serialized) struct FleetTests {
    private static func loadingHost(apiKey: String? = nil) -> ReplicaHost {
        var options = ServerOptions(servedModel: "tiny-lfm2", apiKey: apiKey)
        options.replicaID = "r1"
        return ReplicaHost(options: options, metrics: ServerMetrics(replica: "r1", model: "tiny-lfm2"))
    }

    private static func readyServer(maxContext: Int = 1024) throws -> OpenAIServer {
        try TestModel.server(maxContext: maxContext) { $0.replicaID = "r1" }
    }

    @Test func healthIs503WhileLoadingAnd200OnceReady() async throws {
        let host = Self.loadingHost(apiKey: "k")
        #expect(host.phase == .loading)
        try await Application(router: host.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status.code == 503)
                #expect(response.headers[.retryAfter] == "1")
                let object = try json(response)
                #expect(object["status"]?.string == "loading")
                #expect(object["replica"]?.string == "r1")
            }
            // Public while loading too; generations are 503 "loading" (after the key check).
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try expectError(try await client.execute(uri: "/v1/models", method: .get) { $0 }, status: 401)
            var keyed = jsonHeaders
            keyed[.authorization] = "Bearer k"
            let loading = try await client.execute(uri: "/v1/chat/completions", method: .post,
                                                   headers: keyed, body: body(chatBody("Hi"))) { $0 }
            try expectError(loading, status: 503, code: "loading")
            #expect(loading.headers[.retryAfter] == "1")

            let server = try TestModel.server(apiKey: "k") { $0.replicaID = "r1" }
            defer { server.engine.shutdown() }
            host.install(server)
            #expect(host.phase == .ready)
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let object = try json(response)
                #expect(object["status"]?.string == "ok")
                #expect(object["model"]?.string == "tiny-lfm2")
                #expect(object["running"]?.int == 0)
                #expect(object["queued"]?.int == 0)
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer k"]) { #expect($0.status == .ok) }
        }
    }

    /// A drain lets a running stream finish with its finish_reason; meanwhile new generations get
    /// 503 with Retry-After and Connection: close (and the connection is closed after it), and
    /// /health says draining. Runs the application `lfm serve` runs (its guarded HTTP/1 channel).
    @Test func drainLetsARunningStreamFinishAndRefusesNewRequests() async throws {
        let server = try Self.readyServer()
        defer { server.engine.shutdown() }
        let host = ReplicaHost(server: server)
        var logger = Logger(label: "lfm.test")
        logger.logLevel = .critical
        let app = host.makeApplication(host: "127.0.0.1", port: 0, logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try RawConnection(port: port)
            defer { connection.hangUp() }
            let request = try chatBody("Tell me a long story", maxTokens: 300, stream: true).jsonString()
            connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(request.utf8.count)\r\n\r\n\(request)")
            let head = await onThread { connection.read(until: "\"content\"") }
            #expect(head.hasPrefix("HTTP/1.1 200"))
            try await eventually("generation running") { server.engine.runningCount == 1 }

            let drain = Task { await host.drain(timeout: 600) }
            try await eventually("draining") { host.phase == .draining }
            // On a raw socket (the test client refuses a connection that closes after its answer),
            // read to the end of the stream: the server closes the connection after the 503.
            let second = try TimedSocket(port: port)
            let chat = try chatBody("Hi").jsonString()
            second.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(chat.utf8.count)\r\n\r\n\(chat)")
            let (refused, closed) = await second.read(for: 30)
            #expect(closed, "the connection stayed open after the draining 503: \(refused)")
            #expect(refused.hasPrefix("HTTP/1.1 503"))
            #expect(refused.lowercased().contains("retry-after: 1"))
            #expect(refused.lowercased().contains("connection: close"))
            #expect(refused.contains("shutting_down"))
            let probe = try TimedSocket(port: port)
            probe.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let (health, healthClosed) = await probe.read(for: 30)
            #expect(health.hasPrefix("HTTP/1.1 503"), "\(health)")
            #expect(health.contains("\"draining\""), "\(health)")
            #expect(healthClosed)

            let rest = await onThread { connection.read(until: "\r\n0\r\n\r\n") }
            let events = dataLines(rest)
            #expect(events.last == "[DONE]")
            let finalText = try #require(events.dropLast().last)
            let final = try Value.parseJSON(finalText)
            #expect(final["choices"]?[0]?["finish_reason"]?.string == "length")
            let report = await drain.value
            #expect(report.finishedInTime)
            #expect(report.cutShort == 0)
            #expect(server.active.current == 0)
        }
    }

    /// At the deadline a stream still running is ended with an error event, not cut mid-chunk.
    @Test func drainDeadlineEndsARunningStreamWithAnErrorEvent() async throws {
        // Only the drain can end this generation (the context is far beyond what the test generates).
        let server = try TestModel.server(maxBatch: 1, maxQueue: 4, maxContext: 1_000_000)
        defer { server.engine.shutdown() }
        let host = ReplicaHost(server: server)
        let app = Application(router: host.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let connection = try RawConnection(port: port)
            defer { connection.hangUp() }
            let request = try chatBody("Tell me a very long story", maxTokens: 100_000, stream: true).jsonString()
            connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(request.utf8.count)\r\n\r\n\(request)")
            let head = await onThread { connection.read(until: "\"content\"") }
            #expect(head.hasPrefix("HTTP/1.1 200"))
            try await eventually("generation running") { server.engine.runningCount == 1 }
            let report = await host.drain(timeout: 0.2)
            #expect(!report.finishedInTime)
            #expect(report.cutShort == 1)
            let rest = await onThread { connection.read(until: "\r\n0\r\n\r\n") }
            let last = try #require(dataLines(rest).last)
            let error = try Value.parseJSON(last)["error"]
            #expect(error?["code"]?.string == "shutting_down")
            #expect(server.active.current == 0)
        }
    }

    /// `/metrics` parses as Prometheus text: every family declared once with HELP and TYPE before
    /// its samples, counters named `_total`, histograms with cumulative buckets ending in `+Inf`
    /// equal to `_count`, and every sample labelled with the replica and the model.
    @Test func metricsAreValidPrometheusTextWithReplicaLabels() async throws {
        let server = try Self.readyServer()
        defer { server.engine.shutdown() }
        let host = ReplicaHost(server: server)
        try await Application(router: host.makeRouter()).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: jsonHeaders, body: body(chatBody("Hi", maxTokens: 3))) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/nope", method: .get) { #expect($0.status.code == 404) }
            let text = try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            let exposition = try PrometheusText(text)
            #expect(exposition.types["lfm_http_requests_total"] == "counter")
            #expect(exposition.types["lfm_time_to_first_token_seconds"] == "histogram")
            #expect(exposition.types["lfm_http_request_duration_seconds"] == "histogram")
            for sample in exposition.samples {
                #expect(sample.labels["replica"] == "r1", "\(sample.name)")
                #expect(sample.labels["model"] == "tiny-lfm2", "\(sample.name)")
            }
            let ok = exposition.samples.first { $0.name == "lfm_http_requests_total" && $0.labels["route"] == "/v1/chat/completions" }
            #expect(ok?.labels["status"] == "200" && ok?.value == 1)
            let ready = exposition.samples.first { $0.name == "lfm_replica_phase" && $0.labels["phase"] == "ready" }
            #expect(ready?.value == 1)
            #expect(exposition.samples.contains { $0.name == "lfm_completion_tokens_total" && $0.value >= 1 })
        }
    }

    @Test func metricLabelValuesAreEscaped() throws {
        let metrics = ServerMetrics(replica: "a\"b\\c\nd", model: "m")
        let exposition = try PrometheusText(metrics.render(phase: .ready))
        #expect(exposition.samples.allSatisfy { $0.labels["replica"] == "a\"b\\c\nd" })
    }

    @Test func theParserRejectsInvalidText() {
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("x_total 1\n") }   // no TYPE
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("# TYPE x counter\nx 1\n") }   // counter not _total
        #expect(throws: PrometheusText.Invalid.self) { try PrometheusText("# TYPE x_total counter\nx_total{a=\"1} 1\n") }
        #expect(throws: PrometheusText.Invalid.self) {
            try PrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
        }
    }
}

/// Runs a blocking read on a thread of its own (a blocking read on one of the two cooperative
/// threads, while another suite holds the other, would leave the server no thread to answer on).
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// The `data:` payloads of a raw chunked SSE response (each event is one line; chunk sizes are skipped).
func dataLines(_ raw: String) -> [String] {
    raw.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).compactMap { line in
        line.hasPrefix("data: ") ? String(line.dropFirst(6)) : nil
    }
}

/// A small parser of the Prometheus text exposition format (0.0.4) that checks what a scraper relies on.
struct PrometheusText {
    struct Invalid: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    struct Sample {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []

    init(_ text: String) throws {
        var helped = Set<String>()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let n = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                guard parts.count >= 3 else { throw Invalid(line: n, reason: "short comment '\(line)'") }
                if parts[1] == "TYPE" {
                    guard types[parts[2]] == nil else { throw Invalid(line: n, reason: "second TYPE for \(parts[2])") }
                    guard samples.allSatisfy({ Self.family(of: $0.name, types: [parts[2]: ""]) == nil }) else {
                        throw Invalid(line: n, reason: "TYPE of \(parts[2]) after its samples")
                    }
                    let type = parts.count > 3 ? parts[3] : ""
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(type) else { throw Invalid(line: n, reason: "type '\(type)'") }
                    if type == "counter", !parts[2].hasSuffix("_total") { throw Invalid(line: n, reason: "counter \(parts[2]) does not end in _total") }
                    types[parts[2]] = type
                } else if parts[1] == "HELP" {
                    guard helped.insert(parts[2]).inserted else { throw Invalid(line: n, reason: "second HELP for \(parts[2])") }
                }
                continue
            }
            let sample = try Self.sample(String(line), line: n)
            guard Self.family(of: sample.name, types: types) != nil else { throw Invalid(line: n, reason: "\(sample.name) has no TYPE") }
            samples.append(sample)
        }
        try checkHistograms()
    }

    /// The declared family a sample name belongs to (a histogram's `_bucket`, `_sum`, `_count` too).
    static func family(of name: String, types: [String: String]) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] != nil { return base }
        }
        return nil
    }

    private static func sample(_ line: String, line n: Int) throws -> Sample {
        var rest = Substring(line)
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard !name.isEmpty, name.first?.isNumber == false else { throw Invalid(line: n, reason: "bad metric name in '\(line)'") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                guard !key.isEmpty else { throw Invalid(line: n, reason: "bad label name in '\(line)'") }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw Invalid(line: n, reason: "expected =\" after \(key)") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let c = rest.first else { throw Invalid(line: n, reason: "unterminated label value") }
                    rest = rest.dropFirst()
                    if c == "\"" { break }
                    if c == "\\" {
                        guard let e = rest.first else { throw Invalid(line: n, reason: "dangling escape") }
                        rest = rest.dropFirst()
                        switch e {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw Invalid(line: n, reason: "bad escape \\\(e)")
                        }
                    } else {
                        value.append(c)
                    }
                }
                guard labels.updateValue(value, forKey: String(key)) == nil else { throw Invalid(line: n, reason: "label \(key) twice") }
                if rest.first == "," { rest = rest.dropFirst() }
                guard rest.first != nil else { throw Invalid(line: n, reason: "unterminated label set") }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw Invalid(line: n, reason: "no space before the value in '\(line)'") }
        let fields = rest.split(separator: " ")
        guard (1...2).contains(fields.count) else { throw Invalid(line: n, reason: "expected a value and an optional timestamp") }
        let text = String(fields[0])
        let value: Double?
        switch text {
        case "+Inf": value = Double.infinity
        case "-Inf": value = -Double.infinity
        case "NaN": value = Double.nan
        default: value = Double(text)
        }
        guard let value else { throw Invalid(line: n, reason: "value '\(text)' is not a number") }
        return Sample(name: String(name), labels: labels, value: value)
    }

    /// Buckets cumulative with ascending `le`, ending in `+Inf` equal to `_count`, per label set.
    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var series: [String: [(Double, Double)]] = [:]
            var counts: [String: Double] = [:]
            for s in samples {
                let key = s.labels.filter { $0.key != "le" }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                if s.name == family + "_bucket" {
                    guard let le = s.labels["le"], let bound = le == "+Inf" ? Double.infinity : Double(le) else {
                        throw Invalid(line: 0, reason: "\(family) bucket without a numeric le")
                    }
                    series[key, default: []].append((bound, s.value))
                } else if s.name == family + "_count" {
                    counts[key] = s.value
                }
            }
            for (key, buckets) in series {
                guard buckets.last?.0 == .infinity else { throw Invalid(line: 0, reason: "\(family){\(key)} has no +Inf bucket") }
                for (a, b) in zip(buckets, buckets.dropFirst()) where !(a.0 < b.0 && a.1 <= b.1) {
                    throw Invalid(line: 0, reason: "\(family){\(key)} buckets are not ascending and cumulative")
                }
                guard counts[key] == buckets.last?.1 else { throw Invalid(line: 0, reason: "\(family){\(key)} +Inf bucket differs from _count") }
            }
        }
    }
}
