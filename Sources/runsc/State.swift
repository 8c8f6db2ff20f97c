import ArgumentParser
import Sandbox

/// `runsc state ID`: prints the runtime-spec state JSON.
struct StateCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "state", abstract: "Print a container's state as JSON.")
    }

    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        let state = try ContainerManager(options: options, log: log).state(id: id)
        print(try JSONOutput.pretty(state))
        return 0
    }
}
