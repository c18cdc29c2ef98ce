import CLFMKernels

// Attention of `CPUBackend`: KV rows stored in a `KVCacheType`, tiled online-softmax kernels
// (attention_template.h) split over (query-row block × KV-head block) items and, when the items are
// fewer than the threads can use, over key tiles whose partial results are merged.
extension CPUBackend {
    public func storeKeyValues(_ x: UnsafePointer<Float>, xStride: Int, rows: Int, width: Int, as type: KVCacheType,
                               into out: UnsafeMutableRawPointer, rowBytes: Int) {
        if rows <= 0 || width <= 0 { return }
        precondition(width % type.blockSize == 0, "KV rows of \(width) values cannot be stored as \(type)")
        let kind = self.kind, t = type.cType
        split(rows, work: rows * width * 8) { r in
            let xr = x + r.lowerBound * xStride, o = out + r.lowerBound * rowBytes
            switch kind {
            case .avx512: lfm_kv_store_rows_avx512(xr, xStride, r.count, width, t, o, rowBytes)
            case .avx2: lfm_kv_store_rows_avx2(xr, xStride, r.count, width, t, o, rowBytes)
            case .portable: lfm_kv_store_rows_portable(xr, xStride, r.count, width, t, o, rowBytes)
            }
        }
    }

    public func attention(q: UnsafePointer<Float>, qStride: Int, rows: Int, startPosition: Int,
                          keys: UnsafeRawPointer, values: UnsafeRawPointer, kvType: KVCacheType, kvRowBytes: Int,
                          heads: Int, kvHeads: Int, headDim: Int, window: Int, scale: Float,
                          out: UnsafeMutablePointer<Float>, outStride: Int) {
        if rows <= 0 || heads <= 0 || headDim <= 0 { return }
        precondition(kvHeads > 0 && heads % kvHeads == 0, "\(heads) query heads cannot share \(kvHeads) KV heads")
        precondition(headDim % kvType.blockSize == 0, "head dimension \(headDim) cannot be stored as \(kvType)")
        let rowsPerItem = min(rows, max(1, attentionRowsPerItem))
        let span = window > 0 ? min(window, startPosition + rows) : startPosition + rows
        let tiles = (span + rowsPerItem - 1 + Int(LFM_ATTENTION_TILE) - 1) / Int(LFM_ATTENTION_TILE)
        let kvHeadsPerItem: Int
        if let forced = attentionKVHeadsPerItem {
            kvHeadsPerItem = max(1, min(forced, kvHeads))
        } else {
            kvHeadsPerItem = rowsPerItem == 1 && tiles >= Self.attentionAllHeadsMinimumTiles ? kvHeads : 1
        }
        let items = (rows + rowsPerItem - 1) / rowsPerItem * ((kvHeads + kvHeadsPerItem - 1) / kvHeadsPerItem)
        // Multiply-adds: scores and weighted values for every visible (query, key) pair.
        let work = rows * heads * span * headDim * 2
        let splits = keySplits(items: items, tiles: tiles, work: work)
        var args = LFMAttention(q: q, qStride: qStride, rows: rows, startPosition: startPosition, keys: keys,
                                values: values, kvRowBytes: kvRowBytes, kvType: kvType.cType, heads: heads,
                                kvHeads: kvHeads, headDim: headDim, window: max(window, 0), scale: scale, out: out,
                                outStride: outStride, rowsPerItem: rowsPerItem, kvHeadsPerItem: kvHeadsPerItem,
                                splits: splits)
        let kind = self.kind
        withUnsafePointer(to: &args) { a in
            if splits == 1 {
                split(items, work: work) { r in
                    switch kind {
                    case .avx512: lfm_flash_attention_avx512(a, r.lowerBound, r.upperBound, nil)
                    case .avx2: lfm_flash_attention_avx2(a, r.lowerBound, r.upperBound, nil)
                    case .portable: lfm_flash_attention_portable(a, r.lowerBound, r.upperBound, nil)
                    }
                }
                return
            }
            let units = items * splits
            let partialFloats = units * rowsPerItem * kvHeadsPerItem * (heads / kvHeads) * (headDim + 2)
            let partials = UnsafeMutablePointer<Float>.allocate(capacity: partialFloats)
            defer { partials.deallocate() }
            pool.parallelRanges(units, chunksPerThread: 1) { r in
                switch kind {
                case .avx512: lfm_flash_attention_avx512(a, r.lowerBound, r.upperBound, partials)
                case .avx2: lfm_flash_attention_avx2(a, r.lowerBound, r.upperBound, partials)
                case .portable: lfm_flash_attention_portable(a, r.lowerBound, r.upperBound, partials)
                }
            }
            switch kind {
            case .avx512: lfm_flash_attention_merge_avx512(a, 0, items, partials)
            case .avx2: lfm_flash_attention_merge_avx2(a, 0, items, partials)
            case .portable: lfm_flash_attention_merge_portable(a, 0, items, partials)
            }
        }
    }

    /// Key ranges per attention item: 1 unless the items are too few to keep every thread busy
    /// and the keys are many (decode and short prefill chunks at depth); then enough ranges of at
    /// least four tiles each for about two units per thread. `attentionKeySplits` overrides it.
    func keySplits(items: Int, tiles: Int, work: Int) -> Int {
        if let forced = attentionKeySplits { return max(1, min(forced, tiles)) }
        let threads = pool.threadCount
        if threads == 1 || work < minimumParallelWork || items >= 2 * threads { return 1 }
        let wanted = (2 * threads + items - 1) / items
        return max(1, min(wanted, tiles / 4))
    }
}
