import ArgumentParser
import Sandbox

/// `runsc spec`: writes a default config.json into the bundle directory.
struct SpecCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "spec", abstract: "Write a default config.json (refuses to overwrite one).")
    }

    @Option(name: .shortAndLong, help: "The bundle directory to write config.json into.")
    var bundle: String = "."

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try SpecWriter.writeDefault(bundle: bundle)
        return 0
    }
}
