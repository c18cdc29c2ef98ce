import Foundation
import LFMCore
import Testing

/// `MappedFile.releasePages(of:)`: the pages leave the process's resident memory and the bytes
/// stay readable and unchanged.
@Suite struct MappedFileTests {
    /// Resident kilobytes of the mapping that starts at `address` (Linux: /proc/self/smaps).
    static func residentKB(of address: UnsafeRawPointer) -> Int? {
        // Read to the end: /proc files report a size of 0.
        guard let data = FileHandle(forReadingAtPath: "/proc/self/smaps")?.readDataToEndOfFile(),
              let smaps = String(data: data, encoding: .utf8) else { return nil }
        let start = String(UInt(bitPattern: address), radix: 16)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inside = line[..<dash].drop(while: { $0 == "0" }) == Substring(start)
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ").dropFirst().first ?? "")
            }
        }
        return nil
    }

    @Test func releasedPagesLeaveResidentMemoryAndStayReadable() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-mapped-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = 8 << 20
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 12) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let file = try MappedFile(path: path)
        let all = file.bytes(0..<size)
        #expect(all.elementsEqual(bytes), "the mapping reads the file")
        #if os(Linux)
        let base = try #require(all.baseAddress)
        let before = try #require(Self.residentKB(of: base), "no smaps entry for the mapping")
        #expect(before >= 8000, "all 8 MiB were read: \(before) kB resident")
        // A region that starts and ends inside pages: only the pages wholly inside it go.
        file.releasePages(of: file.bytes(100..<(size - 100)))
        let after = try #require(Self.residentKB(of: base))
        #expect(after <= 8, "\(after) kB still resident after releasing the pages")
        // A view that is not part of this mapping is ignored.
        bytes.withUnsafeBytes { file.releasePages(of: $0) }
        #endif
        #expect(file.bytes(0..<size).elementsEqual(bytes), "released pages read back from the file")
    }
}
