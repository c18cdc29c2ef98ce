import LFMCore
import LFMModels
import Testing
@testable import LFMSearch

@Suite struct GenomeOperatorsTests {
    @Test(arguments: [SearchSpace.standard, SearchSpace.quick])
    func everyDrawnMutatedAndRecombinedGenomeIsValidAndInBounds(space: SearchSpace) throws {
        let operators = try GenomeOperators(space: space, settings: testSettings)
        var classesSeen = Set<LIVClass>(), sharing = false, experts = false
        for seed in UInt64(0)..<60 {
            var rng = SplitMix64(seed: seed)
            let a = try operators.randomGenome(rng: &rng), b = try operators.randomGenome(rng: &rng)
            let mutated = try operators.mutate(a, rng: &rng)
            let child = try operators.recombine(a, b, rng: &rng)
            for genome in [a, b, mutated, child] {
                try genome.validate()
                #expect(space.contains(genome, testSettings), "\(genome)")
                let parameters = genome.parameterCount(testSettings)
                #expect(parameters >= space.minParameters && parameters <= space.maxParameters)
                classesSeen.formUnion(genome.layers.map(\.mixer))
                sharing = sharing || genome.layers.contains { $0.share > 0 }
                experts = experts || genome.hasExperts
            }
            #expect(mutated != a)
            // Round trip through both forms.
            #expect(try LIVGenome(text: child.description) == child)
        }
        #expect(classesSeen == Set(LIVClass.allCases))
        #expect(sharing && experts)
    }

    @Test func sameGeneratorStateGivesTheSameGenome() throws {
        let operators = try GenomeOperators(space: .standard, settings: testSettings)
        var r1 = SplitMix64(seed: 42), r2 = SplitMix64(seed: 42)
        #expect(try operators.randomGenome(rng: &r1) == operators.randomGenome(rng: &r2))
        var r3 = SplitMix64(seed: 43)
        var r4 = SplitMix64(seed: 42)
        #expect(try operators.randomGenome(rng: &r3) != operators.randomGenome(rng: &r4))
    }

    @Test func repairMovesFieldsIntoTheSpace() throws {
        let operators = try GenomeOperators(space: .standard, settings: testSettings)
        // Width 100 → 96 (3 heads); kv groups 2 does not divide 3 → nearest option; gate on a conv
        // dropped; a share to a layer of another class dropped; ffn 1000 → the nearest k·48.
        let broken = LIVGenome(hiddenSize: 100, attentionHeads: 5, headDim: 20, layers: [
            LIVGene(mixer: .conv, groups: 6, gate: 1, feedForward: 1000),
            LIVGene(mixer: .attention, groups: 2, share: 1, feedForward: 10, experts: 3),
        ])
        let fixed = operators.repair(broken)
        #expect(fixed.hiddenSize == 96 && fixed.attentionHeads == 3 && fixed.headDim == 32)
        #expect(fixed.layers[0] == LIVGene(mixer: .conv, groups: 5, feedForward: 384))
        #expect(fixed.layers[1].groups == 1 || fixed.layers[1].groups == 3)
        #expect(fixed.layers[1].share == 0 && fixed.layers[1].feedForward == 48 && fixed.layers[1].experts == 4)
        try fixed.validate()
    }

    @Test func unreachableBoundsAreATypedError() throws {
        var space = SearchSpace.quick
        space.minParameters = 50_000_000
        space.maxParameters = 60_000_000
        let operators = try GenomeOperators(space: space, settings: testSettings)
        var rng = SplitMix64(seed: 1)
        #expect(throws: SearchError.self) { try operators.randomGenome(rng: &rng) }
        var bad = SearchSpace.quick
        bad.hiddenSizes = [40]
        #expect(throws: SearchError.self) { try GenomeOperators(space: bad, settings: testSettings) }
    }

    @Test func referencesFollowTheirPatternsNearTheTarget() throws {
        let target = 3_000_000
        let references = try ReferenceArchitectures.all(parameterTarget: target, space: .standard, settings: testSettings)
        #expect(references.map(\.name) == ["llama", "lfm2", "lfm3"])
        for reference in references {
            try reference.genome.validate()
            let ratio = Double(reference.genome.parameterCount(testSettings)) / Double(target)
            #expect(ratio > 0.8 && ratio < 1.25, "\(reference.name) \(reference.genome) ratio \(ratio)")
        }
        #expect(references[0].genome.layers.allSatisfy { $0.mixer == .attention && $0.gate == 0 })
        let lfm2 = references[1].genome.layers
        #expect(lfm2.contains { $0.mixer == .conv } && lfm2.contains { $0.mixer == .attention })
        #expect(lfm2[0].mixer == .conv && lfm2[1].mixer == .conv)
        let lfm3 = references[2].genome
        for (i, gene) in lfm3.layers.enumerated() {
            let expected: LIVClass = i % 4 == 2 ? .attention : (i % 4 == 0 && i > 0 ? .slidingAttention : .conv)
            #expect(gene.mixer == expected)
            #expect(gene.gate == (gene.mixer.isAttention ? 1 : 0))
        }
        // GQA: key/value heads = heads / 4 where that divides.
        let four = try ReferenceArchitectures.genome("llama", hidden: 256, layers: 2, multiple: 5, space: .standard)
        #expect(four.attentionHeads == 8 && four.layers[0].groups == 2 && four.layers[0].feedForward == 640)
    }
}
