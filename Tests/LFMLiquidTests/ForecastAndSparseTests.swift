import Foundation
import LFMCore
import Testing
@testable import LFMLiquid

@Suite struct ForecastWindowTests {
    /// Two columns: c0 = t, c1 = 10·t, over 7 rows.
    let series: [Float] = (0..<7).flatMap { t in [Float(t), Float(10 * t)] }

    @Test func cutsEveryWindowWithItsNextRows() throws {
        let spec = try ForecastSpec(lookback: 3, horizon: 2)
        let d = try ForecastWindows.make(values: series, steps: 7, columns: 2, spec: spec, file: "s.csv")
        #expect(d.forecast == spec && !d.isClassification && d.features == 2)
        #expect(d.series.count == 3)                               // 7 − (3 + 2) + 1
        #expect(d.series[0].steps == 3)
        #expect(d.series[0].values == [0, 0, 1, 10, 2, 20])
        #expect(d.series[0].targets == [3, 30, 4, 40])             // rows 3 and 4, all columns
        #expect(d.series[2].values == [2, 20, 3, 30, 4, 40])
        #expect(d.series[2].targets == [5, 50, 6, 60])
        #expect(d.series[2].line == 5)                             // last input row (1-based)
        #expect(spec.outputs(columns: 2) == 4)
    }

    @Test func targetsAreChangesFromTheLastRowInStdUnits() throws {
        let spec = try ForecastSpec(lookback: 2, horizon: 1)
        let last: [Float] = [4, 40]
        let normalised = spec.normalize([5, 30], lastRow: last[...], std: [2, 5])
        #expect(normalised == [0.5, -2])
        #expect(spec.denormalize(normalised, lastRow: last[...], std: [2, 5]) == [5, 30])
    }

    @Test func tooShortSeriesIsAnError() throws {
        let spec = try ForecastSpec(lookback: 5, horizon: 3)
        #expect(throws: DataError.self) { try ForecastWindows.make(values: series, steps: 7, columns: 2, spec: spec, file: "s.csv") }
        do {
            _ = try ForecastWindows.make(values: series, steps: 7, columns: 2, spec: spec, file: "s.csv")
        } catch let e as DataError {
            #expect(e.file == "s.csv" && e.message.contains("too short") && e.message.contains("8"))
        }
        // Exactly lookback + horizon rows make one window.
        let eight = series + [7, 70]
        let one = try ForecastWindows.make(values: eight, steps: 8, columns: 2, spec: spec, file: "s.csv")
        #expect(one.series.count == 1)
    }

    @Test func badGeometryAndNonFiniteValuesAreErrors() throws {
        #expect(throws: DataError.self) { try ForecastSpec(lookback: 0, horizon: 1) }
        #expect(throws: DataError.self) { try ForecastSpec(lookback: 3, horizon: 0) }
        var bad = series
        bad[9] = .nan                                              // row 5, column 2
        let spec = try ForecastSpec(lookback: 2, horizon: 1)
        do {
            _ = try ForecastWindows.make(values: bad, steps: 7, columns: 2, spec: spec, file: "s.csv")
            Issue.record("NaN accepted")
        } catch let e as DataError {
            #expect(e.line == 5 && e.message.contains("column 2"))
        }
        #expect(throws: DataError.self) { try ForecastWindows.make(values: [1, 2, 3], steps: 2, columns: 2, spec: spec, file: "s.csv") }
    }

