import Foundation

/// Server counters and gauges, rendered in the Prometheus text format (version 0.0.4) at
/// `GET /metrics`. Every series carries the constant labels `replica` and `model`, so the series of
/// several replicas scraped into one Prometheus stay apart. Guarded by `lock`.
public final class ServerMetrics: @unchecked Sendable {
    // @unchecked: every counter and gauge is only touched under `lock`.
    private let lock = NSLock()
    /// The constant labels, rendered once: `replica="…",model="…"`.
    let constantLabels: String
    private var requests: [String: [Int: Int]] = [:]   // route → status → count
    private var promptTokens = 0
    private var completionTokens = 0
    private var queueDepth = 0
    private var running = 0
    private var peakRunning = 0
    private var prefillTokens = 0
    private var prefillSeconds = 0.0
    private var decodeTokens = 0
    private var decodeSeconds = 0.0
    private var lastPrefillRate = 0.0
    private var lastDecodeRate = 0.0
    /// Upper bounds (seconds) of the time-to-first-token histogram buckets.
    static let ttftBuckets: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private var ttftCounts = [Int](repeating: 0, count: ServerMetrics.ttftBuckets.count)
    private var ttftSum = 0.0
    private var ttftCount = 0
    /// Upper bounds (seconds) of the request-duration histogram buckets.
    static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
    private var durations: [String: (counts: [Int], sum: Double, count: Int)] = [:]   // route → histogram

    /// Creates empty metrics whose series are labelled `replica` and `model`.
    public init(replica: String, model: String) {
        constantLabels = "replica=\"\(Self.escape(replica))\",model=\"\(Self.escape(model))\""
    }

    /// Metrics labelled `replica="local"` and an empty `model` (for an engine outside a server).
    public convenience init() { self.init(replica: "local", model: "") }

    /// A label value escaped the way the text format requires (backslash, quote, line feed).
    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    func recordRequest(route: String, status: Int) {
        locked { requests[route, default: [:]][status, default: 0] += 1 }
    }

    /// Seconds from a request's arrival until its handler returned (for a stream: its header, not its end).
    func recordDuration(route: String, seconds: Double) {
        locked {
            var h = durations[route] ?? (counts: [Int](repeating: 0, count: Self.durationBuckets.count), sum: 0, count: 0)
            for (i, bound) in Self.durationBuckets.enumerated() where seconds <= bound { h.counts[i] += 1 }
            h.sum += seconds
            h.count += 1
            durations[route] = h
        }
    }

    func recordCompletion(promptTokens p: Int, completionTokens c: Int) {
        locked { promptTokens += p; completionTokens += c }
    }

    func setQueueDepth(_ n: Int) { locked { queueDepth = n } }
    func setRunning(_ n: Int) { locked { running = n; peakRunning = max(peakRunning, n) } }
    func snapshotRunning() -> Int { locked { running } }
    func snapshotPeakRunning() -> Int { locked { peakRunning } }

    func recordPrefill(tokens: Int, seconds: Double) {
        locked {
            prefillTokens += tokens
            prefillSeconds += seconds
            if tokens > 0 { lastPrefillRate = Double(tokens) / max(seconds, 1e-9) }
        }
    }

    func recordDecode(tokens: Int, seconds: Double) {
        locked {
            decodeTokens += tokens
            decodeSeconds += seconds
            lastDecodeRate = Double(tokens) / max(seconds, 1e-9)
        }
    }

    func recordTimeToFirstToken(_ seconds: Double) {
        locked {
            for (i, bound) in Self.ttftBuckets.enumerated() where seconds <= bound { ttftCounts[i] += 1 }
            ttftSum += seconds
            ttftCount += 1
        }
    }

