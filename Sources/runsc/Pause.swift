import ArgumentParser
import Sandbox

/// `runsc pause ID`: stops every process of a running container until `runsc resume`.
struct PauseCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "pause", abstract: "Suspend all processes of a running container.")
    }

    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log).pause(id: id)
        return 0
    }
}