    @Test func csvFilesAreCheckedWithLinesAndWidths() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-forecast-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let spec = try ForecastSpec(lookback: 2, horizon: 1)
        let good = dir.appendingPathComponent("good.csv")
        try "1\n2\n\n3\n4\n".write(to: good, atomically: true, encoding: .utf8)
        let d = try ForecastWindows.read(good.path, spec: spec)
        #expect(d.series.count == 2 && d.series[1].targets == [4] && d.series[1].line == 4)   // blank line skipped
        let nan = dir.appendingPathComponent("nan.csv")
        try "1\n2\nnan\n4\n".write(to: nan, atomically: true, encoding: .utf8)
        do { _ = try ForecastWindows.read(nan.path, spec: spec); Issue.record("NaN accepted") } catch let e as DataError {
            #expect(e.line == 3 && e.file == nan.path)
        }
        let ragged = dir.appendingPathComponent("ragged.csv")
        try "1,2\n2,3\n3\n4,5\n".write(to: ragged, atomically: true, encoding: .utf8)
        do { _ = try ForecastWindows.read(ragged.path, spec: spec); Issue.record("ragged accepted") } catch let e as DataError {
            #expect(e.line == 3)
        }
        #expect(throws: DataError.self) { try ForecastWindows.read(good.path, spec: spec, expectedColumns: 2) }
        let short = dir.appendingPathComponent("short.csv")
        try "1\n2\n".write(to: short, atomically: true, encoding: .utf8)
        #expect(throws: DataError.self) { try ForecastWindows.read(short.path, spec: spec) }
    }

    /// A noisy sine with a trend: the trained CfC must beat the "no change" forecast, and the
    /// folder must round-trip its forecast geometry.
    @Test func forecastTrainsEvaluatesAndRoundTrips() throws {
        var rng = SplitMix64(seed: 3)
        let n = 160
        var values: [Float] = []
        for t in 0..<n {
            let trend: Double = 0.02 * Double(t)
            let season: Double = sin(Double(t) * 2 * Double.pi / 12)
            let noise: Double = 0.05 * rng.gaussian()
            values.append(Float(trend + season + noise))
        }
        let spec = try ForecastSpec(lookback: 12, horizon: 2)
        let train = try ForecastWindows.make(values: Array(values.prefix(120)), steps: 120, columns: 1, spec: spec, file: "train.csv")
        let test = try ForecastWindows.make(values: Array(values.suffix(n - 120 + 12)), steps: n - 120 + 12, columns: 1, spec: spec, file: "test.csv")
        var options = LiquidTrainingOptions()
        options.units = 8; options.backboneUnits = 16; options.epochs = 30; options.patience = 30; options.seed = 1
        let (folder, logs) = try LiquidTrainer(options: options).train(train)
        let extras = try #require(folder.extras)
        #expect(extras.task == "forecast" && extras.forecast == spec && extras.readout == "last")
        #expect(folder.model.outputSize == 2)
        #expect(logs.last!.trainLoss < logs.first!.trainLoss)
        let metrics = try LiquidEvaluator.evaluate(folder.model, extras: extras, series: test.series, file: "test.csv")
        let mse = try #require(metrics.mse)
        // "No change" forecast: y[t+h] ≈ x[t].
        var naive = 0.0
        for s in test.series {
            let last: Float = s.values[s.values.count - 1]
            for y in s.targets ?? [] {
                let e = Double(y - last)
                naive += e * e
            }
        }
        naive /= Double(test.series.count * 2)
        #expect(mse < naive * 0.5, "mse \(mse), naive \(naive)")
        #expect(metrics.accuracy == nil && metrics.count == test.series.count)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-forecast-model-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try folder.save(dir)
        let loaded = try LiquidModelFolder.load(dir)
        #expect(loaded.extras?.forecast == spec && loaded.extras?.task == "forecast" && loaded.extras?.readout == "last")
        let again = try LiquidEvaluator.evaluate(loaded.model, extras: try #require(loaded.extras), series: test.series, file: "test.csv")
        #expect(abs((again.mse ?? 0) - mse) <= 1e-6 * mse)
    }

    @Test func forecastFolderWithWrongOutputCountIsRejected() throws {
        let spec = try ForecastSpec(lookback: 4, horizon: 3)
        let train = try ForecastWindows.make(values: (0..<20).map { Float($0 % 5) }, steps: 20, columns: 1, spec: spec, file: "t.csv")
        var options = LiquidTrainingOptions()
        options.units = 4; options.backboneUnits = 4; options.epochs = 1
        let (folder, _) = try LiquidTrainer(options: options).train(train)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-forecast-bad-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try folder.save(dir)
        let configURL = dir.appendingPathComponent("config.json")
        let text = try String(contentsOf: configURL, encoding: .utf8)
        try text.replacingOccurrences(of: "\"horizon\" : 3", with: "\"horizon\" : 2").write(to: configURL, atomically: true, encoding: .utf8)
        #expect(throws: LiquidModelError.self) { try LiquidModelFolder.load(dir) }
    }
}

@Suite struct MaskedSparseTests {
    func wiredModel(_ wiring: WiringSpec, mode: CfCMode, inputs: Int, seed: UInt64) throws -> LiquidModel {
        var config = LiquidConfig(cell: .cfc, inputSize: inputs, units: .wiring(wiring))
        config.mode = mode
        config.projSize = 3
        return try LiquidModel(config: config, seed: seed)
    }

