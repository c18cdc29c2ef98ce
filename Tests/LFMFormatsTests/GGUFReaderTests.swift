import Foundation
import Testing
@testable import LFMFormats

/// Our reader against files written by the gguf 0.19.0 Python package (see make_gguf_fixtures.py).
@Suite struct GGUFReaderTests {
    @Test(arguments: ["metadata", "aligned64"])
    func readsEveryKeyValueAndTensorInfoExactly(_ name: String) throws {
        let file = try GGUFFile(path: GGUFFixtures.path("\(name).gguf"))
        let expected = try #require(try GGUFFixtures.json("\(name).json") as? [String: Any])
        #expect(file.version == expected["version"] as? UInt32)
        #expect(file.alignment == expected["alignment"] as? Int)
        #expect(file.dataOffset == expected["data_offset"] as? Int)

        let kvs = try #require(expected["metadata"] as? [[String: Any]])
        #expect(file.metadata.keys == kvs.compactMap { $0["key"] as? String })
        for (entry, kv) in zip(file.metadata.entries, kvs) {
            let type = try #require(kv["type"] as? String)
            let want = try FixtureValue.decode(type: type, try #require(kv["value"]))
            #expect(entry.value.bitwiseEquals(want), "\(entry.key): \(entry.value) != \(want)")
        }

        let tensors = try #require(expected["tensors"] as? [[String: Any]])
        #expect(file.tensors.count == tensors.count)
        for (info, t) in zip(file.tensors, tensors) {
            #expect(info.name == t["name"] as? String)
            #expect(info.type.name == t["type"] as? String)
            #expect(info.type.rawValue == t["type_id"] as? UInt32)
            #expect(info.dimensions == t["ne"] as? [Int])
            #expect(info.offset == t["offset"] as? Int)
            #expect(info.byteCount == t["n_bytes"] as? Int)
            #expect(info.offset % file.alignment == 0)
            #expect(file.data(for: info).count == info.byteCount)
        }
    }

    @Test func tensorDataViewsPointAtTheStoredValues() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("metadata.gguf"))
        let cube = try file.requireTensor("three_d.weight")
        #expect(cube.dimensions == [2, 3, 4])
        #expect(cube.elementCount == 24)
        #expect(cube.rowCount == 12)
        let values = Array(file.data(for: cube).bindMemory(to: Float.self))
        #expect(values == (0..<24).map { Float($0) * 0.5 })
        let bias = try file.requireTensor("scalar_like.bias")
        #expect(file.data(for: bias).loadUnaligned(as: Float.self) == 42)
        #expect(file.tensor(named: "nope") == nil)
        #expect(throws: GGUFError.missingTensor("nope")) { try file.requireTensor("nope") }
    }

    @Test func typedAccessorsReturnValuesAndThrowTypedErrors() throws {
        let m = try GGUFFile(path: GGUFFixtures.path("metadata.gguf")).metadata
        #expect(try m.uint32("lfm2.block_count") == 16)
        #expect(try m.string("general.architecture") == "lfm2")
        #expect(try m.uint8("test.uint8") == 200)
        #expect(try m.int8("test.int8") == -100)
        #expect(try m.uint16("test.uint16") == 65000)
        #expect(try m.int16("test.int16") == -32000)
        #expect(try m.int32("test.int32") == -2_000_000_000)
        #expect(try m.uint64("test.uint64") == UInt64.max)
        #expect(try m.int64("test.int64") == Int64.min)
        #expect(try m.float32("test.float32") == Float(3.14159))
        #expect(try m.float64("test.float64") == -2.718281828459045)
        #expect(try m.bool("test.bool_true") == true)
        #expect(try m.bool("test.bool_false") == false)
        #expect(try m.string("test.string") == "héllo wörld ✓ 🦙")
        #expect(try m.stringArray("test.arr.string") == ["a", "", "<|im_start|>", "Ġthe"])
        #expect(try m.int32Array("test.arr.int32") == [-1, 2, -3, 4])
        #expect(try m.uint32Array("test.arr.uint32") == [0, 4_294_967_295, 7])
        #expect(try m.float32Array("test.arr.float32") == [0.5, -1.25, 1e-30])
        #expect(try m.boolArray("test.arr.bool") == [true, false, true])
        #expect(try m.integer("lfm2.block_count") == 16)
        #expect(try m.integer("test.int16") == -32000)
        #expect(try m.integerArray("test.arr.uint16") == [0, 65535])
        #expect(try m.floatingPoint("test.float32") == Double(Float(3.14159)))
        #expect(try m.array("test.arr.nested_strings") == .array([.string(["x", "yy"]), .string(["zzz"])]))
        #expect(try m.array("test.arr.nested_int32") == .array([.int32([1, 2, 3]), .int32([4])]))

        #expect(throws: GGUFError.missingKey("lfm2.context_length")) { try m.uint32("lfm2.context_length") }
        #expect(throws: GGUFError.typeMismatch(key: "lfm2.block_count", expected: "int32", found: "uint32")) {
            try m.int32("lfm2.block_count")
        }
        #expect(throws: GGUFError.typeMismatch(key: "test.string", expected: "an integer", found: "string")) {
            try m.integer("test.string")
        }
        #expect(throws: GGUFError.valueOutOfRange(key: "test.uint64", value: "18446744073709551615", expected: "Int")) {
            try m.integer("test.uint64")
        }
        #expect(throws: GGUFError.typeMismatch(key: "test.arr.int32", expected: "array of string", found: "array of int32")) {
            try m.stringArray("test.arr.int32")
        }
        #expect(throws: (any Error).self) { try m.stringArray("test.string") }
    }

    @Test func tensorTypeTableMatchesTheGGUFPackage() throws {
        let table = try #require(try GGUFFixtures.json("ggml_types.json") as? [[String: Any]])
        var seen = Set<UInt32>()
        for row in table {
            let id = try #require(row["id"] as? UInt32)
            let type = try #require(GGUFTensorType(rawValue: id), "gguf type id \(id) unknown to GGUFTensorType")
            #expect(type.name == row["name"] as? String)
            #expect(type.blockSize == row["block_size"] as? Int, "\(type)")
            #expect(type.typeSize == row["type_size"] as? Int, "\(type)")
            seen.insert(id)
        }
        #expect(Set(GGUFTensorType.allCases.map(\.rawValue)) == seen)
    }

    @Test func readsVersion2() throws {
        var bytes = try GGUFFixtures.bytes("aligned64.gguf")
        bytes[4] = 2
        let file = try GGUFFile(bytes: bytes)
        #expect(file.version == 2)
        #expect(file.tensors.count == 16)
    }
}
