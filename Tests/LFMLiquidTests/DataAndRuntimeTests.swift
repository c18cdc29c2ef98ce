import Foundation
import LFMCore
import Testing
@testable import LFMLiquid

@Suite struct DataReaderTests {
    let good = """
    # comment
    @problemName Toy
    @timeStamps false
    @univariate false
    @dimensions 2
    @equalLength false
    @classLabel true a b
    @data
    1,2,3:4,5,6:a
    0.5,0.25:1,2:b
    """

    @Test func readsMultivariateVariableLength() throws {
        let d = try TSFormat.parse(good, file: "toy.ts")
        #expect(d.features == 2)
        #expect(d.classLabels == ["a", "b"])
        #expect(d.series.count == 2)
        #expect(d.series[0].steps == 3 && d.series[1].steps == 2)
        // [steps, features]: step 0 = (1, 4), step 1 = (2, 5)
        #expect(d.series[0].values == [1, 4, 2, 5, 3, 6])
        #expect(d.series[1].label == "b" && d.series[1].line == 10)
    }

    func expectError(_ text: String, line: Int, containing: String) {
        do {
            _ = try TSFormat.parse(text, file: "bad.ts")
            Issue.record("expected an error containing \(containing)")
        } catch let error as DataError {
            #expect(error.file == "bad.ts")
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(containing), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func typedErrorsNameFileAndLine() {
        let head = "@dimensions 2\n@classLabel true a b\n@data\n"
        expectError(head + "1,2:3,4:a\n1,2:b\n", line: 5, containing: "ragged")
        expectError(head + "1,2,3:4,5:a\n", line: 4, containing: "dimension 2 has 2 values")
        expectError(head + "1,?:3,4:a\n", line: 4, containing: "missing value")
        expectError(head + "1,NaN:3,4:a\n", line: 4, containing: "missing value")
        expectError(head + "1,x:3,4:a\n", line: 4, containing: "not a number")
        expectError(head + "1,2:3,4:c\n", line: 4, containing: "class label \"c\"")
        expectError("@dimensions 2\n@classLabel true a\n1,2:3,4:a\n", line: 3, containing: "@data")
        expectError("@equalLength true\n@classLabel true a\n@data\n1,2:a\n1,2,3:a\n", line: 5, containing: "@equalLength")
    }

    @Test func csvErrors() throws {
        let ok = try CSVFormat.parse("1,2\n3,4\n\n", file: "x.csv")
        #expect(ok.steps == 2 && ok.columns == 2 && ok.values == [1, 2, 3, 4])
        #expect(throws: DataError(file: "x.csv", line: 2, message: "3 columns, expected 2 (as in the first row)")) {
            try CSVFormat.parse("1,2\n3,4,5\n", file: "x.csv")
        }
        #expect(throws: DataError.self) { try CSVFormat.parse("1,2\n3,nan\n", file: "x.csv") }
        #expect(throws: DataError.self) { try CSVFormat.parse("1,2\n3,4\n", file: "x.csv", expectedColumns: 3) }
        #expect(throws: DataError.self) { try CSVFormat.parse("", file: "x.csv") }
    }

    @Test func nonPositiveTimespansAreRejected() {
        #expect(throws: LiquidModelError.self) {
            try SequenceBatch(batch: 1, steps: 2, features: 1, values: [1, 2], timespans: [1, 0])
        }
        #expect(throws: LiquidModelError.self) {
            try SequenceBatch(batch: 1, steps: 2, features: 1, values: [1, 2], timespans: [-1, 1])
        }
        #expect(throws: LiquidModelError.self) { try SequenceBatch(batch: 1, steps: 2, features: 2, values: [1, 2]) }
    }
}

@Suite struct ModelFolderTests {
    func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lfm-liquid-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test(arguments: Fixtures.modelCases)
    func saveAndLoadRoundTrip(_ name: String) throws {
        let original = try LiquidModelFolder.load(Fixtures.root.appendingPathComponent(name))
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try original.save(dir)
        let reloaded = try LiquidModelFolder.load(dir)
        #expect(reloaded.model.config == original.model.config)
        #expect(reloaded.model.parameters == original.model.parameters)
    }

