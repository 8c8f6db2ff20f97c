import ArgumentParser
import Sandbox

/// `runsc resume ID`: lets the processes of a paused container continue where they stopped.
struct ResumeCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "resume", abstract: "Resume all processes of a paused container.")
    }

    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try ContainerManager(options: options, log: log).resume(id: id)
        return 0
    }
}
