import Foundation

/// The global functions transformers' template environment provides.
enum Globals {
    static let maxRange = 10_000_000

    /// - Parameter budget: the render's work budget; `range()` charges one step per item before making them.
    static func make(now: @escaping () -> Date, budget: WorkBudget) -> [String: Value] {
        var g: [String: Value] = [:]
        g["range"] = .callable(Callable(name: "range") { args, _ in
            var ints: [Int] = []
            for a in args {
                guard let n = a.numeric, case .int(let i) = n else {
                    throw TemplateFailure.type("'\(a.typeName)' object cannot be interpreted as an integer")
                }
                ints.append(i)
            }
            let start: Int, stop: Int, step: Int
            switch ints.count {
            case 1: (start, stop, step) = (0, ints[0], 1)
            case 2: (start, stop, step) = (ints[0], ints[1], 1)
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw TemplateFailure.type("range expected 1 to 3 arguments, got \(ints.count)")
            }
            guard step != 0 else { throw TemplateFailure.type("range() arg 3 must not be zero") }
            // Count in floating point: the Int arithmetic could overflow on hostile bounds.
            let span = step > 0 ? Double(stop) - Double(start) : Double(start) - Double(stop)
            let count = span <= 0 ? 0 : (span / abs(Double(step))).rounded(.up)
            guard count <= Double(maxRange) else { throw TemplateFailure.limit("range() with more than \(maxRange) items") }
            try budget.chargeItems(Int(count))
            return .array(Array(stride(from: start, to: stop, by: step)).map { .int($0) })
        })
        g["namespace"] = .callable(Callable(name: "namespace") { args, kwargs in
            var attrs = OrderedDict()
            for a in args {
                guard case .object(let o) = a else {
                    throw TemplateFailure.type("namespace() positional argument must be a mapping")
                }
                for (k, v) in o.pairs { attrs[k] = v }
            }
            for (k, v) in kwargs { attrs[k] = v }
            if let bad = attrs.keys.first(where: { $0.hasPrefix("_") }) {
                throw TemplateFailure.security("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(bad)'. Please rename the attribute.")
            }
            return .namespace(Namespace(attrs))
        })
        g["dict"] = .callable(Callable(name: "dict") { args, kwargs in
            var d = OrderedDict()
            if let first = args.first {
                switch first {
                case .object(let o): d = o
                case .array(let items), .tuple(let items):
                    for item in items {
                        guard case .tuple(let kv) = item.asTuple, kv.count == 2 else {
                            throw TemplateFailure.type("dictionary update sequence element has wrong length")
                        }
                        d[kv[0].pythonString] = kv[1]
                    }
                default: throw TemplateFailure.type("'\(first.typeName)' object is not iterable")
                }
            }
            for (k, v) in kwargs { d[k] = v }
            return .object(d)
        })
        g["raise_exception"] = .callable(Callable(name: "raise_exception") { args, kwargs in
            let message = args.first ?? kwargs.first { $0.0 == "message" }?.1 ?? .undefined
            throw TemplateFailure.raised(message.pythonString)
        })
        g["strftime_now"] = .callable(Callable(name: "strftime_now") { args, _ in
            guard let f = args.first, case .string(let format) = f else {
                throw TemplateFailure.type("strftime_now() argument must be str")
            }
            return .string(Strftime.format(now(), format))
        })
        return g
    }
}

extension Value {
    var asTuple: Value {
        switch self {
        case .array(let a): return .tuple(a)
        default: return self
        }
    }
}

/// Python/C `strftime` for the local time zone and the C locale.
enum Strftime {
    private static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    static func format(_ date: Date, _ format: String, timeZone: TimeZone = .current) -> String {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday, .nanosecond], from: date)
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1  // 0 = Sunday
        let dayOfYear = cal.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ n: Int, _ w: Int, _ noPad: Bool) -> String {
            let s = String(n)
            return noPad || s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        var out = ""
        var chars = Array(format)[...]
        while let ch = chars.first {
            chars = chars.dropFirst()
            guard ch == "%", var code = chars.first else { out.append(ch); continue }
            chars = chars.dropFirst()
            var noPad = false
            if code == "-", let next = chars.first { noPad = true; code = next; chars = chars.dropFirst() }
            switch code {
            case "Y": out += String(year)
            case "y": out += pad(year % 100, 2, noPad)
            case "m": out += pad(month, 2, noPad)
            case "d": out += pad(day, 2, noPad)
            case "e": out += noPad ? String(day) : (day < 10 ? " " : "") + String(day)
            case "H": out += pad(hour, 2, noPad)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12, 2, noPad)
            case "M": out += pad(minute, 2, noPad)
            case "S": out += pad(second, 2, noPad)
            case "f": out += pad((c.nanosecond ?? 0) / 1000, 6, false)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j": out += pad(dayOfYear, 3, noPad)
            case "A": out += days[weekday]
            case "a": out += String(days[weekday].prefix(3))
            case "B": out += months[month - 1]
            case "b", "h": out += String(months[month - 1].prefix(3))
            case "w": out += String(weekday)
            case "u": out += String(weekday == 0 ? 7 : weekday)
            case "F": out += "\(year)-\(pad(month, 2, false))-\(pad(day, 2, false))"
            case "D": out += "\(pad(month, 2, false))/\(pad(day, 2, false))/\(pad(year % 100, 2, false))"
            case "T": out += "\(pad(hour, 2, false)):\(pad(minute, 2, false)):\(pad(second, 2, false))"
            case "R": out += "\(pad(hour, 2, false)):\(pad(minute, 2, false))"
            case "Z": out += timeZone.abbreviation(for: date) ?? ""
            case "z":
                let off = timeZone.secondsFromGMT(for: date) / 60
                out += (off < 0 ? "-" : "+") + pad(abs(off) / 60, 2, false) + pad(abs(off) % 60, 2, false)
            case "n": out += "\n"
            case "t": out += "\t"
            case "%": out += "%"
            default:
                out.append("%")
                if noPad { out.append("-") }
                out.append(code)
            }
        }
        return out
    }
}