    @Test func hugeConfigIsRejectedBeforeAllocating() {
        #expect(throws: LiquidModelError.self) {
            try LiquidModel(config: LiquidConfig(cell: .ltc, inputSize: 3, units: .count(1_000_000)))
        }
    }

    @Test func wrongShapeNamesTheTensor() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.root.appendingPathComponent("cfc_default")
        try FileManager.default.copyItem(at: source.appendingPathComponent("model.safetensors"), to: dir.appendingPathComponent("model.safetensors"))
        // Same class, other unit count: every tensor has another shape.
        let config = #"{"library": "ncps", "class": "CfC", "input_size": 5, "units": 9, "kwargs": {"backbone_units": 16}}"#
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try LiquidModelFolder.load(dir)
            Issue.record("expected a shape error")
        } catch let error as LiquidModelError {
            #expect(error.description.contains("model.safetensors"))
            #expect(error.description.contains("has shape"))
        }
    }

    @Test func badConfigsAreRejected() {
        for json in [#"{"class": "GRU", "input_size": 3, "units": 4}"#,
                     #"{"class": "CfC", "input_size": 0, "units": 4}"#,
                     #"{"class": "CfC", "input_size": 3, "units": {"wiring": "Hex"}}"#,
                     #"{"class": "CfC", "input_size": 3, "units": 4, "kwargs": {"mode": "fast"}}"#,
                     #"{"class": "LTC", "input_size": 3, "units": 4, "kwargs": {"proj_size": 2}}"#,
                     #"{"class": "CfC", "input_size": 3, "units": {"wiring": "AutoNCP", "units": 8, "output_size": 2}, "kwargs": {"backbone_units": 4}}"#,
                     "not json"] {
            #expect(throws: LiquidModelError.self, "\(json)") { try LiquidConfig.parse(Data(json.utf8), file: "config.json") }
        }
    }
}

@Suite struct RuntimeTests {
    /// The streaming runtime, one sample at a time with per-sample dt, equals the batch forward.
    @Test(arguments: ["cfc_mixed_gelu_ts", "cfc_wired_autoncp", "ltc_autoncp_explicit_ts", "ltc_random_mixed_linear"])
    func streamEqualsSequenceForward(_ name: String) throws {
        let folder = try LiquidModelFolder.load(Fixtures.root.appendingPathComponent(name))
        let model = folder.model
        let f = model.config.inputSize, steps = 7
        var rng = SplitMix64(seed: 3)
        let values = (0..<(steps * f)).map { _ in Float(rng.gaussian()) }
        let ts = (0..<steps).map { _ in Float(0.2 + rng.unit()) }
        let batch = try SequenceBatch(batch: 1, steps: steps, features: f, values: values, timespans: ts)
        let expected = try model.forward(batch)
        let stream = try LiquidStream(model: model)
        var got: [Float] = []
        for t in 0..<steps { got += try stream.step(Array(values[(t * f)..<((t + 1) * f)]), dt: ts[t]) }
        #expect(maxAbsDiff(got, expected.outputs) < 1e-6)
        #expect(stream.state == expected.finalState)
        let saved = stream.state
        stream.reset()
        try stream.setState(saved)
        #expect(stream.state == saved)
    }

    /// Irregular sampling: CfC with Δt = 0.5 twice differs from Δt = 1 once (not a semigroup).
    @Test func cfcIsNotASemigroupInTime() throws {
        let model = try LiquidModel(config: LiquidConfig(cell: .cfc, inputSize: 2, units: .count(4)), seed: 1)
        let half = try model.forward(try SequenceBatch(batch: 1, steps: 2, features: 2, values: [0.3, -0.2, 0.3, -0.2], timespans: [0.5, 0.5]))
        let one = try model.forward(try SequenceBatch(batch: 1, steps: 1, features: 2, values: [0.3, -0.2], timespans: [1]))
        #expect(half.finalState.h != one.finalState.h)
    }

