/// The byte-level pushdown automaton over a compiled schema. A thread is a stack of frames;
/// `anyOf` makes several threads live at once.
extension JSONSchema {
    typealias Thread = [Frame]

    /// The "end of output" pseudo-byte.
    static let end = -1

    private var stackLimit: Int { 2 * options.maxNesting + 2 }

    func objectSchema(_ node: Int32) -> ObjectSchema {
        if case .object(let o) = nodes[Int(node)] { return o }
        return ObjectSchema(properties: [], additional: nil, maxAdditional: 0)
    }

    private func literalList(_ node: Int32) -> [[UInt8]] {
        if case .literals(let l) = nodes[Int(node)] { return l }
        return []
    }

    private func numberConstraint(_ node: Int32) -> NumberConstraint {
        if case .number(let c) = nodes[Int(node)] { return c }
        return NumberConstraint(integer: true, maxIntegerDigits: 1, maxFractionDigits: 0)
    }

    /// Appends to `out` every thread that results from feeding `byte` (or `end`) to `thread`.
    func feed(_ thread: Thread, _ byte: Int, into out: inout [Thread]) {
        guard let top = thread.last else {
            if byte == JSONSchema.end { out.append(thread) }
            return
        }
        var t = thread
        let last = t.count - 1
        switch top {
        case .value(let n):
            guard byte != JSONSchema.end else { return }
            switch nodes[Int(n)] {
            case .anyOf(let alternatives):
                for a in alternatives {
                    t[last] = .value(Int32(a))
                    feed(t, byte, into: &out)
                }
            case .string:
                guard byte == 0x22 else { return }
                t[last] = .string(StringState(node: n))
                out.append(t)
            case .object(let object):
                guard byte == Int(object.style.open[0]), t.count <= options.maxNesting else { return }
                var state = ObjectState(node: n)
                if object.style.open.count > 1 { state.phase = .opening; state.pos = 1 }
                t[last] = .object(state)
                out.append(t)
            case .array:
                guard byte == 0x5B, t.count <= options.maxNesting else { return }
                t[last] = .array(ArrayState(node: n))
                out.append(t)
            case .number:
                t[last] = .number(n, NumberState())
                feed(t, byte, into: &out)
            case .literals(let list):
                t[last] = .literal(n, lo: 0, hi: Int32(list.count), pos: 0)
                feed(t, byte, into: &out)
            }
        case .string(var s):
            guard byte != JSONSchema.end else { return }
            switch stepString(&s, UInt8(byte)) {
            case .reject: return
            case .more:
                t[last] = .string(s)
                out.append(t)
            case .done:
                t.removeLast()
                childDone(&t)
                out.append(t)
            }
        case .number(let n, let s):
            let c = numberConstraint(n)
            if byte != JSONSchema.end, let next = NumberMatcher.step(s, UInt8(byte), c) {
                t[last] = .number(n, next)
                out.append(t)
            }
            if NumberMatcher.isComplete(s, c) {
                var popped = thread
                popped.removeLast()
                childDone(&popped)
                feed(popped, byte, into: &out)
            }
        case .literal(let n, let lo, let hi, let pos):
            let list = literalList(n)
            if byte != JSONSchema.end {
                let (a, b) = narrow(list, lo, hi, pos, UInt8(byte))
                if a < b {
                    if b - a == 1 && list[Int(a)].count == Int(pos) + 1 {
                        t.removeLast()
                        childDone(&t)
                    } else {
                        t[last] = .literal(n, lo: a, hi: b, pos: pos + 1)
                    }
                    out.append(t)
                }
            }
            if lo < hi, list[Int(lo)].count == Int(pos) {
                var popped = thread
                popped.removeLast()
                childDone(&popped)
                feed(popped, byte, into: &out)
            }
        case .object(let o):
            guard byte != JSONSchema.end else { return }
            stepObject(t, o, UInt8(byte), into: &out)
        case .array(var a):
            guard byte != JSONSchema.end else { return }
            guard case .array(let items, let minItems, let maxItems) = nodes[Int(a.node)] else { return }
            let b = UInt8(byte)
            switch a.phase {
            case .open, .afterComma:
                if a.phase == .open && b == 0x5D {
                    guard minItems == 0 else { return }
                    t.removeLast()
                    childDone(&t)
                    out.append(t)
                } else if a.phase == .afterComma && b == 0x20 && !a.spaced {
                    a.spaced = true
                    t[last] = .array(a)
                    out.append(t)
                } else if Int(a.count) < maxItems {
                    a.phase = .inValue
                    t[last] = .array(a)
                    t.append(.value(Int32(items)))
                    feed(t, byte, into: &out)
                }
            case .afterValue:
                if b == 0x2C && Int(a.count) < maxItems {
                    a.phase = .afterComma
                    a.spaced = false
                    t[last] = .array(a)
                    out.append(t)
                } else if b == 0x5D && Int(a.count) >= minItems {
                    t.removeLast()
                    childDone(&t)
                    out.append(t)
                }
            case .inValue: return
            }
        }
    }

