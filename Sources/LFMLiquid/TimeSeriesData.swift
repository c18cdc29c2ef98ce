import Foundation

// Readers for time-series files: the UCR/UEA `.ts` format (sktime's `load_from_tsfile` format:
// `@`-headers, then one case per line, dimensions separated by ':', values by ',', the class
// label or regression target last) and plain CSV (rows = time steps, columns = features, no
// header). Every error names the file and the line.

/// A data-file error: which file, which line (1-based; 0 = the file as a whole) and what.
public struct DataError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public let file: String
    /// 1-based line, 0 when not tied to a line.
    public let line: Int
    /// What is wrong (expected vs found).
    public let message: String
    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// One multivariate series with its label or target.
public struct LabeledSeries: Sendable, Equatable {
    /// [steps, features] row-major.
    public var values: [Float]
    /// Number of time steps.
    public var steps: Int
    /// Class label (classification files).
    public var label: String?
    /// Regression target (`@targetLabel true`).
    public var target: Float?
    /// Line of the file the series came from (for a forecasting window: the line of its last
    /// input step).
    public var line: Int
    /// Forecasting targets: the next `horizon` steps of every column, [horizon, columns]
    /// row-major (nil otherwise).
    public var targets: [Float]? = nil

    /// Creates a series.
    public init(values: [Float], steps: Int, label: String? = nil, target: Float? = nil, line: Int, targets: [Float]? = nil) {
        self.values = values
        self.steps = steps
        self.label = label
        self.target = target
        self.line = line
        self.targets = targets
    }

    /// The regression outputs a model is trained to produce: the forecasting targets, or the
    /// one `.ts` target.
    var regressionTargets: [Float] { targets ?? target.map { [$0] } ?? [] }
}

/// A set of series read from one file.
public struct TimeSeriesDataset: Sendable {
    /// Where it came from.
    public var file: String
    /// Features (dimensions) per step.
    public var features: Int
    /// The cases.
    public var series: [LabeledSeries]
    /// Labels declared by `@classLabel true …` (in declaration order), empty for regression.
    public var classLabels: [String]
    /// True for `@classLabel true`, false for `@targetLabel true` and forecasting windows.
    public var isClassification: Bool
    /// Set when the cases are forecasting windows cut from one series (`ForecastWindows`).
    public var forecast: ForecastSpec? = nil
}

/// The UCR/UEA `.ts` reader.
public enum TSFormat {
    /// Reads `path`.
    public static func read(_ path: String) throws -> TimeSeriesDataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError(file: path, line: 0, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw DataError(file: path, line: 0, message: "not a text file")
        }
        return try parse(text, file: path)
    }

    /// Parses `.ts` text (`file` names it in errors).
    public static func parse(_ text: String, file: String) throws -> TimeSeriesDataset {
        var dimensions: Int? = nil
        var equalLength: Bool? = nil
        var classLabels: [String] = []
        var hasClassLabel = false, hasTarget = false
        var inData = false
        var series: [LabeledSeries] = []
        var lineNumber = 0
        var features: Int? = nil
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            func fail(_ message: String) -> DataError { DataError(file: file, line: lineNumber, message: message) }
            if !inData {
                guard line.hasPrefix("@") else { throw fail("expected an @ header or @data before the data (found \"\(line.prefix(40))\")") }
                let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                let key = parts[0].lowercased()
                switch key {
                case "@data": inData = true
                case "@dimensions", "@dimension":
                    guard parts.count == 2, let d = Int(parts[1]), d >= 1 else { throw fail("@dimensions needs a positive integer") }
                    dimensions = d
                case "@equallength":
                    guard parts.count == 2, let b = Bool(parts[1].lowercased()) else { throw fail("@equalLength needs true or false") }
                    equalLength = b
                case "@timestamps":
                    if parts.count == 2, parts[1].lowercased() == "true" { throw fail("@timeStamps true is not supported (expected false)") }
                case "@classlabel":
                    guard parts.count >= 2, let b = Bool(parts[1].lowercased()) else { throw fail("@classLabel needs true or false") }
                    hasClassLabel = b
                    if b {
                        classLabels = Array(parts.dropFirst(2))
                        guard !classLabels.isEmpty else { throw fail("@classLabel true lists no labels") }
                    }
                case "@targetlabel":
                    guard parts.count >= 2, let b = Bool(parts[1].lowercased()) else { throw fail("@targetLabel needs true or false") }
                    hasTarget = b
                default:
                    continue   // @problemName, @univariate, @missing, @seriesLength, ...
                }
                continue
            }
            // A data line.
            var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var label: String? = nil, target: Float? = nil
            if hasClassLabel || hasTarget {
                guard fields.count >= 2 else { throw fail("expected dimensions followed by ':' and a \(hasTarget ? "target" : "class label")") }
                let last = fields.removeLast().trimmingCharacters(in: .whitespaces)
                if hasClassLabel {
                    guard classLabels.contains(last) else {
                        throw fail("class label \"\(last)\" is not among the declared labels \(classLabels.joined(separator: " "))")
                    }
                    label = last
                } else {
                    guard let v = Float(last), v.isFinite else { throw fail("target \"\(last)\" is not a finite number") }
                    target = v
                }
            }
            let expectedDims = dimensions ?? features ?? fields.count
            guard fields.count == expectedDims else {
                throw fail("ragged case: \(fields.count) dimensions, expected \(expectedDims)")
            }
            features = expectedDims
            var columns: [[Float]] = []
            for (d, field) in fields.enumerated() {
                var column: [Float] = []
                for (k, token) in field.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                    let t = token.trimmingCharacters(in: .whitespaces)
                    if t == "?" || t.lowercased() == "nan" {
                        throw fail("missing value (\(t)) in dimension \(d + 1) at position \(k + 1); fill or drop it first")
                    }
                    guard let v = Float(t) else { throw fail("\"\(t.prefix(20))\" in dimension \(d + 1) at position \(k + 1) is not a number") }
                    guard v.isFinite else { throw fail("value \(t) in dimension \(d + 1) at position \(k + 1) is not finite") }
                    column.append(v)
                }
                columns.append(column)
            }
            let steps = columns[0].count
            if let bad = columns.firstIndex(where: { $0.count != steps }) {
                throw fail("ragged case: dimension \(bad + 1) has \(columns[bad].count) values, dimension 1 has \(steps)")
            }
            if equalLength == true, let first = series.first, first.steps != steps {
                throw fail("@equalLength true but this case has \(steps) steps, the first has \(first.steps)")
            }
            var values = [Float](repeating: 0, count: steps * expectedDims)
            for d in 0..<expectedDims { for t in 0..<steps { values[t * expectedDims + d] = columns[d][t] } }
            series.append(LabeledSeries(values: values, steps: steps, label: label, target: target, line: lineNumber))
        }
        guard inData else { throw DataError(file: file, line: 0, message: "no @data line") }
        guard let features, !series.isEmpty else { throw DataError(file: file, line: 0, message: "no cases after @data") }
        guard hasClassLabel || hasTarget else {
            throw DataError(file: file, line: 0, message: "neither @classLabel true nor @targetLabel true: nothing to learn")
        }
        return TimeSeriesDataset(file: file, features: features, series: series, classLabels: classLabels,
                                 isClassification: hasClassLabel)
    }
}

