import Foundation
import LFMFormats
import Testing
@testable import LFMLiquid

/// Fixture access: the folders written by Scripts/reference/liquid/make_ncps_fixtures.py
/// (ncps 1.0.1, torch 2.13.0+cpu).
enum Fixtures {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }

    static let modelCases = [
        "cfc_default", "cfc_nogate_silu_proj", "cfc_pure_nobackbone_ts", "cfc_mixed_gelu_ts", "cfc_relu_tanh",
        "cfc_wired_autoncp", "cfc_wired_ncp_nogate_mixed_proj", "cfc_wired_pure_ts",
        "ltc_fc", "ltc_autoncp_explicit_ts", "ltc_random_mixed_linear",
    ]

    struct Case {
        let folder: LiquidModelFolder
        let io: SafeTensorsFile
        let adam: SafeTensorsFile
        let info: [String: Any]
        func tensor(_ name: String) throws -> [Float] {
            guard let t = io.tensor(named: name), let v = t.floats() else { throw LiquidModelError("fixture lacks \(name)") }
            return v
        }
        func optionalTensor(_ name: String) -> [Float]? { io.tensor(named: name)?.floats() }
        func shape(_ name: String) -> [Int] { io.tensor(named: name)?.shape ?? [] }
    }

    static func load(_ name: String) throws -> Case {
        let dir = root.appendingPathComponent(name)
        let folder = try LiquidModelFolder.load(dir)
        let io = try SafeTensorsFile(path: dir.appendingPathComponent("io.safetensors").path)
        let adam = try SafeTensorsFile(path: dir.appendingPathComponent("adam.safetensors").path)
        let data = try Data(contentsOf: dir.appendingPathComponent("case.json"))
        let info = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return Case(folder: folder, io: io, adam: adam, info: info)
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// Absolute check: max |a−b| ≤ tol (and equal lengths).
func within(_ a: [Float], _ b: [Float], _ tol: Float) -> (Bool, Float) {
    guard a.count == b.count else { return (false, .infinity) }
    var worst: Float = 0
    for (x, y) in zip(a, b) { worst = max(worst, abs(x - y)) }
    return (worst <= tol, worst)
}

@Suite struct NcpsParityTests {
    func batch(_ c: Fixtures.Case) throws -> SequenceBatch {
        let shape = c.shape("input")
        return try SequenceBatch(batch: shape[0], steps: shape[1], features: shape[2], values: try c.tensor("input"),
                                 timespans: c.optionalTensor("timespans"))
    }

    func initial(_ c: Fixtures.Case) -> LiquidState? {
        guard let h0 = c.optionalTensor("h0") else { return nil }
        return LiquidState(h: h0, c: c.optionalTensor("c0"))
    }

    @Test(arguments: Fixtures.modelCases)
    func forwardMatchesNcps(_ name: String) throws {
        let c = try Fixtures.load(name)
        let result = try c.folder.model.forward(try batch(c), initial: initial(c))
        let (okOut, dOut) = within(result.outputs, try c.tensor("output"), 1e-5)
        #expect(okOut, "\(name): outputs differ by \(dOut)")
        let (okH, dH) = within(result.finalState.h, try c.tensor("final_h"), 1e-5)
        #expect(okH, "\(name): final h differs by \(dH)")
        if let cT = c.optionalTensor("final_c") {
            let (okC, dC) = within(result.finalState.c ?? [], cT, 1e-5)
            #expect(okC, "\(name): final c differs by \(dC)")
        }
    }

    @Test(arguments: Fixtures.modelCases)
    func gradientsMatchNcps(_ name: String) throws {
        let c = try Fixtures.load(name)
        let model = c.folder.model
        let (result, grads) = try model.gradients(try batch(c), initial: initial(c), dOutputs: try c.tensor("r"),
                                                  dFinalH: try c.tensor("s"), dFinalC: c.optionalTensor("s2"))
        #expect(within(result.outputs, try c.tensor("output"), 1e-5).0)
        let (okX, dX) = within(grads.inputs, try c.tensor("grad.input"), 1e-4)
        #expect(okX, "\(name): input gradient differs by \(dX)")
        var checked = 0
        for entry in model.parameters.entries where entry.trainable {
            let expected = try c.tensor("grad." + entry.name)
            let (ok, d) = within(Array(grads.parameters[entry.range]), expected, 1e-4)
            #expect(ok, "\(name): gradient of \(entry.name) differs by \(d)")
            checked += 1
        }
        #expect(checked == c.io.tensorNames.filter { $0.hasPrefix("grad.") && $0 != "grad.input" }.count)
    }

    @Test(arguments: Fixtures.modelCases)
    func adamStepsMatchTorch(_ name: String) throws {
        let c = try Fixtures.load(name)
        var model = c.folder.model
        let x = try batch(c)
        let steps = c.info["adam_steps"] as? Int ?? 0
        let lr = Float(c.info["lr"] as? Double ?? 0)
        let wd = Float(c.info["weight_decay"] as? Double ?? 0)
        let constrain = c.info["apply_weight_constraints"] as? Bool ?? false
        var optimizer = AdamOptimizer(learningRate: lr, weightDecay: c.info["optimizer"] as? String == "adamw" ? wd : 0)
        let mask = model.parameters.trainableMask
        for _ in 0..<steps {
            let (_, grads) = try model.gradients(x, initial: initial(c), dOutputs: try c.tensor("r"),
                                                 dFinalH: try c.tensor("s"), dFinalC: c.optionalTensor("s2"))
            optimizer.update(&model.parameters.values, gradients: grads.parameters, mask: mask)
            if constrain { model.applyWeightConstraints() }
        }
        for entry in model.parameters.entries {
            guard let expected = c.adam.tensor(named: entry.name)?.floats() else {
                Issue.record("\(name): adam fixture lacks \(entry.name)")
                continue
            }
            let (ok, d) = within(Array(model.parameters.values[entry.range]), expected, 1e-4)
            #expect(ok, "\(name): \(entry.name) after \(steps) Adam steps differs by \(d)")
        }
    }
}
