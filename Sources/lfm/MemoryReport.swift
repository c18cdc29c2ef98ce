import Foundation
import LFMModels

/// Bytes of this process's resident memory now (Linux: /proc/self/statm; elsewhere nil).
func residentBytes() -> Int? {
    #if os(Linux)
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    #else
    return nil
    #endif
}

/// One `--memory-report` line: tokens generated, resident memory, the state's bytes and its positions.
func memoryLine(generated: Int, state: SequenceState) -> String {
    let rss = residentBytes().map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "n/a"
    return "memory: generated \(generated) tokens, position \(state.position), cached rows \(state.cachedPositions), "
        + "rss \(rss) MiB, state \(state.byteCount) bytes"
}
