import ArgumentParser
import Sandbox

/// `runsc create --bundle DIR [--pid-file F] ID`: starts the sandbox, loads init, does not run it.
struct CreateCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "create", abstract: "Create a container (it runs after `start`).")
    }

    @Option(name: .shortAndLong, help: "The bundle directory (holds config.json).") var bundle: String = "."
    @Option(help: "Write the container's pid to this file.") var pidFile: String?
    @Option(help: "Unix socket to send the pty master to (needs process.terminal: true).") var consoleSocket: String?
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log)
            .create(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
        return 0
    }
}
