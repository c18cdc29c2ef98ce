import LFMChat
import LFMTokenizer

extension StructuredRequest {
    /// The token sequences the answer must start with one of for `choice` when the model writes tool
    /// calls in `format`: LFM2's are ``forcedPrefixes(_:tools:tokenizer:)``; the other formats' start is
    /// ``ToolCallFormat/callPrefix(function:)`` of the named function or of each declared tool (the
    /// model writes the arguments and the rest of the call).
    static func forcedPrefixes(_ choice: ToolChoice, tools: [Value], format: ToolCallFormat, tokenizer: Tokenizer) throws -> [[Int]] {
        guard format != .lfm2 else { return try forcedPrefixes(choice, tools: tools, tokenizer: tokenizer) }
        let names: [String]
        switch choice {
        case .noTools, .auto: return []
        case .function(let name): names = [name]
        case .required:
            names = tools.compactMap { tool -> String? in
                if case .object(let t) = tool, case .object(let fn)? = t["function"], case .string(let n)? = fn["name"] { return n }
                return nil
            }
        }
        return names.map { tokenizer.encode(format.callPrefix(function: $0), addSpecialTokens: false) }
    }
}