    /// The Prometheus exposition text; `phase` sets the `lfm_replica_phase` gauges (nil: no such series).
    public func render(phase: ReplicaPhase? = nil) -> String {
        locked {
            var out = ""
            let constant = constantLabels
            func metric(_ name: String, _ type: String, _ help: String) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            }
            func sample(_ name: String, _ labels: String, _ value: String) {
                out += "\(name){\(constant)\(labels.isEmpty ? "" : ",")\(labels)} \(value)\n"
            }
            func sample(_ name: String, _ labels: String, _ value: Int) { sample(name, labels, String(value)) }
            func sample(_ name: String, _ labels: String, _ value: Double) { sample(name, labels, Self.number(value)) }
            if let phase {
                metric("lfm_replica_phase", "gauge", "1 for the replica's current phase (loading, ready, draining), else 0.")
                for p in [ReplicaPhase.loading, .ready, .draining] { sample("lfm_replica_phase", "phase=\"\(p.rawValue)\"", p == phase ? 1 : 0) }
            }
            metric("lfm_http_requests_total", "counter", "HTTP requests by route and status.")
            for route in requests.keys.sorted() {
                for status in (requests[route] ?? [:]).keys.sorted() {
                    sample("lfm_http_requests_total", "route=\"\(Self.escape(route))\",status=\"\(status)\"", requests[route]?[status] ?? 0)
                }
            }
            metric("lfm_http_request_duration_seconds", "histogram",
                   "Seconds from a request's arrival until its response header (a stream's body continues after).")
            for route in durations.keys.sorted() {
                guard let h = durations[route] else { continue }
                let r = "route=\"\(Self.escape(route))\""
                for (i, bound) in Self.durationBuckets.enumerated() {
                    sample("lfm_http_request_duration_seconds_bucket", "\(r),le=\"\(Self.number(bound))\"", h.counts[i])
                }
                sample("lfm_http_request_duration_seconds_bucket", "\(r),le=\"+Inf\"", h.count)
                sample("lfm_http_request_duration_seconds_sum", r, h.sum)
                sample("lfm_http_request_duration_seconds_count", r, h.count)
            }
            metric("lfm_prompt_tokens_total", "counter", "Prompt tokens of finished generations.")
            sample("lfm_prompt_tokens_total", "", promptTokens)
            metric("lfm_completion_tokens_total", "counter", "Generated tokens of finished generations.")
            sample("lfm_completion_tokens_total", "", completionTokens)
            metric("lfm_queue_depth", "gauge", "Requests waiting for a batch slot.")
            sample("lfm_queue_depth", "", queueDepth)
            metric("lfm_running_sequences", "gauge", "Sequences in the running batch.")
            sample("lfm_running_sequences", "", running)
            metric("lfm_prefill_tokens_total", "counter", "Prompt tokens processed (prefix-cache hits excluded).")
            sample("lfm_prefill_tokens_total", "", prefillTokens)
            metric("lfm_prefill_seconds_total", "counter", "Seconds spent in prefill.")
            sample("lfm_prefill_seconds_total", "", prefillSeconds)
            metric("lfm_decode_tokens_total", "counter", "Tokens produced by batched decode steps.")
            sample("lfm_decode_tokens_total", "", decodeTokens)
            metric("lfm_decode_seconds_total", "counter", "Seconds spent in batched decode steps.")
            sample("lfm_decode_seconds_total", "", decodeSeconds)
            metric("lfm_prefill_tokens_per_second", "gauge", "Prefill speed of the latest prompt.")
            sample("lfm_prefill_tokens_per_second", "", lastPrefillRate)
            metric("lfm_decode_tokens_per_second", "gauge", "Tokens per second of the latest decode step (all sequences).")
            sample("lfm_decode_tokens_per_second", "", lastDecodeRate)
            metric("lfm_time_to_first_token_seconds", "histogram", "Seconds from request arrival to the first sampled token.")
            for (i, bound) in Self.ttftBuckets.enumerated() {
                sample("lfm_time_to_first_token_seconds_bucket", "le=\"\(Self.number(bound))\"", ttftCounts[i])
            }
            sample("lfm_time_to_first_token_seconds_bucket", "le=\"+Inf\"", ttftCount)
            sample("lfm_time_to_first_token_seconds_sum", "", ttftSum)
            sample("lfm_time_to_first_token_seconds_count", "", ttftCount)
            return out
        }
    }

    /// A sample value as the text format writes it (Go's ParseFloat reads it): finite numbers in
    /// Swift's shortest round-trip form, and `NaN`, `+Inf`, `-Inf`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }
}