    private func additionalAllowed(_ o: ObjectState, _ object: ObjectSchema) -> Bool {
        object.additional != nil && Int(o.additionalCount) < object.maxAdditional && object.firstRequired(from: Int(o.next)) == nil
    }

    private func stepObject(_ thread: Thread, _ state: ObjectState, _ b: UInt8, into out: inout [Thread]) {
        var t = thread
        var o = state
        let last = t.count - 1
        let object = objectSchema(o.node)
        let next = Int(o.next)
        let style = object.style
        /// The first closing byte: done, or the rest of a multi-byte closing to come.
        func close() {
            if style.close.count == 1 {
                t.removeLast()
                childDone(&t)
            } else {
                o.phase = .closing
                o.pos = 1
                t[last] = .object(o)
            }
            out.append(t)
        }
        switch o.phase {
        case .opening, .closing:
            let bytes = o.phase == .opening ? style.open : style.close
            guard b == bytes[Int(o.pos)] else { return }
            o.pos += 1
            if Int(o.pos) < bytes.count {
                t[last] = .object(o)
            } else if o.phase == .opening {
                o.phase = .open
                o.pos = 0
                t[last] = .object(o)
            } else {
                t.removeLast()
                childDone(&t)
            }
            out.append(t)
        case .open, .afterComma:
            if o.phase == .open && b == style.close[0] {
                guard object.firstRequired(from: next) == nil else { return }
                close()
            } else if o.phase == .afterComma && b == 0x20 && !o.spaced {
                o.spaced = true
                t[last] = .object(o)
                out.append(t)
            } else if !style.quotedKeys {
                // A bare key: this byte is its first.
                guard !object.keyTables[next].isEmpty else { return }
                var declared = o
                declared.phase = .declaredKey
                declared.lo = 0
                declared.hi = Int32(object.keyTables[next].count)
                declared.pos = 0
                var k = thread
                k[last] = .object(declared)
                stepObject(k, declared, b, into: &out)
            } else if b == 0x22 {
                let table = object.keyTables[next]
                if !table.isEmpty {
                    var declared = o
                    declared.phase = .declaredKey
                    declared.lo = 0
                    declared.hi = Int32(table.count)
                    declared.pos = 1
                    t[last] = .object(declared)
                    out.append(t)
                }
                if additionalAllowed(o, object) {
                    var keyed = o
                    keyed.phase = .additionalKey
                    keyed.current = -1
                    var k = thread
                    k[last] = .object(keyed)
                    k.append(.string(StringState(node: o.node, isKey: true, lo: 0, hi: Int32(object.allKeys.count))))
                    out.append(k)
                }
            }
        case .declaredKey:
            let table = object.keyTables[next]
            let (lo, hi) = narrowKeys(table, o.lo, o.hi, o.pos, b)
            guard lo < hi else { return }
            if hi - lo == 1 && table[Int(lo)].literal.count == Int(o.pos) + 1 {
                o.current = Int32(table[Int(lo)].property)
                // A bare key's literal ends with its separator (`name=`, so no key is a prefix of another).
                o.phase = style.quotedKeys ? .colon : .afterColon
                o.spaced = false
            } else {
                o.lo = lo
                o.hi = hi
                o.pos += 1
            }
            t[last] = .object(o)
            out.append(t)
        case .colon:
            guard b == style.separator else { return }
            o.phase = .afterColon
            o.spaced = false
            t[last] = .object(o)
            out.append(t)
        case .afterColon:
            if b == 0x20 && !o.spaced {
                o.spaced = true
                t[last] = .object(o)
                out.append(t)
                return
            }
            guard t.count < stackLimit else { return }
            let valueNode = o.current >= 0 ? object.properties[Int(o.current)].node : (object.additional ?? 0)
            o.phase = .inValue
            t[last] = .object(o)
            t.append(.value(Int32(valueNode)))
            feed(t, Int(b), into: &out)
        case .afterValue:
            if b == 0x2C {
                guard !object.keyTables[next].isEmpty || additionalAllowed(o, object) else { return }
                o.phase = .afterComma
                o.spaced = false
                t[last] = .object(o)
                out.append(t)
            } else if b == style.close[0] {
                guard object.firstRequired(from: next) == nil else { return }
                close()
            }
        case .inValue, .additionalKey: return
        }
    }

