import ArgumentParser
import Foundation
import LFMChat

/// `--tool-call-format`: how the model writes tool calls (default: detected from its chat template).
struct OutputFormatOptions: ParsableArguments {
    @Option(name: .customLong("tool-call-format"),
            help: "Tool-call syntax of the model: auto (from the chat template and tokens), lfm2 (Pythonic), hermes or qwen3 (<tool_call> JSON), llama3 (JSON).")
    var toolCallFormat = "auto"

    func validate() throws {
        guard toolCallFormat == "auto" || ToolCallFormat(name: toolCallFormat) != nil else {
            throw ValidationError("--tool-call-format must be auto, lfm2, hermes, qwen3 or llama3 (found '\(toolCallFormat)')")
        }
    }

    /// The detected format with the user's tool-call syntax, if one was given (`qwen3` also turns on
    /// `<think>` reasoning).
    func resolve(detected: ChatOutputFormat) -> ChatOutputFormat {
        guard toolCallFormat != "auto", let calls = ToolCallFormat(name: toolCallFormat) else { return detected }
        var format = detected
        format.toolCalls = calls
        if let family = ChatOutputFormat(family: toolCallFormat), family.reasoning != nil { format.reasoning = family.reasoning }
        return format
    }
}