/// The CSV reader: one time step per row, one feature per column, no header.
public enum CSVFormat {
    /// Reads `path` as [steps, columns]; `expectedColumns` (if given) must match every row.
    public static func read(_ path: String, expectedColumns: Int? = nil) throws -> (values: [Float], steps: Int, columns: Int) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw DataError(file: path, line: 0, message: "cannot read the file as UTF-8 text")
        }
        return try parse(text, file: path, expectedColumns: expectedColumns)
    }

    /// Parses CSV text.
    public static func parse(_ text: String, file: String, expectedColumns: Int? = nil) throws -> (values: [Float], steps: Int, columns: Int) {
        var values: [Float] = []
        var columns = expectedColumns
        var steps = 0
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let row = try parseRow(line, file: file, line: lineNumber)
            if let columns, row.count != columns {
                throw DataError(file: file, line: lineNumber, message: "\(row.count) columns, expected \(columns)\(expectedColumns != nil ? " (the model's input features)" : " (as in the first row)")")
            }
            columns = row.count
            values.append(contentsOf: row)
            steps += 1
        }
        guard let columns, steps > 0 else { throw DataError(file: file, line: 0, message: "no data rows") }
        return (values, steps, columns)
    }

    /// One comma-separated row of finite numbers.
    public static func parseRow(_ line: String, file: String, line lineNumber: Int) throws -> [Float] {
        var row: [Float] = []
        for (k, token) in line.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let t = token.trimmingCharacters(in: .whitespaces)
            guard let v = Float(t) else {
                throw DataError(file: file, line: lineNumber, message: "column \(k + 1): \"\(t.prefix(20))\" is not a number")
            }
            guard v.isFinite else {
                throw DataError(file: file, line: lineNumber, message: "column \(k + 1): \(t) is not a finite number (NaN or infinite samples are not accepted)")
            }
            row.append(v)
        }
        return row
    }

    /// Reads one elapsed time per row; each must be > 0.
    public static func readTimespans(_ path: String, steps: Int) throws -> [Float] {
        let (values, rows, _) = try read(path, expectedColumns: 1)
        guard rows == steps else {
            throw DataError(file: path, line: 0, message: "\(rows) timespans for \(steps) input steps")
        }
        if let bad = values.firstIndex(where: { !($0 > 0) }) {
            throw DataError(file: path, line: lineOfRow(path, bad), message: "timespan \(values[bad]) is not positive (elapsed times must be > 0)")
        }
        return values
    }

    /// The 1-based file line of each data row (blank lines are skipped by the reader).
    static func dataLines(_ path: String) throws -> [Int] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw DataError(file: path, line: 0, message: "cannot read the file as UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { !$0.element.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.map { $0.offset + 1 }
    }

    private static func lineOfRow(_ path: String, _ row: Int) -> Int {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else { return 0 }
        var seen = -1
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            seen += 1
            if seen == row { return i + 1 }
        }
        return 0
    }
}
