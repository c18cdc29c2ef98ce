import Foundation

// Forecasting from one CSV series (rows = time steps, columns = variables): every window of
// `lookback` consecutive rows is a case whose targets are the next `horizon` rows (all
// columns). The model reads the window and, at its last step, predicts each target as a change
// from the window's last row in units of the column's training standard deviation:
//   output[h, c] = (y[t + 1 + h, c] − x[t, c]) / std[c]
// so a trend is not an extrapolation of the input scale, and the naive "no change" forecast is
// an output of zero. `ForecastSpec.denormalize` turns outputs back into values.

/// The window geometry of a forecasting task (stored in a model folder under `lfm.forecast`).
public struct ForecastSpec: Sendable, Equatable {
    /// Input rows per window.
    public var lookback: Int
    /// Future rows predicted from each window.
    public var horizon: Int

    /// Creates a spec; both must be ≥ 1.
    public init(lookback: Int, horizon: Int) throws {
        guard lookback >= 1 else { throw DataError(file: "--lookback", line: 0, message: "must be >= 1 (got \(lookback))") }
        guard horizon >= 1 else { throw DataError(file: "--horizon", line: 0, message: "must be >= 1 (got \(horizon))") }
        self.lookback = lookback
        self.horizon = horizon
    }

    /// Outputs per window for a series of `columns` variables: horizon × columns.
    public func outputs(columns: Int) -> Int { horizon * columns }

    /// Network outputs [horizon, columns] (normalised changes) → forecast values, given the
    /// window's last input row in original units and the per-column standard deviations.
    public func denormalize(_ outputs: [Float], lastRow: ArraySlice<Float>, std: [Float]) -> [Float] {
        let c = lastRow.count
        return outputs.enumerated().map { k, o in lastRow[lastRow.startIndex + k % c] + o * (std.count == c ? std[k % c] : 1) }
    }

    /// Targets in original units → the normalised changes the network is trained on.
    func normalize(_ targets: [Float], lastRow: ArraySlice<Float>, std: [Float]) -> [Float] {
        let c = lastRow.count
        return targets.enumerated().map { k, y in (y - lastRow[lastRow.startIndex + k % c]) / (std.count == c ? std[k % c] : 1) }
    }
}

/// Cuts a series into forecasting windows.
public enum ForecastWindows {
    /// Reads a CSV series (no header; finite numbers only) and windows it.
    public static func read(_ path: String, spec: ForecastSpec, expectedColumns: Int? = nil) throws -> TimeSeriesDataset {
        let (values, steps, columns) = try CSVFormat.read(path, expectedColumns: expectedColumns)
        return try make(values: values, steps: steps, columns: columns, spec: spec, file: path, lines: try CSVFormat.dataLines(path))
    }

    /// All windows of a [steps, columns] series: window `w` reads rows w ..< w + lookback and
    /// targets rows w + lookback ..< w + lookback + horizon. `lines` (1-based file line of each
    /// row, optional) names the window's last input row in errors.
    public static func make(values: [Float], steps: Int, columns: Int, spec: ForecastSpec, file: String,
                            lines: [Int]? = nil) throws -> TimeSeriesDataset {
        guard columns >= 1, values.count == steps * columns else {
            throw DataError(file: file, line: 0, message: "expected \(steps) × \(columns) values, found \(values.count)")
        }
        let needed = spec.lookback + spec.horizon
        guard steps >= needed else {
            throw DataError(file: file, line: 0, message: "series too short: \(steps) rows, a window needs lookback \(spec.lookback) + horizon \(spec.horizon) = \(needed)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let row = bad / columns
            throw DataError(file: file, line: lines.map { row < $0.count ? $0[row] : 0 } ?? row + 1,
                            message: "column \(bad % columns + 1): \(values[bad]) is not a finite number")
        }
        var series: [LabeledSeries] = []
        series.reserveCapacity(steps - needed + 1)
        for w in 0...(steps - needed) {
            let input = Array(values[(w * columns)..<((w + spec.lookback) * columns)])
            let start = (w + spec.lookback) * columns
            let targets = Array(values[start..<(start + spec.horizon * columns)])
            let lastRow = w + spec.lookback - 1
            series.append(LabeledSeries(values: input, steps: spec.lookback, line: lines.map { lastRow < $0.count ? $0[lastRow] : 0 } ?? lastRow + 1,
                                        targets: targets))
        }
        return TimeSeriesDataset(file: file, features: columns, series: series, classLabels: [], isClassification: false, forecast: spec)
    }
}
