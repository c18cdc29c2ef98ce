import ArgumentParser
import Foundation
import LFMHub

/// `lfm pull ORG/NAME`: downloads a model repo into the Hugging Face cache.
struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a model from the Hugging Face Hub into the local Hugging Face cache.",
        discussion: """
        Files go where huggingface_hub puts them ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), \
        so Python tools share them. Afterwards `lfm run`, `lfm generate --model` and `lfm bench --model` accept ORG/NAME, offline.
        Default files: \(FileSelection.defaultPatterns.joined(separator: ", ")).
        HF_ENDPOINT sets the Hub's URL; HF_TOKEN (else the token saved by `hf auth login`) is sent for private or gated repos.
        An interrupted pull resumes where it stopped when run again.
        """
    )

    @Argument(help: "The model repo, ORG/NAME (e.g. LiquidAI/LFM2-350M).")
    var repo: String

    @Option(name: .long, help: "Branch, tag or commit hash.")
    var revision = "main"

    @Option(name: .long, parsing: .upToNextOption,
            help: "Glob patterns of the files to download, instead of the defaults (e.g. \"*.gguf\" or one file name).")
    var include: [String] = []

    func run() async throws {
        let id = try RepoID(repo)
        let client = try HubClient.fromEnvironment()
        let cache = HubCache.fromEnvironment()
        let downloader = HubDownloader(client: client, cache: cache)
        let display = PullDisplay()
        let result: PullResult
        do {
            result = try await downloader.pull(id, revision: revision, selection: FileSelection(include: include),
                                               onEvent: { display.handle($0) })
        } catch {
            display.finishLine()
            throw error // ArgumentParser prints the HubError's description and exits with status 1
        }
        display.finishLine()
        let fetched = result.downloaded.count
        printError("\(id) @ \(result.commit): \(result.files.count) files, \(fetched) downloaded, "
            + "\(result.files.count - fetched) already cached")
        print(result.snapshot.path)
    }
}

/// Renders pull events on standard error: one progress line per file, redrawn in place at most ten times a second.
private final class PullDisplay: @unchecked Sendable {
    // @unchecked: the drawing state is only touched under `lock`.
    private let lock = NSLock()
    private let line = ProgressLine()
    private var startTime = Date()
    private var startBytes: Int64 = 0
    private var lastDraw = Date.distantPast
    private var lineOpen = false
    private var frozenRate: Double?
    private var lastSize: Int64?
    private let interactive = isatty(2) != 0

    func handle(_ event: PullEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .resolved(let commit, let files):
            let total = files.compactMap(\.size).reduce(0, +)
            write("resolved \(commit): \(files.count) files, \(ProgressLine.bytes(total))\n")
        case .cached(let path, let size):
            closeLine()
            write("\(path): cached (\(ProgressLine.bytes(size)))\n")
        case .started(let path, let size, let resumedFrom):
            closeLine()
            startTime = Date()
            startBytes = resumedFrom
            frozenRate = nil
            if resumedFrom > 0 { write("\(path): resuming at \(ProgressLine.bytes(resumedFrom))\n") }
            draw(path: path, received: resumedFrom, size: size, force: false)
        case .waiting(let path):
            closeLine()
            write("\(path): another pull is downloading it; waiting\n")
        case .progress(let path, let received, let size):
            lastSize = received
            draw(path: path, received: received, size: size, force: false)
        case .retrying(let path, let received, let reason):
            closeLine()
            write("\(path): connection lost at \(ProgressLine.bytes(received)) (\(reason)); retrying\n")
        case .verifying(let path):
            let elapsed = Date().timeIntervalSince(startTime)
            if let size = lastSize, elapsed > 0 { frozenRate = Double(size - startBytes) / elapsed }
            if !interactive { write("\(path): checking SHA-256\n") }
        case .finished(let path, let size):
            draw(path: path, received: size, size: size, force: true, final: true)
            closeLine()
        }
    }

    func finishLine() {
        lock.lock()
        closeLine()
        lock.unlock()
    }

    /// Redraws the progress line (interactive) or, when `final`, prints the finished file's line (redirected).
    private func draw(path: String, received: Int64, size: Int64?, force: Bool, final: Bool = false) {
        let now = Date()
        guard interactive || final else { return }
        guard force || final || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(startTime)
        let rate = frozenRate ?? (elapsed > 0.2 ? Double(received - startBytes) / elapsed : nil)
        lastSize = received
        let text = line.render(name: path, received: received, total: size, rate: rate)
        if interactive {
            write("\r\u{1B}[K" + text)
            lineOpen = true
        } else {
            write(text + "\n")
        }
    }

    private func closeLine() {
        if lineOpen { write("\n") }
        lineOpen = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
