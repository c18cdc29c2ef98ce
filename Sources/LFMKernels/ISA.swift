import CLFMKernels

/// The instruction-set path `CPUBackend` runs its kernels on.
///
/// Detected once at run time (`ISA.detected`); the binary itself targets baseline x86-64 or
/// ARM64, and the x86 kernels are C functions with per-function `target` attributes.
public enum ISA: Sendable, Hashable, CustomStringConvertible {
    /// AVX-512 F/BW/VL/DQ with FMA and F16C. `bf16` = AVX512_BF16 (`vdpbf16ps`, used by the
    /// opt-in BF16 prefill path), `vnni` = AVX512_VNNI (int8 dot products; reported only).
    case avx512(bf16: Bool, vnni: Bool)
    /// AVX2 with FMA and F16C (x86-64-v3). `vnni` = AVX-VNNI (VEX-encoded int8 dot products of
    /// Intel client cores since Alder Lake): the quantized kernels then use `vpdpbusd` /
    /// `vpdpwssd` (see `LFM_CPU_AVXVNNI` for virtual machines that hide it).
    case avx2(vnni: Bool)
    /// Code for the baseline ISA: plain C and Swift (SSE2 on x86-64); on ARM64 the matrix
    /// products run NEON intrinsics, the quantized ones with SDOT when the CPU has the
    /// dot-product extension (`description` then reads "portable+neon+dotprod").
    case portable

    /// The best path this machine supports.
    public static let detected: ISA = available[0]

    /// Every path this machine can run, best first (always ends with `.portable`).
    public static let available: [ISA] = {
        let f = lfm_cpu_features()
        var result: [ISA] = []
        let avx2 = LFM_CPU_AVX2 | LFM_CPU_FMA | LFM_CPU_F16C
        let avx512 = avx2 | LFM_CPU_AVX512F | LFM_CPU_AVX512BW | LFM_CPU_AVX512VL | LFM_CPU_AVX512DQ
        if f & avx512 == avx512 {
            result.append(.avx512(bf16: f & LFM_CPU_AVX512BF16 != 0,
                                  vnni: f & LFM_CPU_AVX512VNNI != 0))
        }
        if f & avx2 == avx2 { result.append(.avx2(vnni: f & LFM_CPU_AVXVNNI != 0)) }
        result.append(.portable)
        return result
    }()

    /// The path called `name` ("avx512", "avx2" or "portable", as in `description` before any
    /// "+"), with the sub-capabilities this machine has; nil for an unknown name. The result may
    /// still be unsupported here: check `isSupported`.
    public init?(name: String) {
        switch name.lowercased() {
        case "avx512":
            var bf16 = false, vnni = false
            for case .avx512(let hasBF16, let hasVNNI) in ISA.available {
                bf16 = hasBF16
                vnni = hasVNNI
            }
            self = .avx512(bf16: bf16, vnni: vnni)
        case "avx2":
            var vnni = false
            for case .avx2(let hasVNNI) in ISA.available { vnni = hasVNNI }
            self = .avx2(vnni: vnni)
        case "portable": self = .portable
        default: return nil
        }
    }

    /// Whether this machine can run the path (sub-capabilities included).
    public var isSupported: Bool {
        switch self {
        case .portable:
            return true
        case .avx2(let vnni):
            for case .avx2(let hasVNNI) in ISA.available { return !vnni || hasVNNI }
            return false
        case .avx512(let bf16, let vnni):
            for case .avx512(let hasBF16, let hasVNNI) in ISA.available {
                return (!bf16 || hasBF16) && (!vnni || hasVNNI)
            }
            return false
        }
    }

    public var description: String {
        switch self {
        case .avx512(let bf16, let vnni):
            return "avx512" + (bf16 ? "+bf16" : "") + (vnni ? "+vnni" : "")
        case .avx2(let vnni): return "avx2" + (vnni ? "+vnni" : "")
        case .portable:
            #if arch(arm64)
            return lfm_cpu_features() & LFM_CPU_DOTPROD != 0 ? "portable+neon+dotprod" : "portable+neon"
            #else
            return "portable"
            #endif
        }
    }
}
