// Writes a sample GGUF with LFMFormats' GGUFWriter (every scalar type, flat and empty arrays, tensors of
// several ggml types), for check_writer.sh to read back with the gguf Python package and ggml's gguf.cpp.
import LFMFormats

@main
struct WriteSample {
    static func main() throws {
        let args = CommandLine.arguments
        guard args.count == 2 else {
            print("usage: write-sample OUT.gguf")
            return
        }
        var w = GGUFWriter()
        try w.add("general.architecture", .string("lfm2"))
        try w.add("general.alignment", .uint32(64))
        try w.add("lfm2.block_count", .uint32(16))
        try w.add("s.u8", .uint8(200))
        try w.add("s.i8", .int8(-100))
        try w.add("s.u16", .uint16(65000))
        try w.add("s.i16", .int16(-32000))
        try w.add("s.u32", .uint32(4_000_000_000))
        try w.add("s.i32", .int32(-2_000_000_000))
        try w.add("s.f32", .float32(0.15625))
        try w.add("s.bool", .bool(true))
        try w.add("s.string", .string("héllo 🦙"))
        try w.add("s.u64", .uint64(.max))
        try w.add("s.i64", .int64(.min))
        try w.add("s.f64", .float64(-2.5))
        try w.add("a.i32", .array(.int32([-1, 2, -3])))
        try w.add("a.f32", .array(.float32([0.5, -1.25])))
        try w.add("a.str", .array(.string(["<|im_start|>", "", "Ġthe"])))
        try w.add("a.empty", .array(.uint8([])))
        try w.add("a.bool", .array(.bool([true, false])))
        let specs: [(String, GGUFTensorType, [Int])] = [
            ("token_embd.weight", .f32, [8, 3]), ("blk.0.ffn_up.weight", .f16, [16, 2]),
            ("blk.0.attn_q.weight", .q4_0, [64, 2]), ("blk.0.ffn_down.weight", .q4_K, [256, 2]),
            ("blk.0.ffn_gate.weight", .q6_K, [256, 1]), ("output_norm.weight", .f32, [5]),
        ]
        var data: [String: [UInt8]] = [:]
        for (name, type, dims) in specs {
            let info = try w.addTensor(name: name, dimensions: dims, type: type)
            // Deterministic bytes; f16 scale fields may hold any pattern, the check only compares bytes.
            data[name] = (0..<info.byteCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ name.utf8.count) }
        }
        try w.write(to: args[1], data: data)
        print("wrote \(args[1]) with \(w.metadata.count) keys and \(w.tensors.count) tensors")
    }
}
