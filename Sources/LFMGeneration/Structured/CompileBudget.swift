/// Work counted against a bound of `SchemaCompileOptions`, with an optional wall-clock deadline
/// checked every so often: the count makes the bound deterministic, the deadline caps the time
/// whatever the machine.
struct WorkMeter {
    /// Most units.
    let limit: Int
    /// The bound's name and value, as errors report it (e.g. "maxFirstMaskWork 4000000").
    let bound: String
    /// Give up after this instant (nil: never).
    let deadline: ContinuousClock.Instant?
    /// The time limit in seconds, for the error message.
    let seconds: Double?
    private(set) var used = 0
    private var nextClockCheck = 0

    init(limit: Int, bound: String, deadline: ContinuousClock.Instant?, seconds: Double?) {
        self.limit = limit
        self.bound = bound
        self.deadline = deadline
        self.seconds = seconds
    }

    /// A meter for `options`' time limit starting now, with a count limit named `bound`.
    init(limit: Int, bound: String, options: SchemaCompileOptions, start: ContinuousClock.Instant = .now) {
        self.init(limit: limit, bound: bound,
                  deadline: options.timeLimit.map { start + .nanoseconds(Int64(min(max($0, 0), 1e6) * 1e9)) },
                  seconds: options.timeLimit)
    }

    /// Adds `units`; throws `tooComplex` past the count limit or the deadline. `what` describes the work.
    mutating func charge(_ units: Int, _ what: @autoclosure () -> String) throws {
        used += units
        if used > limit {
            throw StructuredOutputError.tooComplex(bound: bound, detail: "\(what()) needs more than \(limit) steps")
        }
        if used >= nextClockCheck {
            nextClockCheck = used + 4096
            try checkClock(what())
        }
    }

    /// Throws `tooComplex` when the deadline has passed.
    func checkClock(_ what: @autoclosure () -> String) throws {
        if let deadline, ContinuousClock.now > deadline {
            let limit = seconds.map { "\($0)" } ?? "?"
            throw StructuredOutputError.tooComplex(bound: "timeLimit \(limit) s", detail: "\(what()) takes longer than \(limit) s")
        }
    }
}
