import Foundation

/// Server counters and gauges, rendered in the Prometheus text format at `GET /metrics`.
public final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
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

    /// Creates empty metrics.
    public init() {}

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    func recordRequest(route: String, status: Int) {
        locked { requests[route, default: [:]][status, default: 0] += 1 }
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

    /// The Prometheus exposition text.
    public func render() -> String {
        locked {
            var out = ""
            func metric(_ name: String, _ type: String, _ help: String) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            }
            metric("lfm_http_requests_total", "counter", "HTTP requests by route and status.")
            for route in requests.keys.sorted() {
                for status in (requests[route] ?? [:]).keys.sorted() {
                    out += "lfm_http_requests_total{route=\"\(route)\",status=\"\(status)\"} \(requests[route]?[status] ?? 0)\n"
                }
            }
            metric("lfm_prompt_tokens_total", "counter", "Prompt tokens of finished generations.")
            out += "lfm_prompt_tokens_total \(promptTokens)\n"
            metric("lfm_completion_tokens_total", "counter", "Generated tokens of finished generations.")
            out += "lfm_completion_tokens_total \(completionTokens)\n"
            metric("lfm_queue_depth", "gauge", "Requests waiting for a batch slot.")
            out += "lfm_queue_depth \(queueDepth)\n"
            metric("lfm_running_sequences", "gauge", "Sequences in the running batch.")
            out += "lfm_running_sequences \(running)\n"
            metric("lfm_prefill_tokens_total", "counter", "Prompt tokens processed (prefix-cache hits excluded).")
            out += "lfm_prefill_tokens_total \(prefillTokens)\n"
            metric("lfm_prefill_seconds_total", "counter", "Seconds spent in prefill.")
            out += "lfm_prefill_seconds_total \(prefillSeconds)\n"
            metric("lfm_decode_tokens_total", "counter", "Tokens produced by batched decode steps.")
            out += "lfm_decode_tokens_total \(decodeTokens)\n"
            metric("lfm_decode_seconds_total", "counter", "Seconds spent in batched decode steps.")
            out += "lfm_decode_seconds_total \(decodeSeconds)\n"
            metric("lfm_prefill_tokens_per_second", "gauge", "Prefill speed of the latest prompt.")
            out += "lfm_prefill_tokens_per_second \(lastPrefillRate)\n"
            metric("lfm_decode_tokens_per_second", "gauge", "Tokens per second of the latest decode step (all sequences).")
            out += "lfm_decode_tokens_per_second \(lastDecodeRate)\n"
            metric("lfm_time_to_first_token_seconds", "histogram", "Seconds from request arrival to the first sampled token.")
            for (i, bound) in Self.ttftBuckets.enumerated() {
                out += "lfm_time_to_first_token_seconds_bucket{le=\"\(bound)\"} \(ttftCounts[i])\n"
            }
            out += "lfm_time_to_first_token_seconds_bucket{le=\"+Inf\"} \(ttftCount)\n"
            out += "lfm_time_to_first_token_seconds_sum \(ttftSum)\n"
            out += "lfm_time_to_first_token_seconds_count \(ttftCount)\n"
            return out
        }
    }
}
