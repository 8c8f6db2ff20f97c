import ArgumentParser
import Sandbox

/// `runsc delete [--force] ID`: kills what is left of the sandbox and removes its state.
struct DeleteCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "delete", abstract: "Delete a container (--force if it is running).")
    }

    @Flag(name: .shortAndLong, help: "Kill the container first if it is running.") var force = false
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log).delete(id: id, force: force)
        return 0
    }
}
