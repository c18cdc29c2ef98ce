import Foundation
import Testing

/// `--tool-call-format` of `lfm run` and `lfm serve`.
@Suite struct OutputFormatCommandTests {
    @Test func unknownFormatIsAValidationError() throws {
        for command in ["run", "serve"] {
            let result = try CLI.run([command, "--tool-call-format", "xml"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("--tool-call-format must be auto, lfm2, hermes, qwen3 or llama3 (found 'xml')"), "\(result.stderr)")
        }
    }

    @Test func runAcceptsAnExplicitFormat() throws {
        // The bundled LFM2 model with Qwen3's output handling chats as before.
        let result = try CLI.run(["run", "--max-tokens", "4", "--temperature", "0", "--tool-call-format", "qwen3"], stdin: "Hello\n/exit\n")
        #expect(result.status == 0, "\(result.stderr)")
    }
}