    /// Wired CfC in pure mode: a motor output never depends on an input with no path to it
    /// (gradient exactly 0). (In the gated modes ncps leaves time_a/time_b unmasked, so every
    /// input reaches every neuron of the first layer through the time gate.)
    @Test func wiredGradientRespectsWiring() throws {
        // NCP with one sensory fan-out: input k reaches one inter neuron only.
        let spec = WiringSpec.ncp(interNeurons: 4, commandNeurons: 3, motorNeurons: 2, sensoryFanout: 1, interFanout: 1,
                                  recurrentCommandSynapses: 0, motorFanin: 1, seed: 5)
        var config = LiquidConfig(cell: .cfc, inputSize: 3, units: .wiring(spec))
        config.mode = .pure
        let model = try LiquidModel(config: config, seed: 2)
        let x = try SequenceBatch(batch: 1, steps: 1, features: 3, values: [0.5, -0.3, 0.8])
        let (_, grads) = try model.gradients(x, dOutputs: [1, 0])
        // Reachability of motor 0 from each input through sensory → inter → command → motor (one step: no recurrence).
        let w = try Wiring(spec, inputDim: 3)
        let n = w.units
        for k in 0..<3 {
            var reach = Set((0..<n).filter { w.sensoryAdjacency[k * n + $0] != 0 })
            for _ in 0..<2 { reach.formUnion(reach.flatMap { s in (0..<n).filter { w.adjacency[s * n + $0] != 0 } }) }
            if !reach.contains(0) { #expect(grads.inputs[k] == 0) } else { #expect(grads.inputs[k] != 0) }
        }
    }
}

@Suite struct TrainingTests {
    /// Two classes separated by the level of feature 0 under noise and a random sine; variable lengths.
    func toyDataset(seed: UInt64, count: Int) -> TimeSeriesDataset {
        var rng = SplitMix64(seed: seed)
        var series: [LabeledSeries] = []
        for i in 0..<count {
            let label = i % 2
            let steps = 8 + Int(rng.next() % 6)
            let level = label == 0 ? -0.4 : 0.4
            let phase = rng.unit() * 6
            var values: [Float] = []
            for t in 0..<steps {
                values.append(Float(level + 0.5 * sin(Double(t) + phase) + 0.3 * rng.gaussian()))
                values.append(Float(0.2 * rng.gaussian()))
            }
            series.append(LabeledSeries(values: values, steps: steps, label: label == 0 ? "slow" : "fast", target: nil, line: i + 1))
        }
        return TimeSeriesDataset(file: "toy", features: 2, series: series, classLabels: ["slow", "fast"], isClassification: true)
    }

