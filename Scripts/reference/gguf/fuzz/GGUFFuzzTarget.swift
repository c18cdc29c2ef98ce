// libFuzzer entry point for the GGUF parser (dev tool, not built by the package or CI).
// Build and run with Scripts/reference/gguf/fuzz/run_libfuzzer.sh.
import LFMFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? GGUFFile(bytes: bytes) else { return 0 }
    // Touch every tensor view: a parsed file must only describe bytes inside itself.
    var sum: UInt8 = 0
    for t in file.tensors {
        let view = file.data(for: t)
        if let last = view.last { sum &+= last }
        if view.count != t.byteCount { fatalError("view size mismatch for \(t.name)") }
    }
    for (_, value) in file.metadata.entries { _ = value.description }
    return sum == 255 ? 0 : 0
}
