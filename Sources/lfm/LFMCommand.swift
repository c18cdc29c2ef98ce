import ArgumentParser

/// The `lfm` command line.
@main
struct LFMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfm",
        abstract: "Run Liquid Foundation Models (LFM2) on the CPU.",
        subcommands: [
            GenerateCommand.self, RunCommand.self, ServeCommand.self, InfoCommand.self, BenchCommand.self,
            PerplexityCommand.self, ConvertCommand.self, QuantizeCommand.self, TrainCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self, ChatTemplateCommand.self,
            PullCommand.self, LiquidCommand.self, SearchCommand.self,
        ]
    )
}