    /// Tells the frame now on top that its child value finished.
    private func childDone(_ t: inout Thread) {
        guard let top = t.last else { return }
        switch top {
        case .object(var o):
            if o.phase == .additionalKey {
                o.phase = .colon
            } else {
                o.phase = .afterValue
                if o.current >= 0 { o.next = o.current + 1 } else { o.additionalCount += 1 }
            }
            t[t.count - 1] = .object(o)
        case .array(var a):
            a.count += 1
            a.phase = .afterValue
            t[t.count - 1] = .array(a)
        default: break
        }
    }

    enum StringStep { case more, done, reject }

    /// One byte inside a string (after its opening quote).
    func stepString(_ s: inout StringState, _ b: UInt8) -> StringStep {
        let (minLength, maxLength): (Int32, Int32)
        if s.isKey {
            (minLength, maxLength) = (0, Int32(options.maxKeyLength))
        } else if case .string(let lo, let hi) = nodes[Int(s.node)] {
            (minLength, maxLength) = (Int32(lo), Int32(hi))
        } else {
            return .reject
        }
        if s.escape == 1 {
            switch b {
            case 0x22, 0x5C, 0x6E, 0x72, 0x74: s.escape = 0
            case 0x2F, 0x62, 0x66:
                guard !options.pythonLiterals else { return .reject }   // Python reads \/ \b \f as two characters
                s.escape = 0
            case 0x75: s.escape = 2
            default: return .reject
            }
            return .more
        }
        if s.escape >= 2 {
            let lower = b | 0x20
            let isHex = (b >= 0x30 && b <= 0x39) || (lower >= 0x61 && lower <= 0x66)
            guard isHex else { return .reject }
            if s.escape == 2 { s.firstHex = lower }
            // No surrogates (\uD800–\uDFFF): their pairs would miscount code points.
            if s.escape == 3 && s.firstHex == 0x64 && ((b >= 0x38 && b <= 0x39) || (lower >= 0x61 && lower <= 0x66)) { return .reject }
            s.escape = s.escape == 5 ? 0 : s.escape + 1
            return .more
        }
        if s.utf8 != 0 {
            let ok: Bool
            switch s.utf8 {
            case 4: ok = b >= 0xA0 && b <= 0xBF; s.utf8 = 1
            case 5: ok = b >= 0x80 && b <= 0x9F; s.utf8 = 1
            case 6: ok = b >= 0x90 && b <= 0xBF; s.utf8 = 2
            case 7: ok = b >= 0x80 && b <= 0x8F; s.utf8 = 2
            default: ok = b >= 0x80 && b <= 0xBF; s.utf8 -= 1
            }
            guard ok else { return .reject }
            if s.isKey { keyByte(&s, b) }
            return .more
        }
        switch b {
        case 0x22:
            guard s.chars >= minLength else { return .reject }
            if s.isKey {
                let keys = objectSchema(s.node).allKeys
                let (lo, hi) = narrow(keys, s.lo, s.hi, s.bytes, b)
                if lo < hi { return .reject }   // the key of a declared property
            }
            return .done
        case 0x5C:
            guard !s.isKey, s.chars < maxLength else { return .reject }
            s.chars += 1
            s.escape = 1
            return .more
        case 0..<0x20: return .reject
        default: break
        }
        guard s.chars < maxLength else { return .reject }
        switch b {
        case 0x20..<0x80: s.utf8 = 0
        case 0xC2...0xDF: s.utf8 = 1
        case 0xE0: s.utf8 = 4
        case 0xED: s.utf8 = 5
        case 0xE1...0xEF: s.utf8 = 2
        case 0xF0: s.utf8 = 6
        case 0xF4: s.utf8 = 7
        case 0xF1...0xF3: s.utf8 = 3
        default: return .reject
        }
        s.chars += 1
        if s.isKey { keyByte(&s, b) }
        return .more
    }

