import LFMCore
import Testing
@testable import LFMSearch

@Suite struct NSGA2Tests {
    @Test func dominationNeedsOneStrictlyBetterCoordinate() {
        #expect(NSGA2.dominates([1, 2], [1, 3]))
        #expect(!NSGA2.dominates([1, 3], [1, 3]))
        #expect(!NSGA2.dominates([0, 4], [1, 3]))
        #expect(NSGA2.dominates([1, 3], [.infinity, 3]))
    }

    @Test func sortsIntoHandComputedFronts() {
        // (1,5) (2,3) (3,1) are mutually non-dominated; (2,4) and (3,3) are dominated only by
        // (2,3); (4,4) is dominated by (3,3) and (2,4) too.
        let points: [[Double]] = [[1, 5], [2, 3], [3, 1], [2, 4], [4, 4], [3, 3]]
        #expect(NSGA2.nonDominatedSort(points) == [[0, 1, 2], [3, 5], [4]])
        #expect(NSGA2.ranks(points) == [0, 0, 0, 1, 2, 1])
        #expect(NSGA2.nonDominatedSort([]) == [])
    }

    @Test func crowdingDistanceByHand() {
        let three: [[Double]] = [[1, 5], [2, 3], [3, 1]]
        // Middle point: (3 - 1) / 2 + (5 - 1) / 4 = 2.
        #expect(NSGA2.crowdingDistance([0, 1, 2], three) == [.infinity, 2, .infinity])
        // (0,10) (1,4) (3,2) (10,0): p1 = 3/10 + 8/10 = 1.1, p2 = 9/10 + 4/10 = 1.3.
        let four: [[Double]] = [[0, 10], [1, 4], [3, 2], [10, 0]]
        let d = NSGA2.crowdingDistance([0, 1, 2, 3], four)
        #expect(d[0] == .infinity && d[3] == .infinity)
        #expect(abs(d[1] - 1.1) < 1e-12 && abs(d[2] - 1.3) < 1e-12)
        // A constant objective adds nothing.
        let flat: [[Double]] = [[0, 5], [1, 5], [2, 5]]
        #expect(NSGA2.crowdingDistance([0, 1, 2], flat) == [.infinity, 1, .infinity])
    }

    @Test func environmentalSelectionFillsFrontsThenTheLeastCrowded() {
        let points: [[Double]] = [[0, 10], [1, 4], [3, 2], [10, 0], [11, 11]]
        #expect(NSGA2.environmentalSelection(points, count: 3) == [0, 2, 3])
        #expect(NSGA2.environmentalSelection(points, count: 5) == [0, 1, 2, 3, 4])
        #expect(NSGA2.environmentalSelection(points, count: 4) == [0, 1, 2, 3])
        #expect(NSGA2.environmentalSelection(points, count: 9) == [0, 1, 2, 3, 4])
    }

    @Test func tournamentPrefersLowerRankThenLargerCrowding() {
        #expect(NSGA2.better(0, 1, rank: [0, 1], crowding: [0, 9]))
        #expect(NSGA2.better(1, 0, rank: [0, 0], crowding: [1, 2]))
        #expect(NSGA2.better(0, 1, rank: [0, 0], crowding: [2, 2]))
        var rng = SplitMix64(seed: 7)
        // Two entrants are always distinct, so of two the better always wins.
        for _ in 0..<50 { #expect(NSGA2.tournament(rank: [1, 0], crowding: [0, 0], rng: &rng) == 1) }
        // Of three, the worst never wins and the best wins every pair it is in (about 2/3).
        var wins = [0, 0, 0]
        for _ in 0..<600 { wins[NSGA2.tournament(rank: [2, 1, 0], crowding: [0, 0, 0], rng: &rng)] += 1 }
        #expect(wins[0] == 0)
        #expect(wins[2] > 330 && wins[2] < 470)
        #expect(NSGA2.tournament(rank: [0], crowding: [0], rng: &rng) == 0)
    }
}
