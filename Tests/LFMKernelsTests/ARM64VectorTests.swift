import Foundation
import Testing

/// The committed kernel test vectors of Scripts/arm64 (see `ARM64Vectors`) equal what the Swift
/// references produce now. To rewrite them after a deliberate change, run this suite with
/// `LFM_WRITE_ARM64_VECTORS` naming a directory (normally Scripts/arm64/vectors), then rerun
/// Scripts/arm64/run.sh.
@Suite struct ARM64VectorTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/arm64/vectors")

    @Test func committedVectorsEqualTheReferences() throws {
        let files = ARM64Vectors.files()
        if let target = ProcessInfo.processInfo.environment["LFM_WRITE_ARM64_VECTORS"], !target.isEmpty {
            let url = URL(fileURLWithPath: target)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for (name, bytes) in files { try Data(bytes).write(to: url.appendingPathComponent(name)) }
        }
        let committed = try FileManager.default.contentsOfDirectory(atPath: Self.directory.path)
            .filter { $0.hasSuffix(".bin") }.sorted()
        #expect(committed == files.keys.sorted(), "vector files in \(Self.directory.path)")
        var total = 0
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let stored = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name)))
            total += stored.count
            let firstDifference = zip(stored, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(stored.count == bytes.count && firstDifference == nil,
                    "\(name): \(stored.count) bytes stored, \(bytes.count) regenerated, first difference at \(firstDifference.map(String.init) ?? "none")")
        }
        // The vectors are committed: keep them small.
        #expect(total < 650_000, "vector files total \(total) bytes")
    }
}
