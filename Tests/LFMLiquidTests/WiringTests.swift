import Foundation
import Testing
@testable import LFMLiquid

@Suite struct WiringTests {
    /// Every wiring in Fixtures/wirings.json (built by ncps 1.0.1 with NumPy 2.4.6) is reproduced
    /// entry for entry from its spec and seed.
    @Test func adjacencyEqualsNcps() throws {
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("wirings.json"))
        let cases = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(cases.count >= 10)
        for item in cases {
            let specObject = try #require(item["spec"] as? [String: Any])
            let inputDim = try #require(item["input_dim"] as? Int)
            let json = try JSONSerialization.data(withJSONObject: ["class": "LTC", "input_size": inputDim, "units": specObject])
            let (config, _) = try LiquidConfig.parse(json, file: "wirings.json")
            guard case .wiring(let spec) = config.units else { Issue.record("not a wiring"); continue }
            let wiring = try Wiring(spec, inputDim: inputDim)
            let adjacency = try #require(item["adjacency"] as? [[Int]]).flatMap { $0 }.map(Int32.init)
            let sensory = try #require(item["sensory_adjacency"] as? [[Int]]).flatMap { $0 }.map(Int32.init)
            #expect(wiring.units == item["units"] as? Int)
            #expect(wiring.outputDim == item["output_dim"] as? Int)
            #expect(wiring.adjacency == adjacency, "adjacency differs for \(specObject)")
            #expect(wiring.sensoryAdjacency == sensory, "sensory adjacency differs for \(specObject)")
        }
    }

    /// The reference's documented AutoNCP(28, 4) on 20 inputs: 15/9/4 neurons, 84 internal and
    /// 140 sensory synapses with the default seed.
    @Test func autoNCPCounts() throws {
        let w = try Wiring(.autoNCP(units: 28, outputSize: 4), inputDim: 20)
        #expect(w.layers.map(\.count) == [15, 9, 4])
        #expect(w.synapseCount == 84)
        #expect(w.sensorySynapseCount == 140)
    }

    @Test func invalidArgumentsThrow() {
        #expect(throws: WiringError.self) { try Wiring(.autoNCP(units: 5, outputSize: 3), inputDim: 2) }
        #expect(throws: WiringError.self) { try Wiring(.random(units: 5, sparsityLevel: 1.0), inputDim: 2) }
        #expect(throws: WiringError.self) {
            try Wiring(.ncp(interNeurons: 2, commandNeurons: 2, motorNeurons: 1, sensoryFanout: 3, interFanout: 1,
                            recurrentCommandSynapses: 1, motorFanin: 1), inputDim: 2)
        }
    }

    /// NumPy streams: first raw outputs of RandomState(5489) (the MT19937 reference seed) and
    /// default_rng(1111) (value printed by NumPy 2.4.6).
    @Test func numpyStreams() {
        var mt = NumpyRandomState(seed: 5489)
        #expect(mt.nextUInt32() == 3_499_211_612)
        var pcg = NumpyGenerator(seed: 1111)
        #expect(pcg.nextUInt64() == 15_852_105_362_585_597_067)
    }
}
