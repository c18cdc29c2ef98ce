import Foundation
import LFMCore
import LFMModels

/// Random genomes, mutation and recombination inside a `SearchSpace`. Every function returns a
/// genome the space `contains` (valid, in range, inside the parameter bounds); all randomness
/// comes from the `SplitMix64` passed in, so the same generator state gives the same genome.
public struct GenomeOperators: Sendable {
    public let space: SearchSpace
    public let settings: LIVSettings
    /// Attempts at drawing or varying a genome before giving up (random) or drawing a fresh
    /// random genome instead (mutation, recombination).
    public var attempts = 64

    /// Checks the space; throws if it is invalid.
    public init(space: SearchSpace, settings: LIVSettings) throws {
        try space.validate()
        self.space = space
        self.settings = settings
    }

    // MARK: random genomes

    /// A random gene of class `mixer` (no sharing) at a width.
    func randomGene(_ mixer: LIVClass, hidden: Int, rng: inout SplitMix64) -> LIVGene {
        let gate = mixer.isAttention && space.allowGate && rng.chance(0.5) ? 1 : 0
        return LIVGene(mixer: mixer, groups: rng.pick(space.groupsOptions(mixer, hidden: hidden)), share: 0, gate: gate,
                       feedForward: rng.pick(space.feedForwardOptions(hidden: hidden)),
                       experts: rng.pick(space.expertOptions))
    }

    /// A random gene of a random class.
    func randomGene(hidden: Int, rng: inout SplitMix64) -> LIVGene {
        randomGene(rng.pick(space.classes), hidden: hidden, rng: &rng)
    }

    /// A genome drawn uniformly from the space's choices (width, depth, then each gene; a layer
    /// shares an earlier featurizer with probability 1/4 when one of the same class and groups is
    /// near enough), redrawn until it is inside the parameter bounds.
    public func randomGenome(rng: inout SplitMix64) throws -> LIVGenome {
        for _ in 0..<(attempts * 4) {
            let hidden = rng.pick(space.hiddenSizes)
            let count = space.minLayers + rng.below(space.maxLayers - space.minLayers + 1)
            var layers: [LIVGene] = []
            for l in 0..<count {
                var gene = randomGene(hidden: hidden, rng: &rng)
                let sources = shareSources(for: gene, at: l, in: layers)
                if !sources.isEmpty, rng.chance(0.25) {
                    gene.share = rng.pick(sources)
                }
                layers.append(gene)
            }
            let genome = LIVGenome(hiddenSize: hidden, attentionHeads: space.heads(hidden: hidden), headDim: space.headDim,
                                   layers: layers)
            if space.contains(genome, settings) { return genome }
        }
        throw SearchError.invalidSpace(detail: "no random genome within \(space.minParameters)…\(space.maxParameters) parameters after \(attempts * 4) draws (vocabulary \(settings.vocabularySize)); widen the bounds or the widths")
    }

    /// Offsets k (1…maxShareDistance) to earlier layers whose class and groups equal `gene`'s.
    func shareSources(for gene: LIVGene, at l: Int, in layers: [LIVGene]) -> [Int] {
        guard space.maxShareDistance > 0 else { return [] }
        return (1...space.maxShareDistance).filter { k in
            l - k >= 0 && l - k < layers.count && layers[l - k].mixer == gene.mixer && layers[l - k].groups == gene.groups
        }
    }

    // MARK: repair

    /// Moves every field into the space at the genome's width: heads from the width, groups to
    /// the nearest option of the class, no gate off attention, feed-forward widths to the nearest
    /// option, experts to the nearest option, a share that no longer points at a layer of the same
    /// class and groups dropped. Depth is clamped by dropping the last layers.
    public func repair(_ genome: LIVGenome) -> LIVGenome {
        var g = genome
        if !space.hiddenSizes.contains(g.hiddenSize) { g.hiddenSize = nearest(g.hiddenSize, in: space.hiddenSizes) }
        g.headDim = space.headDim
        g.attentionHeads = space.heads(hidden: g.hiddenSize)
        if g.layers.count > space.maxLayers { g.layers.removeLast(g.layers.count - space.maxLayers) }
        for l in g.layers.indices {
            var gene = g.layers[l]
            if !space.classes.contains(gene.mixer) { gene.mixer = space.classes[0] }
            gene.groups = nearest(gene.groups, in: space.groupsOptions(gene.mixer, hidden: g.hiddenSize))
            if !(space.allowGate && gene.mixer.isAttention) { gene.gate = 0 }
            gene.gate = gene.gate == 0 ? 0 : 1
            gene.feedForward = nearest(gene.feedForward, in: space.feedForwardOptions(hidden: g.hiddenSize))
            gene.experts = nearest(gene.experts, in: space.expertOptions)
            if gene.share > 0, !shareSources(for: gene, at: l, in: g.layers).contains(gene.share) { gene.share = 0 }
            g.layers[l] = gene
        }
        return g
    }

