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
    @Flag(name: .shortAndLong, help: "Create and start, then return (the container keeps running; `delete` it later).")
    var detach = false
    @OptionGroup var runcOptions: RuncCreateOptions
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try runcOptions.check()
        let manager = ContainerManager(options: options, log: log)
        if detach {
            try manager.create(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
            do {
                try manager.start(id: id)
            } catch {
                try? manager.delete(id: id, force: true)
                throw error
            }
            return 0
        }
        return try manager.run(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
    }
}
