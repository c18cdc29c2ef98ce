// swift-tools-version: 6.1
import PackageDescription

// Module graph (A ← B: B imports A; Foundation and system libraries left out):
//   LFMCore ← LFMKernels (with CLFMKernels), LFMFormats, LFMChat
//   LFMCore, LFMKernels, LFMFormats ← LFMModels (architecture registry, the decoder, the families)
//   LFMModels, LFMTokenizer, LFMChat, LFMCore ← LFMGeneration
//   LFMModels, LFMKernels, LFMFormats, LFMCore, CLFMKernels ← LFMTraining
//   LFMCore, LFMFormats ← LFMLiquid (liquid networks: LTC/CfC cells, NCP wirings, BPTT, .ts/CSV data)
//   LFMGeneration, LFMModels, LFMTokenizer, LFMChat, Hummingbird ← LFMServer
//   LFMModels, LFMTraining, LFMCore ← LFMSearch (NSGA-II architecture search over LIV genomes; TrainingEvaluator trains and times candidates)
//   LFMTokenizer (stand-alone), LFMHub (stand-alone, + FoundationNetworking: Hugging Face Hub downloads and cache)
//   every module and ArgumentParser ← lfm (the command line)
// ISA-specific inner loops live in the C target CLFMKernels with per-function
// `target` attributes and are chosen at run time; nothing is built with -march=native.

/// Every Swift target builds in Swift 6 language mode (complete data-race checking).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "swift-lfm",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "LFMCore", targets: ["LFMCore"]),
        .library(name: "LFMKernels", targets: ["LFMKernels"]),
        .library(name: "LFMFormats", targets: ["LFMFormats"]),
        .library(name: "LFMModels", targets: ["LFMModels"]),
        .library(name: "LFMTokenizer", targets: ["LFMTokenizer"]),
        .library(name: "LFMChat", targets: ["LFMChat"]),
        .library(name: "LFMGeneration", targets: ["LFMGeneration"]),
        .library(name: "LFMTraining", targets: ["LFMTraining"]),
        .library(name: "LFMHub", targets: ["LFMHub"]),
        .library(name: "LFMSearch", targets: ["LFMSearch"]),
        .executable(name: "lfm", targets: ["lfm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(name: "LFMCore", swiftSettings: swiftSettings),
        .target(name: "CLFMKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "LFMKernels", dependencies: ["LFMCore", "CLFMKernels"], swiftSettings: swiftSettings),
        .target(name: "LFMFormats", dependencies: ["LFMCore"], swiftSettings: swiftSettings),
        .target(name: "LFMModels", dependencies: ["LFMCore", "LFMKernels", "LFMFormats"], swiftSettings: swiftSettings),
        .target(name: "LFMTokenizer", swiftSettings: swiftSettings),
        .target(
            name: "LFMTraining",
            dependencies: ["LFMModels", "LFMKernels", "LFMFormats", "LFMCore"],
            swiftSettings: swiftSettings
        ),
        .target(name: "LFMChat", dependencies: ["LFMCore"], swiftSettings: swiftSettings),
        .target(
            name: "LFMGeneration",
            dependencies: ["LFMModels", "LFMKernels", "LFMTokenizer", "LFMChat"],
            swiftSettings: swiftSettings
        ),
        .target(name: "LFMHub", swiftSettings: swiftSettings),
        .target(name: "LFMSearch", dependencies: ["LFMModels", "LFMKernels", "LFMTraining", "LFMCore"], swiftSettings: swiftSettings),
        .target(name: "LFMLiquid", dependencies: ["LFMFormats", "LFMCore"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "LFMServer",
            dependencies: [
                "LFMGeneration", "LFMModels", "LFMTokenizer", "LFMChat", "LFMKernels", "LFMCore",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lfm",
            dependencies: [
                "LFMCore", "LFMKernels", "LFMFormats", "LFMModels", "LFMTokenizer", "LFMChat", "LFMGeneration", "LFMTraining",
                "LFMServer", "LFMHub", "LFMLiquid", "LFMSearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("DefaultModel")],
            swiftSettings: swiftSettings
        ),
        // Fixtures (KV cache rows) are read by path (#filePath), not as a bundle resource.
        .testTarget(name: "LFMKernelsTests", dependencies: ["LFMKernels", "LFMCore"], exclude: ["Fixtures"],
                    swiftSettings: swiftSettings),
        .testTarget(
            name: "LFMFormatsTests",
            dependencies: ["LFMFormats", "LFMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMModelsTests",
            dependencies: ["LFMModels", "LFMFormats", "LFMKernels", "LFMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMGenerationTests",
            dependencies: ["LFMGeneration", "LFMModels", "LFMTokenizer", "LFMChat", "LFMFormats", "LFMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMTrainingTests",
            dependencies: ["LFMTraining", "LFMModels", "LFMKernels", "LFMFormats", "LFMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMServerTests",
            dependencies: [
                "LFMServer", "LFMGeneration", "LFMModels", "LFMTokenizer", "LFMChat", "LFMFormats", "LFMCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            // The fuzz corpus is read by path (#filePath), not as a bundle resource.
            exclude: ["FuzzCorpus"],
            swiftSettings: swiftSettings
        ),
        // DefaultModelReference.json is read by path (#filePath), not as a bundle resource.
        .testTarget(name: "lfmTests", dependencies: ["lfm"], exclude: ["DefaultModelReference.json"],
                    swiftSettings: swiftSettings),
        .testTarget(name: "LFMHubTests", dependencies: ["LFMHub"], swiftSettings: swiftSettings),
        .testTarget(name: "LFMSearchTests", dependencies: ["LFMSearch", "LFMModels", "LFMTraining", "LFMCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LFMLiquidTests",
            dependencies: ["LFMLiquid", "LFMFormats", "LFMCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMTokenizerTests",
            dependencies: ["LFMTokenizer"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LFMChatTests",
            dependencies: ["LFMChat"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
    ]
)
