import ArgumentParser
import Sandbox

/// `runsc features`: runc's features JSON, saying what this runtime supports.
struct FeaturesCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "features", abstract: "Print the runtime's supported features as JSON.")
    }

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        print(RuntimeFeatures.current(version: Entry.version).json)
        return 0
    }
}
