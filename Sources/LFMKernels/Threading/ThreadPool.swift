#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLFMKernels
import Foundation

/// A persistent pool of worker threads for data-parallel loops.
///
/// `parallelFor(count, body)` runs `body(i)` exactly once for every `i < count`; the calling
/// thread takes part, and indices are handed out one at a time from a shared counter, so a
/// descheduled worker never holds up the others (it simply claims nothing).
/// Idle workers spin on a generation counter for `spinMicroseconds`, then sleep on a condition
/// variable until the next loop is published.
///
/// Rule for nesting and concurrency: while one `parallelFor` is running, any other call (from
/// inside a body, or from another thread) runs serially on its calling thread. It never
/// deadlocks and every index still runs exactly once.
public final class ThreadPool: Sendable {
    /// Threads that run loop bodies, the caller included.
    public let threadCount: Int
    private let state: PoolState
    /// Largest count one published loop can hold (index and count share a 64-bit ticket).
    static let maxLoopCount = (1 << 24) - 1

    /// Starts `threads - 1` workers (the caller is the last thread).
    /// - Parameters:
    ///   - threads: total threads; values below 1 are treated as 1.
    ///   - spinMicroseconds: how long an idle worker spins before it sleeps.
    public init(threads: Int, spinMicroseconds: Int = 200) {
        threadCount = max(1, threads)
        state = PoolState(spinNanoseconds: UInt64(max(0, spinMicroseconds)) * 1000)
        for index in 1..<threadCount {
            let state = self.state
            let thread = Thread { state.workerLoop() }
            thread.name = "lfm-worker-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit { state.shutDown() }

    /// Runs `body(i)` once for each `i` in `0..<count`, on the pool's threads and the caller's,
    /// and returns when all have finished.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        if count > Self.maxLoopCount {
            let chunk = (count + Self.maxLoopCount - 1) / Self.maxLoopCount
            parallelFor((count + chunk - 1) / chunk) { c in
                for i in (c * chunk)..<min(count, (c + 1) * chunk) { body(i) }
            }
            return
        }
        guard state.tryAcquire() else {
            for i in 0..<count { body(i) }
            return
        }
        defer { state.release() }
        withoutActuallyEscaping(body) { escaping in
            var job = Job(body: escaping)
            withUnsafeMutablePointer(to: &job) { pointer in
                state.run(job: UnsafeMutableRawPointer(pointer), count: count)
            }
        }
    }

    /// Splits `0..<total` into at most `threadCount * chunksPerThread` contiguous ranges whose
    /// bounds are multiples of `alignment` (except the end), and runs `body` on each in parallel.
    public func parallelRanges(_ total: Int, alignment: Int = 1, minimumChunk: Int = 1, chunksPerThread: Int = 4,
                               _ body: (Range<Int>) -> Void) {
        if total <= 0 { return }
        let align = max(1, alignment)
        let wanted = max(1, min(threadCount * max(1, chunksPerThread), total / max(1, minimumChunk)))
        var size = (total + wanted - 1) / wanted
        size = (size + align - 1) / align * align
        let chunks = (total + size - 1) / size
        if chunks <= 1 {
            body(0..<total)
            return
        }
        parallelFor(chunks) { c in body((c * size)..<min(total, (c + 1) * size)) }
    }
}

extension ThreadPool {
    /// Splits `0..<total` for work that streams its input once (a decode product): one large range
    /// per thread (three quarters of `total` between them), then the last quarter in ranges that
    /// shrink as it runs out (each a `2 × threadCount`-th of what is left, down to `minimumChunk`),
    /// claimed as threads free up. Most rows are read as a few long streams, and the threads finish
    /// within about one minimum range of each other whatever the size of the product.
    /// Bounds are multiples of `alignment` (except the end); no range is shorter than
    /// `minimumChunk` unless `total` is.
    public func parallelRangesGuided(_ total: Int, alignment: Int = 1, minimumChunk: Int = 1,
                                     _ body: (Range<Int>) -> Void) {
        if total <= 0 { return }
        let threads = threadCount
        let count = Self.guidedBounds(total, threads: threads, alignment: alignment, minimumChunk: minimumChunk) { _, _ in }
        if count <= 1 {
            body(0..<total)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: count + 1) { bounds in
            bounds[0] = 0
            Self.guidedBounds(total, threads: threads, alignment: alignment, minimumChunk: minimumChunk) { index, end in
                bounds[index + 1] = end
            }
            parallelFor(count) { c in body(bounds[c]..<bounds[c + 1]) }
        }
    }

