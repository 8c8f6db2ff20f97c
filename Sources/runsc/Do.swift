import ArgumentParser
import Sandbox

/// `runsc do CMD...`: runs CMD in a sandbox over the host's root (read-only); exits with its status.
struct DoCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "do", abstract: "Run a command in a sandbox over the host's root file system.")
    }

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.") var command: [String] = []

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log).runCommand(command)
    }
}
