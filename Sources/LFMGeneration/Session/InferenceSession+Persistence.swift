import LFMCore
import LFMModels

/// Saving a conversation to a session file and resuming it later (`lfm run --session FILE`).
///
/// A session file (`CacheFile`, kind `.session`) holds everything the session needs to continue as
/// if it had never stopped: the tokens processed, the full sequence state (KV caches and conv
/// states), the next-token logits, the snapshot at the last turn boundary (its KV rows stored as
/// references to the current state's where they are the same), and opaque application data (the
/// CLI keeps its transcript there). Records:
/// `SESN` (version, max context), `TOKN`, `STAT`, `LOGT`, `BTOK`, `BSTA`, `BLOG`, `APPD`.
///
/// Samplers are made afresh for every generation from `GenerationOptions` (their seed), so no RNG
/// state is saved: with the same options a resumed session produces the same tokens and
/// byte-identical logits as one that never stopped.
extension InferenceSession {
    static let sessionTag = RecordTag("SESN")
    static let tokensTag = RecordTag("TOKN")
    static let stateTag = RecordTag("STAT")
    static let logitsTag = RecordTag("LOGT")
    static let boundaryTokensTag = RecordTag("BTOK")
    static let boundaryStateTag = RecordTag("BSTA")
    static let boundaryLogitsTag = RecordTag("BLOG")
    static let applicationTag = RecordTag("APPD")

    /// Writes the conversation to `path` atomically, tied to `model` (see `ModelFingerprint`).
    /// `applicationData` is stored as it is and returned by `load`.
    /// - Throws: `SessionError.busy` while generating; `CacheFileError.writeFailed` when writing fails.
    public func save(to path: String, model identity: ModelIdentity, applicationData: [UInt8] = []) throws {
        guard !isGenerating else { throw SessionError.busy }
        let bytes = CacheFile.encode(kind: .session, model: identity, capacity: state.byteCount) { w in
            w.record(Self.sessionTag, flags: ByteWriter.required) { w in
                w.u32(1)
                w.i64(maxContext)
            }
            w.record(Self.tokensTag, flags: ByteWriter.required) { $0.tokens(processedTokens) }
            w.record(Self.stateTag, flags: ByteWriter.required) { state.encode(into: &$0) }
            if let lastLogits { w.record(Self.logitsTag) { Self.writeFloats(lastLogits, &$0) } }
            if let boundary {
                w.record(Self.boundaryTokensTag) { $0.tokens(boundary.tokens) }
                w.record(Self.boundaryStateTag) { boundary.state.encode(into: &$0, relativeTo: state) }
                w.record(Self.boundaryLogitsTag) { Self.writeFloats(boundary.logits, &$0) }
            }
            w.record(Self.applicationTag) { $0.raw(applicationData) }
        }
        try AtomicFile.write(bytes, to: path)
    }

    /// Replaces the conversation with the one saved at `path` and returns its application data.
    /// The file is checked whole (checksum, version, model identity, shapes, token ids) before
    /// anything changes; on any error the session is left as it was.
    /// - Throws: `CacheFileError` (missing, truncated, corrupt, another model or version, malformed),
    ///   `SessionError.busy` while generating.
    @discardableResult
    public func load(from path: String, model identity: ModelIdentity) throws -> [UInt8] {
        guard !isGenerating else { throw SessionError.busy }
        let file = try MappedCacheFile(path: path, kind: .session, model: identity)
        let records = file.records
        try records.checkKnown([Self.sessionTag, Self.tokensTag, Self.stateTag, Self.logitsTag, Self.boundaryTokensTag,
                                Self.boundaryStateTag, Self.boundaryLogitsTag, Self.applicationTag], context: path)
        func record(_ tag: RecordTag) throws(CacheFileError) -> Record {
            guard let r = records.first(tag) else { throw .malformed(detail: "\(path): no \(tag) record") }
            return r
        }
        var header = ByteReader(try record(Self.sessionTag).payload, context: path)
        let version = try header.u32("session version")
        guard version == 1 else { throw CacheFileError.malformed(detail: "\(path): session version \(version), this build reads 1") }
        let shapes = state.shapes
        let tokens = try readTokens(try record(Self.tokensTag))
        let restored = try SequenceState.decode(try record(Self.stateTag).payload, shapes: shapes, maxContext: maxContext,
                                                kvType: freshState.kvType, policy: cachePolicy)
        guard restored.position == tokens.count else {
            throw CacheFileError.malformed(detail: "\(path): \(tokens.count) tokens but the state holds \(restored.position) positions")
        }
        let logits = try records.first(Self.logitsTag).map { (r) throws(CacheFileError) in try readLogits(r) }
        var savedBoundary: (tokens: [Int], state: SequenceState, logits: [Float])?
        if let bt = records.first(Self.boundaryTokensTag) {
            let btokens = try readTokens(bt)
            let bstate = try SequenceState.decode(try record(Self.boundaryStateTag).payload, shapes: shapes,
                                                  maxContext: maxContext, kvType: freshState.kvType,
                                                  policy: cachePolicy, relativeTo: restored)
            guard bstate.position == btokens.count else {
                throw CacheFileError.malformed(detail: "\(path): boundary has \(btokens.count) tokens but \(bstate.position) positions")
            }
            savedBoundary = (btokens, bstate, try readLogits(try record(Self.boundaryLogitsTag)))
        }
        let application = records.first(Self.applicationTag).map { [UInt8]($0.payload) } ?? []
        state = restored
        processedTokens = tokens
        lastLogits = logits
        boundary = savedBoundary
        return application
    }

    private func readTokens(_ r: Record) throws(CacheFileError) -> [Int] {
        var reader = ByteReader(r.payload, context: "session tokens")
        let tokens = try reader.tokens("tokens")
        let vocabulary = model.configuration.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw .malformed(detail: "session: token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
        }
        guard tokens.count <= maxContext else {
            throw .malformed(detail: "session: \(tokens.count) tokens saved, the context holds \(maxContext)")
        }
        return tokens
    }

    private func readLogits(_ r: Record) throws(CacheFileError) -> [Float] {
        var reader = ByteReader(r.payload, context: "session logits")
        let count = try reader.i64("logit count")
        guard count == model.configuration.vocabularySize else {
            throw .malformed(detail: "session: \(count) logits saved, the model has \(model.configuration.vocabularySize)")
        }
        return try reader.floats(count, "logits")
    }

    static func writeFloats(_ values: [Float], _ w: inout ByteWriter) {
        w.i64(values.count)
        w.floats(values[...])
    }
}
