import ArgumentParser
import Sandbox

/// `runsc run --bundle DIR ID`: create + start + wait; exits with the container's status.
struct RunCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "run", abstract: "Create and start a container, wait for it, delete it.")
    }

    @Option(name: .shortAndLong, help: "The bundle directory (holds config.json).") var bundle: String = "."
    @Option(help: "Write the container's pid to this file.") var pidFile: String?
    @Option(help: "Unix socket to send the pty master to (needs process.terminal: true).") var consoleSocket: String?
    @Flag(name: .shortAndLong, help: "Run in the background (not supported yet).") var detach = false
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        if detach { throw RuntimeError("run --detach is not supported yet; use create and start") }
        return try ContainerManager(options: options, log: log)
            .run(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
    }
}
