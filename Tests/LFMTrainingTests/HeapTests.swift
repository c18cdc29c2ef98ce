#if canImport(Glibc)
import Glibc
import Foundation
import Testing
@testable import LFMTraining

/// `keepTrainingBuffersInHeap` on glibc: a thread that frees all its buffers and allocates them
/// again (a training step) gets the same pages back instead of fresh ones to fault in and zero.
@Suite struct TrainingHeapTests {
    /// Minor page faults of the calling thread so far.
    private static func threadFaults() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD (1): Glibc does not export it without _GNU_SOURCE.
        getrusage(__rusage_who_t(1), &usage)
        return usage.ru_minflt
    }

    /// Allocates 160 buffers of 1 MiB, touches every page, frees them all; returns the faults.
    private static func step() -> Int {
        let before = threadFaults()
        var buffers: [UnsafeMutableRawPointer] = []
        for _ in 0..<160 {
            guard let p = malloc(1 << 20) else { continue }
            memset(p, 1, 1 << 20)
            buffers.append(p)
        }
        let faults = threadFaults() - before
        for p in buffers { free(p) }
        return faults
    }

    @Test func secondStepReusesTheFirstStepsPages() {
        #expect(keepTrainingBuffersInHeap())
        final class Box: @unchecked Sendable { var faults: [Int] = [] }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        // A thread of its own, as the training step runs off the main thread (its own malloc arena).
        let thread = Thread {
            box.faults = [Self.step(), Self.step(), Self.step()]
            done.signal()
        }
        thread.start()
        done.wait()
        // 160 MiB are 40,960 pages: the first step faults most of them in, later steps almost none.
        #expect(box.faults.count == 3)
        #expect((box.faults.first ?? 0) > 20_000, "faults \(box.faults)")
        #expect(box.faults.dropFirst().allSatisfy { $0 < 2_000 }, "faults \(box.faults)")
    }
}
#endif
