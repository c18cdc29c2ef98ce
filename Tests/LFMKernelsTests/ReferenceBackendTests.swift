import Testing
@testable import LFMKernels

@Suite struct ReferenceBackendTests {
    @Test func matmulOfIdentityReturnsInput() {
        let backend = ReferenceBackend()
        let w = WeightMatrix.owning(rows: 3, cols: 3, values: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let x: [Float] = [1, 2, 3]
        var y = [Float](repeating: 0, count: 3)
        backend.matmul(w, x: x, xStride: 3, m: 1, y: &y, yStride: 3)
        #expect(y == x)
    }
}
