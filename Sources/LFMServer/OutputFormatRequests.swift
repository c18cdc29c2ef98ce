import LFMChat
import LFMTokenizer

extension StructuredRequest {
    /// The token sequences the answer must start with one of for `choice` when the model writes tool
    /// calls in `format`: ``ToolCallFormat/callPrefix(function:)`` of the named function or of each
    /// declared tool (the model writes the arguments and the rest of the call). LFM2's calls are
    /// constrained whole instead (``toolCallConstraint(_:tools:tokenizer:options:)``): none here.
    static func forcedPrefixes(_ choice: ToolChoice, tools: [Value], format: ToolCallFormat, tokenizer: Tokenizer) throws -> [[Int]] {
        guard format != .lfm2 else { return [] }
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
