import Foundation
import LFMCore
import LFMFormats

/// The identity cache files are tied to: saved sessions and prefix-cache entries are used only by
/// a model with the same fingerprint, because a KV cache is meaningful only for the weights that
/// computed it.
///
/// It is XXH64 (two seeds, 128 bits) over, in order:
/// 1. the canonical configuration: the family and every hyper-parameter the engine reads
///    (`ModelConfiguration`'s fields, printed in a fixed order, per-layer cache shapes included);
/// 2. the raw configuration: `config.json` of a model folder, or the leading 16 MiB of a GGUF file
///    (header, metadata and tensor table);
/// 3. the tensor table: every tensor's name (sorted), type, shape and byte count;
/// 4. a sample of the weights: 16 windows of 64 bytes spread evenly over every tensor (its first
///    and last bytes included);
/// 5. `salt`: settings that change the numbers a model computes from the same weights (e.g.
///    BF16 dot products for prefill).
///
/// Cost at load: a few hundred KB hashed and a few thousand pages touched, milliseconds for a
/// 350M model. A re-quantization, a different checkpoint or a changed configuration changes it; an
/// edit of weights that misses every sampled window (e.g. one element of a fine-tune) does not, so
/// keep separate cache directories per fine-tune if weights may differ only slightly.
public enum ModelFingerprint {
    /// The fingerprint of the model folder or GGUF file at `path` (as `ModelRegistry.load` reads it).
    public static func compute(path: String, salt: String = "") throws -> ModelIdentity {
        if ModelRegistry.isGGUF(path: path) {
            let (configuration, source) = try ModelRegistry.configuration(gguf: path)
            let head = try leadingBytes(path: path, limit: 16 << 20)
            return compute(configuration: configuration, rawConfiguration: head, source: source, salt: salt)
        }
        let directory = URL(fileURLWithPath: path)
        let configuration = try ModelRegistry.configuration(directory: directory)
        let raw = try [UInt8](Data(contentsOf: directory.appendingPathComponent("config.json")))
        let source = try SafeTensorsCheckpoint(directory: directory)
        return compute(configuration: configuration, rawConfiguration: raw, source: source, salt: salt)
    }

    /// The fingerprint of `configuration` with the tensors of `source` (see the type's description).
    public static func compute(configuration: any ModelConfiguration, rawConfiguration: [UInt8] = [],
                               source: TensorSource, salt: String = "") -> ModelIdentity {
        var w = ByteWriter()
        w.raw(Array(canonical(configuration).utf8))
        w.i64(rawConfiguration.count)
        w.raw(rawConfiguration)
        for name in source.tensorNames.sorted() {
            guard let tensor = source.tensor(named: name) else { continue }
            w.raw(Array(name.utf8))
            w.u32(tensor.dtype.rawValue)
            w.i64(tensor.shape.count)
            for d in tensor.shape { w.i64(d) }
            let bytes = tensor.bytes
            w.i64(bytes.count)
            let window = 64, windows = 16
            if bytes.count <= window * windows {
                w.raw(bytes)
            } else {
                for k in 0..<windows {
                    let start = (bytes.count - window) * k / (windows - 1)
                    w.raw(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + window)]))
                }
            }
        }
        w.raw(Array(salt.utf8))
        return w.bytes.withUnsafeBytes {
            ModelIdentity(high: XXHash64.hash($0, seed: 0), low: XXHash64.hash($0, seed: 0x9E37_79B9_7F4A_7C15))
        }
    }

    /// The configuration's fields in a fixed order.
    static func canonical(_ c: any ModelConfiguration) -> String {
        var parts: [String] = [
            "arch=\(c.architecture)", "vocab=\(c.vocabularySize)", "hidden=\(c.hiddenSize)",
            "mixers=\(c.mixers.map(\.letter).joined())", "ffn=\(c.feedForwardSize)", "heads=\(c.attentionHeads)",
            "kv=\(c.keyValueHeads)", "headDim=\(c.headDim)", "conv=\(c.shortConvKernel.map(String.init) ?? "-")",
            "rope=\(c.ropeTheta.bitPattern)", "maxPos=\(c.maxPositionEmbeddings)", "tie=\(c.tieEmbeddings)",
            "bos=\(c.bosTokenId.map(String.init) ?? "-")", "eos=\(c.eosTokenIds)", "params=\(c.parameterCount)",
            "active=\(c.activeParameterCount)", "shapes=\(c.cacheShapes)",
        ]
        for (key, json) in c.extraInfo { parts.append("\(key)=\(json)") }
        return parts.joined(separator: ";")
    }

    private static func leadingBytes(path: String, limit: Int) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw FileError.notFound(path: path) }
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: limit) ?? Data())
    }
}
