import Foundation
import LFMCore

/// NSGA-II (Deb et al. 2002) on points whose every coordinate is minimised: fast non-dominated
/// sorting, crowding distance, binary tournaments on (rank, crowding) and environmental
/// selection. Non-finite coordinates should be passed as +∞ (the worst value). Ties are broken
/// by index so every result is deterministic.
public enum NSGA2 {
    /// Whether `a` dominates `b`: no worse in every coordinate and better in one.
    public static func dominates(_ a: [Double], _ b: [Double]) -> Bool {
        var better = false
        for (x, y) in zip(a, b) {
            if x > y { return false }
            if x < y { better = true }
        }
        return better
    }

    /// The fronts of `points`: front 0 holds the points no point dominates, front k the points
    /// dominated only by points of earlier fronts. Indices ascend within a front.
    public static func nonDominatedSort(_ points: [[Double]]) -> [[Int]] {
        let n = points.count
        var dominated = [[Int]](repeating: [], count: n)
        var dominatedBy = [Int](repeating: 0, count: n)
        for p in 0..<n {
            for q in (p + 1)..<n {
                if dominates(points[p], points[q]) {
                    dominated[p].append(q)
                    dominatedBy[q] += 1
                } else if dominates(points[q], points[p]) {
                    dominated[q].append(p)
                    dominatedBy[p] += 1
                }
            }
        }
        var fronts: [[Int]] = []
        var current = (0..<n).filter { dominatedBy[$0] == 0 }
        while !current.isEmpty {
            fronts.append(current)
            var next: [Int] = []
            for p in current {
                for q in dominated[p] {
                    dominatedBy[q] -= 1
                    if dominatedBy[q] == 0 { next.append(q) }
                }
            }
            current = next.sorted()
        }
        return fronts
    }

    /// The rank (front number) of every point.
    public static func ranks(_ points: [[Double]]) -> [Int] {
        var rank = [Int](repeating: 0, count: points.count)
        for (k, front) in nonDominatedSort(points).enumerated() {
            for i in front { rank[i] = k }
        }
        return rank
    }

    /// Crowding distance of each member of `front` (same order): per objective, the members are
    /// sorted, the two extremes get +∞ and every other member adds the gap between its
    /// neighbours divided by the objective's range. An objective with zero or infinite range adds nothing.
    public static func crowdingDistance(_ front: [Int], _ points: [[Double]]) -> [Double] {
        var distance = [Double](repeating: 0, count: front.count)
        guard front.count > 2 else { return [Double](repeating: .infinity, count: front.count) }
        let dimensions = points[front[0]].count
        for m in 0..<dimensions {
            let order = front.indices.sorted { i, j in
                let a = points[front[i]][m], b = points[front[j]][m]
                return a != b ? a < b : front[i] < front[j]
            }
            let first = order[0], last = order[order.count - 1]
            let low = points[front[first]][m], high = points[front[last]][m]
            distance[first] = .infinity
            distance[last] = .infinity
            let range = high - low
            guard range > 0, range.isFinite else { continue }
            for k in 1..<(order.count - 1) {
                let gap = points[front[order[k + 1]]][m] - points[front[order[k - 1]]][m]
                if gap.isFinite { distance[order[k]] += gap / range }
            }
        }
        return distance
    }

    /// Rank and crowding distance of every point.
    public static func rankAndCrowding(_ points: [[Double]]) -> (rank: [Int], crowding: [Double]) {
        var rank = [Int](repeating: 0, count: points.count)
        var crowding = [Double](repeating: 0, count: points.count)
        for (k, front) in nonDominatedSort(points).enumerated() {
            for (i, d) in zip(front, crowdingDistance(front, points)) {
                rank[i] = k
                crowding[i] = d
            }
        }
        return (rank, crowding)
    }

    /// Whether `a` beats `b` in a tournament: lower rank, then larger crowding, then lower index.
    public static func better(_ a: Int, _ b: Int, rank: [Int], crowding: [Double]) -> Bool {
        if rank[a] != rank[b] { return rank[a] < rank[b] }
        if crowding[a] != crowding[b] { return crowding[a] > crowding[b] }
        return a < b
    }

    /// A binary tournament: two distinct entrants drawn uniformly (one if there is one), the better wins.
    public static func tournament(rank: [Int], crowding: [Double], rng: inout SplitMix64) -> Int {
        let n = rank.count
        guard n > 1 else { return 0 }
        let a = rng.below(n)
        var b = rng.below(n - 1)
        if b >= a { b += 1 }
        return better(a, b, rank: rank, crowding: crowding) ? a : b
    }

    /// The `count` survivors of `points` (all of them if fewer): whole fronts in order, then the
    /// most crowding-distant members of the front that does not fit (ties by index). Returned in
    /// ascending index order.
    public static func environmentalSelection(_ points: [[Double]], count: Int) -> [Int] {
        var chosen: [Int] = []
        for front in nonDominatedSort(points) {
            if chosen.count + front.count <= count {
                chosen += front
                continue
            }
            let distance = crowdingDistance(front, points)
            let order = front.indices.sorted { i, j in
                distance[i] != distance[j] ? distance[i] > distance[j] : front[i] < front[j]
            }
            chosen += order.prefix(count - chosen.count).map { front[$0] }
            break
        }
        return chosen.sorted()
    }
}