    func compare(_ base: LiquidModel, inputs: Int) throws {
        var rng = SplitMix64(seed: 11)
        let batch = 3, steps = 5
        let x = try SequenceBatch(batch: batch, steps: steps, features: inputs,
                                  values: (0..<(batch * steps * inputs)).map { _ in Float(rng.gaussian()) },
                                  timespans: (0..<(batch * steps)).map { _ in Float(0.5 + rng.unit()) })
        let dOut = (0..<(batch * steps * base.outputSize)).map { _ in Float(rng.gaussian()) }
        var dense = base, sparse = base
        dense.maskedProducts = .dense
        sparse.maskedProducts = .sparse
        let (fd, gd) = try dense.gradients(x, dOutputs: dOut)
        let (fs, gs) = try sparse.gradients(x, dOutputs: dOut)
        func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
        #expect(fd.outputs.count == fs.outputs.count && gd.parameters.count == gs.parameters.count)
        #expect(maxDiff(fd.outputs, fs.outputs) <= 1e-6)
        #expect(maxDiff(fd.finalState.h, fs.finalState.h) <= 1e-6)
        #expect(maxDiff(gd.parameters, gs.parameters) <= 1e-6, "parameter gradients differ by \(maxDiff(gd.parameters, gs.parameters))")
        #expect(maxDiff(gd.inputs, gs.inputs) <= 1e-6)
        #expect(gd.parameters.contains { $0 != 0 })
        // Masked-out weights get no gradient on either path.
        for entry in base.parameters.entries where entry.name.hasSuffix("ff1.weight") {
            let maskName = entry.name.replacingOccurrences(of: "ff1.weight", with: "sparsity_mask")
            guard let maskEntry = base.parameters.entries.first(where: { $0.name == maskName }) else { continue }
            for (i, m) in base.parameters.values[maskEntry.range].enumerated() where m == 0 {
                #expect(gs.parameters[entry.range.lowerBound + i] == 0)
            }
        }
    }

    @Test func sparseEqualsDenseOnAutoNCP() throws {
        for mode in [CfCMode.default, .noGate, .pure] {
            try compare(try wiredModel(.autoNCP(units: 16, outputSize: 3, sparsityLevel: 0.6, seed: 5), mode: mode, inputs: 7, seed: 2), inputs: 7)
        }
    }

    @Test func sparseEqualsDenseOnRandomWiring() throws {
        try compare(try wiredModel(.random(units: 12, outputDim: nil, sparsityLevel: 0.8, randomSeed: 3), mode: .default, inputs: 20, seed: 4), inputs: 20)
    }

    @Test func autoChoosesByDensity() throws {
        let model = try wiredModel(.random(units: 4, outputDim: nil, sparsityLevel: 0.95, randomSeed: 3), mode: .default, inputs: 200, seed: 1)
        guard case .wiredCfC(let layers) = model.core else { Issue.record("not a wired CfC"); return }
        try model.parameters.values.withUnsafeBufferPointer { p in
            let base = try #require(p.baseAddress)
            let l = layers[0]
            let maskOffset = try #require(l.mask)
            let density = MaskedSparseRows.density(base + maskOffset, count: l.hidden * l.headInput)
            #expect(density < MaskedSparseRows.densityThreshold)           // ≈ 4·(200·0.05 + 4) / (4·204) ≈ 0.07
            #expect(l.effectiveWeights(base, products: .auto).sparse1 != nil)
            #expect(l.effectiveWeights(base, products: .dense).sparse1 == nil)
            let sparse = try #require(l.effectiveWeights(base, products: .sparse).sparse1)
            #expect(sparse.count == Int((density * Double(l.hidden * l.headInput)).rounded()))
        }
        let dense = try wiredModel(.random(units: 16, outputDim: nil, sparsityLevel: 0.1, randomSeed: 3), mode: .default, inputs: 2, seed: 1)
        guard case .wiredCfC(let denseLayers) = dense.core else { Issue.record("not a wired CfC"); return }
        dense.parameters.values.withUnsafeBufferPointer { p in
            #expect(denseLayers[0].effectiveWeights(p.baseAddress!, products: .auto).sparse1 == nil)
        }
    }
}