    @Test func learnsToyTaskDeterministically() throws {
        var options = LiquidTrainingOptions()
        options.units = 6
        options.backboneUnits = 8
        options.epochs = 20
        options.patience = 20
        options.batchSize = 8
        options.learningRate = 0.02
        options.seed = 7
        let data = toyDataset(seed: 1, count: 40)
        let (a, logs) = try LiquidTrainer(options: options).train(data)
        options.epochs = 2
        let (b1, _) = try LiquidTrainer(options: options).train(data)
        let (b2, _) = try LiquidTrainer(options: options).train(data)
        #expect(b1.model.parameters == b2.model.parameters)
        let test = toyDataset(seed: 2, count: 30)
        let metrics = try LiquidEvaluator.evaluate(a.model, extras: try #require(a.extras), series: test.series, file: "toy")
        #expect((metrics.accuracy ?? 0) >= 0.9, "accuracy \(metrics.accuracy ?? 0)")
        #expect(logs.first!.trainLoss > logs.last!.trainLoss)
    }

    @Test func ltcWithNCPTrains() throws {
        var options = LiquidTrainingOptions()
        options.cell = .ltc
        options.units = 8
        options.wiring = .auto(outputs: 2, sparsity: 0.5, seed: 1)
        options.epochs = 4
        options.odeUnfolds = 2
        let (folder, logs) = try LiquidTrainer(options: options).train(toyDataset(seed: 3, count: 24))
        #expect(logs.count == 4)
        #expect(folder.model.outputSize == 2)
        #expect(logs.allSatisfy { $0.trainLoss.isFinite })
    }

    /// Regression (`@targetLabel true`): target = mean of feature 0; training lowers the MSE.
    @Test func regressionTrains() throws {
        let text = "@dimensions 1\n@targetLabel true\n@data\n" + (0..<24).map { i -> String in
            let values = (0..<6).map { t in Double((i * 7 + t * 3) % 11) / 10 - 0.5 }
            let target = values.reduce(0, +) / 6
            return values.map { String($0) }.joined(separator: ",") + ":" + String(target)
        }.joined(separator: "\n") + "\n"
        let data = try TSFormat.parse(text, file: "reg.ts")
        #expect(!data.isClassification)
        var options = LiquidTrainingOptions()
        options.units = 4; options.backboneUnits = 8; options.epochs = 8; options.learningRate = 0.01
        let (folder, logs) = try LiquidTrainer(options: options).train(data)
        #expect(folder.extras?.task == "regression")
        #expect(logs.last!.trainLoss < logs.first!.trainLoss)
        let metrics = try LiquidEvaluator.evaluate(folder.model, extras: folder.extras!, series: data.series, file: "reg.ts")
        #expect(metrics.mse != nil && metrics.accuracy == nil)
    }

    @Test func unseenLabelIsAnError() throws {
        var options = LiquidTrainingOptions()
        options.units = 4; options.backboneUnits = 4; options.epochs = 1
        let (folder, _) = try LiquidTrainer(options: options).train(toyDataset(seed: 4, count: 10))
        let bad = [LabeledSeries(values: [0, 0], steps: 1, label: "medium", target: nil, line: 12)]
        #expect(throws: DataError.self) { try LiquidEvaluator.evaluate(folder.model, extras: folder.extras!, series: bad, file: "t.ts") }
    }

    @Test func wiringArgumentParses() throws {
        #expect(try WiringChoice.parse("auto:4") == .auto(outputs: 4, sparsity: 0.5, seed: 22222))
        #expect(try WiringChoice.parse("ncp:5,4,2,3,2,3,2,9") == .ncp(.ncp(interNeurons: 5, commandNeurons: 4, motorNeurons: 2, sensoryFanout: 3, interFanout: 2, recurrentCommandSynapses: 3, motorFanin: 2, seed: 9)))
        #expect(throws: WiringError.self) { try WiringChoice.parse("ncp:1,2") }
        #expect(throws: WiringError.self) { try WiringChoice.parse("hex") }
    }
}

@Suite struct RealDataExcerptTests {
    /// The sktime files' own headers and cases (excerpts, see Fixtures/DATA_LICENSES.md).
    @Test func readsJapaneseVowelsExcerpt() throws {
        let d = try TSFormat.read(Fixtures.root.appendingPathComponent("JapaneseVowels_excerpt.ts").path)
        #expect(d.features == 12)
        #expect(d.classLabels == (1...9).map(String.init))
        #expect(d.series.map(\.label) == ["1", "1", "2", "2"])
        #expect(d.series[0].steps == 20)
        #expect(d.series[0].values[0] == 1.860936)      // first value of dimension 1
        #expect(d.series[0].values[1] == -0.207383)     // first value of dimension 2
    }

    @Test func readsBasicMotionsExcerpt() throws {
        let d = try TSFormat.read(Fixtures.root.appendingPathComponent("BasicMotions_excerpt.ts").path)
        #expect(d.features == 6)
        #expect(d.classLabels == ["Standing", "Running", "Walking", "Badminton"])
        #expect(d.series.map(\.steps) == [100, 100])
        #expect(d.series.map(\.label) == ["Standing", "Running"])
    }
}