    private func keyByte(_ s: inout StringState, _ b: UInt8) {
        if s.lo < s.hi {
            let (lo, hi) = narrow(objectSchema(s.node).allKeys, s.lo, s.hi, s.bytes, b)
            s.lo = lo
            s.hi = hi
        }
        s.bytes += 1
    }

    // MARK: Distance to completion

    /// Fewest bytes that complete the thread's value (`JSONSchema.infinite` if none).
    func distance(_ t: Thread) -> Int {
        var total = 0
        for (i, frame) in t.enumerated() {
            total = min(total + cost(frame, top: i == t.count - 1), JSONSchema.infinite)
        }
        return total
    }

    /// Bytes to finish the top frame itself, excluding everything below it.
    func cost(_ frame: Frame, top: Bool) -> Int {
        let inf = JSONSchema.infinite
        func add(_ values: Int...) -> Int { min(values.reduce(0) { min($0 + $1, inf) }, inf) }
        switch frame {
        case .value(let n): return minSize[Int(n)]
        case .string(let s):
            let minLength = s.isKey ? 0 : { if case .string(let lo, _) = nodes[Int(s.node)] { return lo }; return 0 }()
            let escape = s.escape == 0 ? 0 : (s.escape == 1 ? 1 : 6 - Int(s.escape))
            return StringState.pending[Int(s.utf8)] + escape + max(0, minLength - Int(s.chars)) + 1
        case .number(let n, let s): return NumberMatcher.distance(s, numberConstraint(n)) ?? inf
        case .literal(let n, let lo, let hi, let pos):
            let list = literalList(n)
            var best = inf
            for i in Int(lo)..<Int(hi) { best = min(best, list[i].count - Int(pos)) }
            return best
        case .object(let o):
            let object = objectSchema(o.node)
            let next = Int(o.next)
            // Closing bytes past the first (requiredCost and the cases below count one).
            let extra = object.style.close.count - 1
            // The separator, unless the key literal holds it.
            let sep = object.style.quotedKeys ? 1 : 0
            func after(_ current: Int32) -> Int { current >= 0 ? object.requiredCost[Int(current) + 1] : object.requiredCost[next] }
            func valueSize(_ current: Int32) -> Int {
                current >= 0 ? minSize[object.properties[Int(current)].node] : object.additional.map { minSize[$0] } ?? inf
            }
            let base: Int
            switch o.phase {
            case .open:
                base = object.firstRequired(from: next) == nil ? 1 : object.requiredCost[next]
            case .opening:
                let open = object.firstRequired(from: next) == nil ? 1 : object.requiredCost[next]
                base = add(object.style.open.count - Int(o.pos), open)
            case .closing: return object.style.close.count - Int(o.pos)
            case .afterComma:
                if object.firstRequired(from: next) != nil { base = object.requiredCost[next]; break }
                var best = inf
                for entry in object.keyTables[next] {
                    best = min(best, add(entry.literal.count, sep, minSize[object.properties[entry.property].node], 1))
                }
                if additionalAllowed(o, object), let a = object.additional { best = min(best, add(3, minSize[a], 1)) }
                base = best
            case .declaredKey:
                let table = object.keyTables[next]
                var best = inf
                for i in Int(o.lo)..<Int(o.hi) {
                    let entry = table[i]
                    best = min(best, add(entry.literal.count - Int(o.pos), sep, minSize[object.properties[entry.property].node],
                                         object.requiredCost[entry.property + 1], 1))
                }
                base = best
            case .colon: base = add(1, valueSize(o.current), after(o.current), 1)
            case .afterColon: base = add(valueSize(o.current), after(o.current), 1)
            case .inValue: base = add(after(o.current), 1)
            case .additionalKey: base = add(1, valueSize(-1), object.requiredCost[next], 1)
            case .afterValue: base = add(object.requiredCost[next], 1)
            }
            return add(base, extra)
        case .array(let a):
            guard case .array(let items, let minItems, _) = nodes[Int(a.node)] else { return inf }
            let item = min(minSize[items] + 1, inf)
            let count = Int(a.count)
            switch a.phase {
            case .open: return minItems == 0 ? 1 : add(min(minItems * item, inf))
            case .inValue: return add(max(0, minItems - count - 1) * item, 1)
            case .afterValue: return add(max(0, minItems - count) * item, 1)
            case .afterComma: return add(item - 1, max(0, minItems - count - 1) * item, 1)
            }
        }
    }
}
