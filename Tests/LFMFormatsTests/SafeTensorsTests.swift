import Foundation
import Testing
import LFMCore
@testable import LFMFormats

@Suite struct SafeTensorsTests {
    func temporaryFile(_ bytes: Data, name: String = "model.safetensors") throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    func file(header: String, data: Data = Data(count: 16)) -> Data {
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(data)
        return out
    }

    @Test func roundTripAllDTypes() throws {
        var writer = SafeTensorsWriter()
        writer.add("a", shape: [2, 3], values: [1, 2, 3, 4, 5, 6.5])
        writer.add("b", shape: [3], values: [1.5, -2, 0.25], as: .bf16)
        writer.add("c", shape: [1, 2], values: [65504, -0.000061035156], as: .f16)
        writer.metadata = ["format": "pt"]
        let url = try temporaryFile(writer.serialized())
        let file = try SafeTensorsFile(path: url.path)
        #expect(file.tensorNames == ["a", "b", "c"])
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensor(named: "a")?.floats() == [1, 2, 3, 4, 5, 6.5])
        #expect(file.tensor(named: "b")?.dtype == .bf16)
        #expect(file.tensor(named: "b")?.floats() == [1.5, -2, 0.25])
        #expect(file.tensor(named: "c")?.floats() == [65504, -0.000061035156])
        #expect(file.tensor(named: "missing") == nil)
    }

    /// Writing over an existing file replaces it (a second `lfm train` into the same folder failed here).
    @Test func writingOverAnExistingFileReplacesIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        for value: Float in [1, 2] {
            var writer = SafeTensorsWriter()
            writer.add("w", shape: [2], values: [value, -value])
            try writer.write(to: url)
            #expect(try SafeTensorsFile(path: url.path).tensor(named: "w")?.floats() == [value, -value])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }

    @Test func tooSmallFile() throws {
        let url = try temporaryFile(Data([1, 2, 3]))
        #expect(throws: SafeTensorsError.tooSmall(file: url.path, size: 3)) { try SafeTensorsFile(path: url.path) }
    }

    @Test func headerLongerThanFile() throws {
        var bytes = Data()
        withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data("{}".utf8))
        let url = try temporaryFile(bytes)
        #expect(throws: SafeTensorsError.headerOutOfRange(file: url.path, headerLength: 1 << 40, fileSize: 10)) {
            try SafeTensorsFile(path: url.path)
        }
    }

    @Test func truncatedHeaderIsNotJSON() throws {
        let full = file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#)
        // Claim the full header length but cut the JSON short.
        var bytes = full.prefix(8 + 20)
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(20).littleEndian) { Data($0) })
        let url = try temporaryFile(Data(bytes))
        #expect { try SafeTensorsFile(path: url.path) } throws: { error in
            guard case SafeTensorsError.headerNotJSON(let f, _) = error else { return false }
            return f == url.path
        }
    }

    @Test func unknownDType() throws {
        let url = try temporaryFile(file(header: #"{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#))
        #expect(throws: SafeTensorsError.unsupportedDType(file: url.path, tensor: "w", dtype: "F8_E4M3")) {
            try SafeTensorsFile(path: url.path)
        }
    }

    @Test func shapeDisagreesWithOffsets() throws {
        let url = try temporaryFile(file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#))
        #expect(throws: SafeTensorsError.sizeMismatch(file: url.path, tensor: "w", expectedBytes: 12, foundBytes: 8)) {
            try SafeTensorsFile(path: url.path)
        }
    }

    @Test func offsetsPastTheData() throws {
        let url = try temporaryFile(file(header: #"{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#))
        #expect(throws: SafeTensorsError.dataOutOfRange(file: url.path, tensor: "w", end: 32, dataSize: 16)) {
            try SafeTensorsFile(path: url.path)
        }
    }

    @Test func malformedEntries() throws {
        for header in [#"{"w":5}"#, #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#,
                       #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
                       #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
                       #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#,
                       #"[1,2]"#] {
            let url = try temporaryFile(file(header: header))
            #expect(throws: SafeTensorsError.self, "\(header)") { try SafeTensorsFile(path: url.path) }
        }
    }

    @Test func missingFile() {
        #expect(throws: FileError.notFound(path: "/nonexistent/model.safetensors")) {
            try SafeTensorsFile(path: "/nonexistent/model.safetensors")
        }
    }

    @Test func shardedCheckpoint() throws {
        var first = SafeTensorsWriter(), second = SafeTensorsWriter()
        first.add("a", shape: [2], values: [1, 2])
        second.add("b", shape: [1], values: [3])
        let a = try temporaryFile(first.serialized(), name: "model-00001-of-00002.safetensors")
        let directory = a.deletingLastPathComponent()
        try second.write(to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        let index = #"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        let checkpoint = try SafeTensorsCheckpoint(directory: directory)
        #expect(Set(checkpoint.tensorNames) == ["a", "b"])
        #expect(checkpoint.tensor(named: "b")?.floats() == [3])

        // A shard that the index names but that is missing.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        #expect(throws: SafeTensorsError.missingShard(index: directory.appendingPathComponent("model.safetensors.index.json").path,
                                                      shard: "model-00002-of-00002.safetensors")) {
            try SafeTensorsCheckpoint(directory: directory)
        }
        // An index that lies about where a tensor is.
        try second.write(to: directory.appendingPathComponent("model-00002-of-00002.safetensors"))
        let wrong = #"{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#
        try Data(wrong.utf8).write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: directory) }
        try Data("{\"weight_map\": 3}".utf8).write(to: directory.appendingPathComponent("model.safetensors.index.json"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(directory: directory) }
    }

    @Test func halfConversionsRoundTrip() {
        for bits in stride(from: 0, through: 0xFFFF, by: 1) where (bits & 0x7C00) != 0x7C00 {
            let value = HalfConversion.f16ToFloat(UInt16(bits))
            #expect(HalfConversion.floatToF16(value) == UInt16(bits) || value == 0)
        }
        #expect(HalfConversion.floatToBF16(1.00390625) == 0x3F80) // ties to even
        #expect(HalfConversion.floatToBF16(1.01171875) == 0x3F82)
        #expect(HalfConversion.floatToF16(1e6) == 0x7C00)
    }
}