    /// The option closest to `value` (the smaller one on a tie).
    func nearest(_ value: Int, in options: [Int]) -> Int {
        options.sorted().min { abs($0 - value) < abs($1 - value) } ?? value
    }

    /// Feed-forward width `width` of a genome of width `from`, moved to width `to` as the same multiple.
    func rescaledFeedForward(_ width: Int, from: Int, to: Int) -> Int {
        let multiple = max(1, Int((Double(width) / Double(max(from / 2, 1))).rounded()))
        return multiple * to / 2
    }

    // MARK: variation

    /// The mutations `mutate` chooses from, uniformly among those that apply.
    public enum Mutation: String, Sendable, CaseIterable {
        case changeField, changeClass, insertLayer, deleteLayer, duplicateLayer, changeHidden
    }

    /// One random mutation of `genome`, repaired; redrawn until the result is inside the space and
    /// differs from the parent, else a fresh random genome.
    public func mutate(_ genome: LIVGenome, rng: inout SplitMix64) throws -> LIVGenome {
        for _ in 0..<attempts {
            let child = repair(mutateOnce(genome, rng: &rng))
            if child != genome, space.contains(child, settings) { return child }
        }
        return try randomGenome(rng: &rng)
    }

    func mutateOnce(_ genome: LIVGenome, rng: inout SplitMix64) -> LIVGenome {
        var g = genome
        let h = g.hiddenSize
        var options: [Mutation] = [.changeField]
        if space.classes.count > 1 { options.append(.changeClass) }
        if g.layers.count < space.maxLayers { options += [.insertLayer, .duplicateLayer] }
        if g.layers.count > space.minLayers { options.append(.deleteLayer) }
        if space.hiddenSizes.count > 1 { options.append(.changeHidden) }
        switch rng.pick(options) {
        case .changeField:
            let l = rng.below(g.layers.count)
            var gene = g.layers[l]
            switch rng.below(5) {
            case 0: gene.groups = rng.pick(space.groupsOptions(gene.mixer, hidden: h))
            case 1:
                let sources = shareSources(for: gene, at: l, in: g.layers)
                gene.share = gene.share > 0 || sources.isEmpty ? 0 : rng.pick(sources)
            case 2: gene.gate = 1 - gene.gate
            case 3: gene.feedForward = rng.pick(space.feedForwardOptions(hidden: h))
            default: gene.experts = rng.pick(space.expertOptions)
            }
            g.layers[l] = gene
        case .changeClass:
            let l = rng.below(g.layers.count)
            let others = space.classes.filter { $0 != g.layers[l].mixer }
            var gene = randomGene(rng.pick(others), hidden: h, rng: &rng)
            gene.feedForward = g.layers[l].feedForward
            gene.experts = g.layers[l].experts
            g.layers[l] = gene
        case .insertLayer:
            g.layers.insert(randomGene(hidden: h, rng: &rng), at: rng.below(g.layers.count + 1))
        case .deleteLayer:
            g.layers.remove(at: rng.below(g.layers.count))
        case .duplicateLayer:
            let l = rng.below(g.layers.count)
            var copy = g.layers[l]
            // The copy reuses the original's featurizer half of the time (STAR's shared featurizers).
            copy.share = space.maxShareDistance > 0 && rng.chance(0.5) ? 1 : 0
            g.layers.insert(copy, at: l + 1)
        case .changeHidden:
            let to = rng.pick(space.hiddenSizes.filter { $0 != h })
            g.hiddenSize = to
            g.attentionHeads = space.heads(hidden: to)
            for l in g.layers.indices {
                g.layers[l].feedForward = rescaledFeedForward(g.layers[l].feedForward, from: h, to: to)
            }
        }
        return g
    }

    /// One-point crossover of the layer lists: the first layers of `a` up to a random cut, then
    /// the layers of `b` from another random cut, at `a`'s width (`b`'s feed-forward widths moved
    /// to it as the same multiples), repaired; redrawn until inside the space, else a mutation of `a`.
    public func recombine(_ a: LIVGenome, _ b: LIVGenome, rng: inout SplitMix64) throws -> LIVGenome {
        for _ in 0..<attempts {
            let cutA = 1 + rng.below(a.layers.count)
            let cutB = rng.below(b.layers.count)
            var tail = Array(b.layers[cutB...])
            for l in tail.indices {
                tail[l].feedForward = rescaledFeedForward(tail[l].feedForward, from: b.hiddenSize, to: a.hiddenSize)
            }
            var child = a
            child.layers = Array(a.layers[..<cutA]) + tail
            guard child.layers.count >= space.minLayers else { continue }
            child = repair(child)
            if space.contains(child, settings) { return child }
        }
        return try mutate(a, rng: &rng)
    }
}
