import ArgumentParser
import Sandbox

/// `runsc start ID`: runs a created container's init.
struct StartCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "start", abstract: "Start a created container.")
    }

    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log).start(id: id)
        return 0
    }
}
