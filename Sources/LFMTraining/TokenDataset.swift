import Foundation
import LFMCore

/// Errors of training data and runs.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case emptyCorpus(path: String)
    case corpusTooSmall(path: String, tokens: Int, needed: Int)
    case badTokenFile(path: String, detail: String)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case nonFiniteLoss(step: Int, lastCheckpoint: String?)
    case badCheckpoint(path: String, detail: String)
    case unsupportedPrecision(String, detail: String)

    public var description: String {
        switch self {
        case .emptyCorpus(let path): return "\(path): the corpus is empty"
        case .corpusTooSmall(let path, let tokens, let needed):
            return "\(path): \(tokens) tokens is too few (need at least \(needed) for the context and the validation split)"
        case .badTokenFile(let path, let detail): return "\(path): not a packed token file: \(detail)"
        case .tokenOutOfRange(let token, let vocabularySize):
            return "token id \(token) does not fit the model's vocabulary of \(vocabularySize)"
        case .nonFiniteLoss(let step, let checkpoint):
            return "the loss became NaN or infinite at step \(step); stopped" + (checkpoint.map { ", the last good checkpoint is \($0)" } ?? " (no checkpoint was written yet)")
        case .badCheckpoint(let path, let detail): return "\(path): \(detail)"
        case .unsupportedPrecision(let name, let detail): return "training precision \(name) is not available: \(detail)"
        }
    }
}

/// A corpus tokenized once into a packed, memory-mapped file of `UInt32` ids with a
/// train/validation split (the last `validationFraction` of the tokens).
///
/// File layout: the 8 bytes `LFMTOK01`, a little-endian `UInt64` count, then the ids.
public final class TokenDataset: Sendable {
    static let magic = Array("LFMTOK01".utf8)
    /// The packed file.
    public let path: String
    private let file: MappedFile
    /// Number of tokens.
    public let count: Int
    /// Tokens `0 ..< trainCount` are for training, the rest for validation.
    public let trainCount: Int

    /// Writes `tokens` as a packed file at `path`.
    public static func write(_ tokens: [Int], to path: String) throws {
        var data = Data(magic)
        withUnsafeBytes(of: UInt64(tokens.count).littleEndian) { data.append(contentsOf: $0) }
        data.reserveCapacity(16 + tokens.count * 4)
        for token in tokens { withUnsafeBytes(of: UInt32(truncatingIfNeeded: token).littleEndian) { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Opens a packed file.
    public init(path: String, validationFraction: Double = 0.05) throws {
        self.path = path
        file = try MappedFile(path: path)
        guard file.count >= 16, Array(file.bytes(0..<8)) == Self.magic else {
            throw TrainingError.badTokenFile(path: path, detail: "missing the LFMTOK01 header")
        }
        let declared = file.bytes(8..<16).loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64((file.count - 16) / 4), (file.count - 16) == Int(declared) * 4 else {
            throw TrainingError.badTokenFile(path: path, detail: "header says \(declared) tokens, file holds \((file.count - 16) / 4)")
        }
        count = Int(declared)
        guard count > 0 else { throw TrainingError.emptyCorpus(path: path) }
        trainCount = max(1, count - Int(Double(count) * validationFraction))
    }

    /// Token `i`.
    public subscript(i: Int) -> Int {
        Int(file.bytes((16 + i * 4)..<(20 + i * 4)).loadUnaligned(as: UInt32.self).littleEndian)
    }

    /// Tokens `range`.
    public func tokens(_ range: Range<Int>) -> [Int] { range.map { self[$0] } }
}
