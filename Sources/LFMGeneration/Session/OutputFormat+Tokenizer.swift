import LFMChat
import LFMTokenizer

extension ToolCallFormat {
    /// The format a chat template and the tokenizer's tokens point to (see
    /// ``ToolCallFormat/detect(templateSource:hasToken:)``), or nil when neither names one.
    public static func detect(templateSource: String?, tokenizer: Tokenizer) -> ToolCallFormat? {
        detect(templateSource: templateSource, hasToken: { tokenizer.id(for: $0) != nil })
    }
}

extension ChatOutputFormat {
    /// The output format of a model from its chat template and tokenizer; LFM2's when nothing points
    /// to another.
    public static func detect(templateSource: String?, tokenizer: Tokenizer) -> ChatOutputFormat {
        detect(templateSource: templateSource, hasToken: { tokenizer.id(for: $0) != nil })
    }

    /// The output format of a model of registry family `family` (`ModelConfiguration.architecture`):
    /// what its chat template and tokens point to, else the family's own format, else LFM2's.
    public static func detect(templateSource: String?, tokenizer: Tokenizer, family: String) -> ChatOutputFormat {
        if ToolCallFormat.detect(templateSource: templateSource, tokenizer: tokenizer) != nil {
            return detect(templateSource: templateSource, tokenizer: tokenizer)
        }
        return ChatOutputFormat(family: family) ?? detect(templateSource: templateSource, tokenizer: tokenizer)
    }
}

extension GenerationOptions {
    /// The output filter of one generation under these options: the options' format or else
    /// `defaultFormat`; no tool calls and no reasoning block when the output is constrained to JSON.
    public func makeOutputFilter(tokenizer: Tokenizer, promptTokens: [Int], defaultFormat: ChatOutputFormat) -> OutputFilter {
        var format = outputFormat ?? defaultFormat
        if responseFormat != nil { format.reasoning = nil }
        return OutputFilter(tokenizer: tokenizer, stopStrings: stopStrings, parseToolCalls: parseToolCalls && responseFormat == nil,
                            format: format, promptTokens: promptTokens)
    }
}
