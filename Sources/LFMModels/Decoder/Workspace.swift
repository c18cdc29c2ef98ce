import Foundation

/// Widths of the scratch rows a forward pass of one model needs.
struct WorkspaceSizes: Equatable {
    var hidden = 0, wide = 0, wide2 = 0, narrow = 0, gate = 0
    var experts = false
    /// Floats `wide` and `wide2` hold at least, whatever the rows: one decode row's chosen experts
    /// side by side (top-k × expert width).
    var expertSlots = 0

    init(_ w: DecoderWeights) {
        let h = w.hiddenSize
        hidden = h
        narrow = h
        for layer in w.layers {
            switch layer.mixer {
            case .conv: wide = max(wide, 3 * h)
            case .recurrence(let r): wide = max(wide, 2 * h + r.groups)
            case .attention(let a):
                wide = max(wide, a.queryDim + 2 * a.keyValueDim)
                narrow = max(narrow, a.queryDim)
                if a.gate != nil { gate = max(gate, a.heads) }
            }
            switch layer.feedForward {
            case .dense(let f):
                wide = max(wide, f.width)
                wide2 = max(wide2, f.width)
            case .experts(let e):
                experts = true
                for f in e.experts {
                    wide = max(wide, f.width)
                    wide2 = max(wide2, f.width)
                    expertSlots = max(expertSlots, e.topK * f.width)
                }
            }
        }
    }
}

/// Scratch buffers for one forward chunk of `rows` positions.
final class Workspace {
    let rows: Int
    let sizes: WorkspaceSizes
    let x, normed, mixed, wide, wide2, narrow, gate, gathered, expertOut: UnsafeMutablePointer<Float>
    private let storage: UnsafeMutablePointer<Float>

    init(rows: Int, sizes s: WorkspaceSizes) {
        self.rows = rows
        self.sizes = s
        let h = s.hidden
        func floats(_ width: Int, atLeast minimum: Int = 0) -> Int { (max(width * rows, minimum) + 15) / 16 * 16 }
        // In pointer order: x, normed, mixed, wide, wide2, narrow, gate, gathered, expertOut.
        let counts = [floats(h), floats(h), floats(h), floats(s.wide, atLeast: s.expertSlots), floats(s.wide2, atLeast: s.expertSlots),
                      floats(s.narrow), floats(s.gate), floats(s.experts ? h : 0), floats(s.experts ? h : 0)]
        let total = max(counts.reduce(0, +), 16)
        storage = .allocate(capacity: total)
        storage.initialize(repeating: 0, count: total)
        var offset = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for count in counts { pointers.append(storage + offset); offset += count }
        (x, normed, mixed, wide, wide2, narrow) = (pointers[0], pointers[1], pointers[2], pointers[3], pointers[4], pointers[5])
        (gate, gathered, expertOut) = (pointers[6], pointers[7], pointers[8])
    }

    deinit { storage.deallocate() }
}

/// Reuses workspaces across calls (one per concurrent forward).
final class WorkspacePool: @unchecked Sendable {
    // @unchecked: `free` is only touched under `lock`.
    private let lock = NSLock()
    private var free: [Workspace] = []

    func take(rows: Int, sizes: WorkspaceSizes) -> Workspace {
        lock.lock()
        defer { lock.unlock() }
        if let index = free.firstIndex(where: { $0.rows >= rows && $0.sizes == sizes }) { return free.remove(at: index) }
        return Workspace(rows: rows, sizes: sizes)
    }

    func give(_ workspace: Workspace) {
        lock.lock()
        defer { lock.unlock() }
        free.append(workspace)
        if free.count > 4 { free.sort { $0.rows > $1.rows }; free.removeLast() }
    }
}
