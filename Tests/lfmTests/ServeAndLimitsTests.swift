import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// `lfm serve` on a busy port and `lfm generate --max-tokens` limits (issue 14, item 5).
@Suite(.serialized) struct ServeAndLimitsTests {
    static let folder = CLI.fixtures.appendingPathComponent("lfm2/attn-first-f32").path

    /// 0 is refused as the server refuses max_tokens 0 (OpenAI's minimum is 1); more than the
    /// context holds after the prompt is refused before anything runs.
    @Test func maxTokensIsCheckedAgainstTheContext() throws {
        let zero = try CLI.run(["generate", "--model", Self.folder, "--prompt-ids", "1,2,3", "--max-tokens", "0"])
        #expect(zero.status != 0 && zero.status < 128)
        #expect(zero.stderr.contains("--max-tokens must be at least 1"), "\(zero.stderr)")
        // The fixture's context is 4096 positions: 3 prompt tokens leave room for 4094 generated ones.
        let over = try CLI.run(["generate", "--model", Self.folder, "--prompt-ids", "1,2,3", "--max-tokens", "4095"])
        #expect(over.status != 0 && over.status < 128)
        #expect(over.stderr.contains("context length exceeded") && over.stderr.contains("at most 4094 tokens"), "\(over.stderr)")
        #expect(over.stdout.isEmpty)
        let fits = try CLI.run(["generate", "--model", Self.folder, "--prompt-ids", "1,2,3", "--max-tokens", "2"])
        #expect(fits.status == 0, "\(fits.stderr)")
    }

    @Test func secondServerOnABusyPortFailsBeforeAnnouncing() throws {
        let model = try Self.servableModel()
        let listener = try Listener()
        defer { listener.close() }
        let result = try CLI.run(["serve", "--model", model.path, "--host", "127.0.0.1", "--port", "\(listener.port)"])
        #expect(result.status != 0 && result.status < 128)
        #expect(!result.stderr.contains("serving "), "\(result.stderr)")
        #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(listener.port)") && result.stderr.contains("already in use"),
                "\(result.stderr)")
    }

    /// The tiny fixture model with the LFM2 tokenizer and chat template beside it.
    static func servableModel() throws -> URL {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: Self.folder + "/" + name, toPath: folder.appendingPathComponent(name).path)
        }
        try FileManager.default.copyItem(at: tests.appendingPathComponent("LFMTokenizerTests/Fixtures/lfm2/tokenizer.json"),
                                         to: folder.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: tests.appendingPathComponent("LFMChatTests/Fixtures/lfm2/chat_template.jinja"),
                                         to: folder.appendingPathComponent("chat_template.jinja"))
        return folder
    }
}

/// A TCP socket listening on a free loopback port.
struct Listener {
    let fd: Int32
    let port: Int

    init() throws {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw CLIFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { closeSocket(fd); throw CLIFailure("could not listen on a loopback port") }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { closeSocket(fd) }
}

private func closeSocket(_ fd: Int32) { _ = close(fd) }

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
