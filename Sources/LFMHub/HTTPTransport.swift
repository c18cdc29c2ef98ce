import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A finished HTTP exchange: status, headers (keys lowercased) and, unless streamed elsewhere, the body.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var url: URL
    var body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Which redirects a request follows.
enum RedirectPolicy: Sendable {
    /// Every redirect (downloads: the Hub sends large files to a CDN).
    case all
    /// Only redirects whose `Location` is relative (renamed repos), as huggingface_hub does for metadata requests,
    /// so that the Hub's own `X-Linked-*` headers are read before the CDN redirect.
    case relativeOnly
}

/// A transfer failure below HTTP (connection, DNS, timeout, dropped connection).
struct TransportError: Error {
    var urlError: URLError?
    var message: String
    /// Whether a response had started to arrive before the failure.
    var hadResponse: Bool
}

/// Runs one request on a private URLSession with a delegate, streaming the body to `onData` when given.
///
/// Built on delegate callbacks rather than the async convenience methods because those are incomplete in
/// swift-corelibs-foundation, and a download must see each chunk as it arrives.
func performHTTP(_ request: URLRequest, timeout: TimeInterval, redirects: RedirectPolicy,
                 onResponse: ((HTTPURLResponse) throws -> Void)? = nil,
                 onData: ((Data) throws -> Void)? = nil) async throws -> HTTPResult {
    let bridge = SessionBridge(redirects: redirects, onResponse: onResponse, onData: onData)
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = timeout
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    configuration.urlCache = nil
    let queue = OperationQueue()
    queue.maxConcurrentOperationCount = 1
    let session = URLSession(configuration: configuration, delegate: bridge, delegateQueue: queue)
    defer { session.finishTasksAndInvalidate() }
    let task = session.dataTask(with: request)
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResult, Error>) in
            bridge.start(task, continuation: continuation)
        }
    } onCancel: {
        task.cancel()
    }
}

/// The URLSession delegate behind ``performHTTP``; all callbacks arrive on one serial queue.
private final class SessionBridge: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: `continuation` is guarded by `lock`; `response`, `collected` and `callbackError` change only in delegate callbacks, which run on one serial queue.
    private let redirects: RedirectPolicy
    private let onResponse: ((HTTPURLResponse) throws -> Void)?
    private let onData: ((Data) throws -> Void)?
    private var continuation: CheckedContinuation<HTTPResult, Error>?
    private var response: HTTPURLResponse?
    private var collected = Data()
    private var callbackError: Error?
    private let lock = NSLock()

    init(redirects: RedirectPolicy, onResponse: ((HTTPURLResponse) throws -> Void)?, onData: ((Data) throws -> Void)?) {
        self.redirects = redirects
        self.onResponse = onResponse
        self.onData = onData
    }

    func start(_ task: URLSessionDataTask, continuation: CheckedContinuation<HTTPResult, Error>) {
        lock.lock()
        self.continuation = continuation
        lock.unlock()
        task.resume()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        switch redirects {
        case .all:
            completionHandler(redirectedRequest(request, from: task.originalRequest))
        case .relativeOnly:
            let location = response.value(forHTTPHeaderField: "Location") ?? ""
            let isRelative = URL(string: location)?.host == nil && !location.isEmpty
            if !isRelative { self.response = response }
            completionHandler(isRelative ? request : nil)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else {
            completionHandler(.cancel)
            return
        }
        self.response = http
        do {
            try onResponse?(http)
            completionHandler(.allow)
        } catch {
            callbackError = error
            completionHandler(.cancel)
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard callbackError == nil else { return }
        if let onData, let status = response?.statusCode, (200..<300).contains(status) {
            do {
                try onData(data)
            } catch {
                callbackError = error
                dataTask.cancel()
            }
        } else if collected.count < 16 << 20 {
            collected.append(data)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        guard let continuation else { return }
        let http = response ?? (task.response as? HTTPURLResponse)
        if let callbackError {
            continuation.resume(throwing: callbackError)
        } else if let error {
            if let http, (300..<400).contains(http.statusCode), case .relativeOnly = redirects {
                // A refused redirect may surface as an error on some Foundation versions: the 3xx is the answer.
                continuation.resume(returning: HTTPResult(http, body: collected))
                return
            }
            let urlError = error as? URLError
            continuation.resume(throwing: TransportError(urlError: urlError, message: describe(error),
                                                         hadResponse: http != nil))
        } else if let http {
            continuation.resume(returning: HTTPResult(http, body: collected))
        } else {
            continuation.resume(throwing: TransportError(urlError: nil, message: "no HTTP response", hadResponse: false))
        }
    }

    private func describe(_ error: Error) -> String {
        if let urlError = error as? URLError {
            return "\(urlError.localizedDescription) [URLError \(urlError.code.rawValue)]"
        }
        return "\(error)"
    }
}

extension HTTPResult {
    init(_ response: HTTPURLResponse, body: Data) {
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        self.init(status: response.statusCode, headers: headers, url: response.url ?? URL(fileURLWithPath: "/"), body: body)
    }
}

/// The request to send after a redirect: the original's Range and Accept-Encoding headers kept, its credentials
/// dropped when the redirect leaves the original host (a CDN's signed URL must not receive the Hub token).
func redirectedRequest(_ request: URLRequest, from original: URLRequest?) -> URLRequest {
    var next = request
    if let range = original?.value(forHTTPHeaderField: "Range"), next.value(forHTTPHeaderField: "Range") == nil {
        next.setValue(range, forHTTPHeaderField: "Range")
    }
    if let encoding = original?.value(forHTTPHeaderField: "Accept-Encoding") {
        next.setValue(encoding, forHTTPHeaderField: "Accept-Encoding")
    }
    let sameHost = original?.url?.host == next.url?.host && original?.url?.port == next.url?.port
    if sameHost, let authorization = original?.value(forHTTPHeaderField: "Authorization") {
        next.setValue(authorization, forHTTPHeaderField: "Authorization")
    } else if !sameHost {
        next.setValue(nil, forHTTPHeaderField: "Authorization")
    }
    return next
}