    /// Calls `visit(index, end)` for each range of `parallelRangesGuided` in order (`threads` large
    /// ranges, then the shrinking tail) and returns how many there are.
    @discardableResult
    static func guidedBounds(_ total: Int, threads: Int, alignment: Int, minimumChunk: Int,
                             _ visit: (Int, Int) -> Void) -> Int {
        let align = max(1, alignment), threads = max(1, threads), minimum = max(1, minimumChunk)
        func aligned(_ n: Int) -> Int { (n + align - 1) / align * align }
        let large = aligned(max(minimum, total * 3 / (4 * threads)))
        var start = 0, index = 0
        while start < total {
            let size = index < threads ? large : aligned(max(minimum, (total - start) / (2 * threads)))
            let end = min(total, start + size)
            visit(index, end)
            start = end
            index += 1
        }
        return index
    }
}

/// The closure of the running loop; workers reach it through a raw pointer published with the loop.
struct Job {
    let body: (Int) -> Void
}

/// Shared state of a pool and its workers (kept alive by both).
final class PoolState: @unchecked Sendable {
    // @unchecked: the words are only accessed with the atomic C operations; the sleep/wake state under `mutex` and `condition`.
    // Each atomic word sits on its own 128-byte line to avoid false sharing.
    private let words: UnsafeMutablePointer<Int>
    private var generation: UnsafeMutablePointer<Int> { words }
    /// (count << 24) | next index of the running loop.
    private var ticket: UnsafeMutablePointer<Int> { words + 16 }
    private var done: UnsafeMutablePointer<Int> { words + 32 }
    private var jobPointer: UnsafeMutablePointer<Int> { words + 48 }
    private var sleepers: UnsafeMutablePointer<Int> { words + 64 }
    private var stop: UnsafeMutablePointer<Int> { words + 80 }
    private var busy: UnsafeMutablePointer<Int> { words + 96 }
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private let spinNanoseconds: UInt64

    init(spinNanoseconds: UInt64) {
        self.spinNanoseconds = spinNanoseconds
        words = .allocate(capacity: 112)
        words.initialize(repeating: 0, count: 112)
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    // Never deinitialized while a worker runs: workers hold a strong reference until they exit.
    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
        words.deallocate()
    }

    func tryAcquire() -> Bool { lfm_atomic_cas(busy, 0, 1) != 0 }
    func release() { lfm_atomic_store(busy, 0) }

    /// Publishes a loop, works on it, and waits until every index has run.
    func run(job: UnsafeMutableRawPointer, count: Int) {
        lfm_atomic_store(done, 0)
        lfm_atomic_store(jobPointer, Int(bitPattern: job))
        lfm_atomic_store(ticket, count << 24)
        lfm_atomic_fetch_add(generation, 1)
        if lfm_atomic_load(sleepers) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        claimAndRun()
        var spins = 0
        while lfm_atomic_load(done) < count {
            if spins < 4096 {
                lfm_cpu_pause()
                spins += 1
            } else {
                // A worker holding an index was descheduled: give it the core.
                sched_yield()
            }
        }
    }

    /// Claims indices of the published loop until none are left.
    private func claimAndRun() {
        let mask = (1 << 24) - 1
        while true {
            let t = lfm_atomic_load(ticket)
            let index = t & mask
            let count = (t >> 24) & mask
            if index >= count { return }
            if lfm_atomic_cas(ticket, t, t + 1) == 0 { continue }
            // The loop cannot complete before this index does, so the job is still live.
            let job = UnsafeRawPointer(bitPattern: lfm_atomic_load(jobPointer))
            Self.invoke(job, index)
            lfm_atomic_fetch_add(done, 1)
        }
    }

    @inline(never)
    private static func invoke(_ job: UnsafeRawPointer?, _ index: Int) {
        guard let job else { return }
        job.assumingMemoryBound(to: Job.self).pointee.body(index)
    }

    func workerLoop() {
        // Generation 0 is "no loop yet": a worker that starts late still joins the first loop.
        var seen = 0
        while true {
            var current = lfm_atomic_load(generation)
            if current == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while current == seen && lfm_atomic_load(stop) == 0 {
                    lfm_cpu_pause()
                    spins += 1
                    if spins & 255 == 0, DispatchTime.now().uptimeNanoseconds - start > spinNanoseconds {
                        current = sleep(until: seen)
                        break
                    }
                    current = lfm_atomic_load(generation)
                }
            }
            if lfm_atomic_load(stop) != 0 { return }
            seen = current
            claimAndRun()
        }
    }

    /// Sleeps until the generation differs from `seen` (or the pool stops); returns the generation.
    private func sleep(until seen: Int) -> Int {
        pthread_mutex_lock(mutex)
        lfm_atomic_fetch_add(sleepers, 1)
        var current = lfm_atomic_load(generation)
        while current == seen && lfm_atomic_load(stop) == 0 {
            pthread_cond_wait(condition, mutex)
            current = lfm_atomic_load(generation)
        }
        lfm_atomic_fetch_add(sleepers, -1)
        pthread_mutex_unlock(mutex)
        return current
    }

    func shutDown() {
        lfm_atomic_store(stop, 1)
        lfm_atomic_fetch_add(generation, 1)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}
