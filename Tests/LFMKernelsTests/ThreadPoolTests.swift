import Foundation
import Testing
@testable import LFMKernels

@Suite struct ThreadPoolTests {
    /// Counts how often each index ran (atomically, via a lock).
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var hits: [Int]
        var threads = Set<String>()
        init(_ count: Int) { hits = [Int](repeating: 0, count: count) }
        func hit(_ i: Int) {
            lock.lock()
            hits[i] += 1
            lock.unlock()
        }
        func add(_ i: Int, _ n: Int) {
            lock.lock()
            hits[i] += n
            lock.unlock()
        }
    }

    @Test(arguments: [1, 2, 3, 4])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threadCount == threads)
        for count in [0, 1, 2, 3, 100, 10_007] {
            let counter = Counter(count)
            pool.parallelFor(count) { counter.hit($0) }
            #expect(counter.hits.allSatisfy { $0 == 1 }, "threads \(threads) count \(count)")
        }
    }

    @Test func poolIsReusableAcrossManyCalls() {
        let pool = ThreadPool(threads: 3, spinMicroseconds: 20)
        let counter = Counter(7)
        for call in 0..<3000 {
            pool.parallelFor(7) { counter.hit($0) }
            // Let the workers fall asleep now and then, so the wake-up path is exercised.
            if call % 500 == 0 { usleep(2000) }
        }
        #expect(counter.hits.allSatisfy { $0 == 3000 })
    }

    @Test func rangesCoverEverythingOnceAndRespectAlignment() {
        let pool = ThreadPool(threads: 2)
        for total in [1, 5, 64, 1000, 4608] {
            let counter = Counter(total)
            let starts = Counter(total)
            pool.parallelRanges(total, alignment: 16, minimumChunk: 4) { range in
                starts.hit(range.lowerBound)
                for i in range { counter.hit(i) }
            }
            #expect(counter.hits.allSatisfy { $0 == 1 }, "total \(total)")
            for (i, s) in starts.hits.enumerated() where s > 0 { #expect(i % 16 == 0) }
        }
    }

    /// The decode split: every index once, aligned starts, no range below the minimum (but the last),
    /// one large range per thread first, then a tail of ranges of at most a quarter of a large one, shrinking to the minimum.
    @Test func guidedRangesCoverEverythingOnceWithASmallTail() {
        for threads in [2, 3] {
            let pool = ThreadPool(threads: threads)
            for total in [1, 5, 31, 64, 1000, 1792, 4608, 65536] {
                let counter = Counter(total)
                let lengths = Counter(total)
                pool.parallelRangesGuided(total, alignment: 4, minimumChunk: 16) { range in
                    lengths.add(range.lowerBound, range.count)
                    for i in range { counter.hit(i) }
                }
                #expect(counter.hits.allSatisfy { $0 == 1 }, "threads \(threads) total \(total)")
                let ranges = lengths.hits.enumerated().filter { $0.element > 0 }.map { (start: $0.offset, count: $0.element) }
                for r in ranges {
                    #expect(r.start % 4 == 0, "threads \(threads) total \(total) start \(r.start)")
                    #expect(r.count >= 16 || r.start + r.count == total || total < 16, "threads \(threads) total \(total)")
                }
                if total >= 1000 {
                    let large = ranges[0].count
                    #expect(ranges.prefix(threads).allSatisfy { $0.count == large })
                    #expect(ranges.dropFirst(threads).allSatisfy { $0.count * 4 <= large + 4 }, "threads \(threads) total \(total)")
                    #expect(ranges.count > threads)
                    // The tail shrinks to the minimum, so threads finish within one small range of each other.
                    let tail = ranges.dropFirst(threads).dropLast()
                    #expect(zip(tail, tail.dropFirst()).allSatisfy { $0.count >= $1.count }, "threads \(threads) total \(total)")
                    #expect((tail.last?.count ?? 0) <= 16 + 4, "threads \(threads) total \(total)")
                }
            }
        }
    }

    /// Rule: a nested call runs serially on its calling thread and still runs every index once.
    @Test func nestedCallsRunSerially() {
        let pool = ThreadPool(threads: 2)
        let counter = Counter(40 * 30)
        pool.parallelFor(40) { outer in
            pool.parallelFor(30) { inner in counter.hit(outer * 30 + inner) }
        }
        #expect(counter.hits.allSatisfy { $0 == 1 })
    }

    @Test func concurrentCallersBothComplete() async {
        let pool = ThreadPool(threads: 2)
        let a = Counter(5000), b = Counter(5000)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for _ in 0..<20 { pool.parallelFor(250) { i in for j in 0..<20 { a.hit(i * 20 + j) } } } }
            group.addTask { for _ in 0..<20 { pool.parallelFor(250) { i in for j in 0..<20 { b.hit(i * 20 + j) } } } }
        }
        #expect(a.hits.allSatisfy { $0 == 20 })
        #expect(b.hits.allSatisfy { $0 == 20 })
    }

    /// A worker (not only the caller) runs some indices: the caller's bodies wait, up to 10 s,
    /// until another thread has run one.
    @Test func workersActuallyShareTheWork() {
        let pool = ThreadPool(threads: 2)
        let caller = pthread_self()
        let lock = NSLock()
        var workerRan = false
        pool.parallelFor(20) { _ in
            if pthread_equal(pthread_self(), caller) != 0 {
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    lock.lock()
                    let done = workerRan
                    lock.unlock()
                    if done { break }
                    usleep(100)
                }
            } else {
                lock.lock()
                workerRan = true
                lock.unlock()
            }
        }
        #expect(workerRan)
    }
}
