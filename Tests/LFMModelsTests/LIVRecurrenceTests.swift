import Foundation
import Testing
import LFMCore
import LFMKernels
@testable import LFMModels

/// The gated diagonal recurrence (LIV class R): decode token by token, one prefill, prefill in
/// chunks and a scalar Swift reference of the whole model agree; its state batches, snapshots
/// and persists like the other mixers' states.
@Suite struct LIVRecurrenceTests {
    /// Three recurrence layers (one decay group per channel group of 4, a shared featurizer, one group).
    static let genome = "h16x2x8 R4:24 R4^1:24 R1:16"
    let tokens = [3, 17, 40, 8, 8, 51, 0, 29, 33, 12, 5, 44, 19, 2, 37]

    func model() throws -> (DecoderModel, LIVConfiguration, [String: [Float]]) {
        let configuration = try LIVModelBuilder.configuration(Self.genome)
        let values = LIVModelBuilder.values(configuration, seed: 5)
        let directory = try LIVModelBuilder.make(configuration, values: values)
        let loaded = try ModelRegistry.load(path: directory.path, options: ModelLoadOptions(placement: .mapped, backend: testBackend()))
        return (try #require(loaded as? DecoderModel), configuration, values)
    }

    /// Every position's logits, computed one position at a time in Double with plain loops.
    static func reference(_ c: LIVConfiguration, _ w: [String: [Float]], _ tokens: [Int]) -> [[Float]] {
        let genome = c.genome, h = genome.hiddenSize, v = c.settings.vocabularySize, eps = Double(c.settings.normEpsilon)
        func t(_ name: String) -> [Float] { w[name] ?? [] }
        func rms(_ x: [Double], _ weight: [Float]) -> [Double] {
            var squares = 0.0
            for value in x { squares += value * value }
            let scale: Double = 1 / (squares / Double(x.count) + eps).squareRoot()
            var out = x
            for i in x.indices { out[i] = x[i] * scale * Double(weight[i]) }
            return out
        }
        func matvec(_ m: [Float], rows: Int, _ x: [Double]) -> [Double] {
            var out = [Double](repeating: 0, count: rows)
            for r in 0..<rows {
                for j in x.indices { out[r] += Double(m[r * x.count + j]) * x[j] }
            }
            return out
        }
        func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        var states = genome.layers.map { _ in [Double](repeating: 0, count: h) }
        let embedding = t("model.embed_tokens.weight")
        return tokens.map { token in
            var x = (0..<h).map { Double(embedding[token * h + $0]) }
            for (l, gene) in genome.layers.enumerated() {
                let owner = genome.featurizerOwner(of: l), g = gene.groups
                let a = rms(x, t(LIVGenome.layerTensor(l, "operator_norm")))
                let p = matvec(t(LIVGenome.layerTensor(owner, "recurrence.in_proj")), rows: 2 * h + g, a)
                let bias = t("model.layers.\(l).recurrence.decay_bias")
                var y = [Double](repeating: 0, count: h)
                for channel in 0..<h {
                    let group = channel / (h / g)
                    let decay = sigmoid(p[2 * h + group] + Double(bias[group]))
                    states[l][channel] = decay * states[l][channel] + (1 - decay) * p[channel]
                    let z = p[h + channel]
                    y[channel] = states[l][channel] * z * sigmoid(z)
                }
                let mixed = matvec(t(LIVGenome.layerTensor(l, "recurrence.out_proj")), rows: h, y)
                x = x.indices.map { x[$0] + mixed[$0] }
                let b = rms(x, t(LIVGenome.layerTensor(l, "ffn_norm")))
                let f = gene.feedForward
                let gate = matvec(t(LIVGenome.layerTensor(l, "feed_forward.w1")), rows: f, b)
                let up = matvec(t(LIVGenome.layerTensor(l, "feed_forward.w3")), rows: f, b)
                let act = gate.indices.map { gate[$0] * sigmoid(gate[$0]) * up[$0] }
                let down = matvec(t(LIVGenome.layerTensor(l, "feed_forward.w2")), rows: h, act)
                x = x.indices.map { x[$0] + down[$0] }
            }
            let final = rms(x, t("model.embedding_norm.weight"))
            return matvec(embedding, rows: v, final).map { Float($0) }
        }
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test func decodePrefillChunksAndReferenceAgree() throws {
        let (model, configuration, values) = try model()
        let reference = Self.reference(configuration, values, tokens).flatMap { $0 }
        var whole = model.makeState()
        let prefill = try model.forward(tokens, state: &whole, logits: .all)
        var chunked = model.makeState()
        let chunks = try model.forward(tokens, state: &chunked, logits: .all, chunkSize: 4)
        var stepped = model.makeState()
        let decoded = try tokens.flatMap { try model.forward([$0], state: &stepped) }
        #expect(maxDifference(prefill, reference) <= 1e-5, "prefill vs reference \(maxDifference(prefill, reference))")
        #expect(maxDifference(chunks, reference) <= 1e-5, "chunks vs reference \(maxDifference(chunks, reference))")
        #expect(maxDifference(decoded, reference) <= 1e-5, "decode vs reference \(maxDifference(decoded, reference))")
        // The state is the last h of every layer, whichever way it was reached.
        #expect(whole.position == tokens.count && stepped.position == tokens.count)
        for l in 0..<3 {
            #expect(maxDifference(whole.conv[l], stepped.conv[l]) <= 1e-5)
            #expect(whole.conv[l].count == 16 && whole.conv[l].contains { $0 != 0 })
        }
    }

    @Test func batchedSequencesEqualSeparateOnes() throws {
        let (model, _, _) = try model()
        let a = Array(tokens[..<9]), b = Array(tokens[4...])
        var states = [model.makeState(), model.makeState()]
        let batched = try model.forward(batch: [a, b], states: &states)
        var sa = model.makeState(), sb = model.makeState()
        #expect(maxDifference(batched[0], try model.forward(a, state: &sa)) <= 1e-5)
        #expect(maxDifference(batched[1], try model.forward(b, state: &sb)) <= 1e-5)
        #expect(maxDifference(states[0].conv[1], sa.conv[1]) <= 1e-5)
    }

    @Test func cacheShapesAndByteCounts() throws {
        let (model, configuration, _) = try model()
        #expect(configuration.cacheShapes == [.recurrent(channels: 16), .recurrent(channels: 16), .recurrent(channels: 16)])
        #expect(configuration.mixers.map(\.letter).joined() == "RRR")
        #expect(configuration.recurrentStateBytes == 3 * 16 * 4)
        #expect(configuration.recurrentStateBytes == configuration.genome.cacheBytes(context: 2048, configuration.settings))
        #expect(configuration.keyValueBytes(context: 100) == 0)
        #expect(model.makeState().byteCount == 3 * 16 * 4)
    }

    @Test func snapshotRestoreAndPersistenceContinueExactly() throws {
        let (model, _, _) = try model()
        var state = model.makeState()
        _ = try model.forward(Array(tokens[..<6]), state: &state)
        let snapshot = state
        var w = ByteWriter()
        state.encode(into: &w)
        let rest = Array(tokens[6...])
        let first = try rest.map { try model.forward([$0], state: &state) }
        #expect(state != snapshot)
        var restored = snapshot
        let second = try rest.map { try model.forward([$0], state: &restored) }
        var decoded = try w.bytes.withUnsafeBytes { try SequenceState.decode($0, shapes: snapshot.shapes, maxContext: snapshot.maxContext) }
        #expect(decoded == snapshot)
        let third = try rest.map { try model.forward([$0], state: &decoded) }
        #expect(first.map { $0.map(\.bitPattern) } == second.map { $0.map(\.bitPattern) })
        #expect(first.map { $0.map(\.bitPattern) } == third.map { $0.map(\.bitPattern) })
        // A recurrent blob does not fit a model whose layers differ.
        let other: [LayerCacheShape] = [.recurrent(channels: 16), .recurrent(channels: 8), .recurrent(channels: 16)]
        #expect(throws: CacheFileError.self) {
            _ = try w.bytes.withUnsafeBytes { try SequenceState.decode($0, shapes: other, maxContext: snapshot.maxContext) }
        }
    }

    /// A fresh state (what a reset makes) holds H zeros per recurrence layer.
    @Test func freshStatesAreZero() throws {
        let (model, _, _) = try model()
        let state = model.makeState()
        #expect(state.conv.allSatisfy { $0.count == 16 && $0.allSatisfy { $0 == 0 } })
    }

    /// KV cache policies leave recurrent states alone: a recurrence before an attention layer
    /// holds the same state under streaming or pruning as with a full cache, and the state blob
    /// round-trips under the policy.
    @Test func cachePoliciesDoNotTouchRecurrentState() throws {
        let configuration = try LIVModelBuilder.configuration("h16x2x8 R4:16 A1:16 R2:16")
        let directory = try LIVModelBuilder.make(configuration, seed: 4)
        let model = try #require(try ModelRegistry.load(path: directory.path, options: ModelLoadOptions(placement: .mapped)) as? DecoderModel)
        let long = tokens + tokens + tokens
        for policy in [KVCachePolicy.streaming(sinks: 2, window: 8), .prune(budget: 8, observationWindow: 4, poolingKernel: 3)] {
            // The full cache fed in the pieces the policy takes (streaming: at most its eviction
            // chunk), so both runs multiply the same matrix shapes and round alike.
            var full = model.makeState()
            _ = try model.forward(long, state: &full, chunkSize: min(4, policy.largestPiece ?? 4))
            var bounded = model.makeState(maxContext: nil, policy: policy)
            _ = try model.forward(long, state: &bounded, chunkSize: 4)
            #expect(bounded.hasEvicted, "\(policy)")
            #expect(bounded.conv[0] == full.conv[0], "\(policy)")
            #expect(bounded.conv[2].count == 16)
            var w = ByteWriter()
            bounded.encode(into: &w)
            let decoded = try w.bytes.withUnsafeBytes {
                try SequenceState.decode($0, shapes: bounded.shapes, maxContext: bounded.maxContext, policy: policy)
            }
            #expect(decoded == bounded)
        }
    }
}
