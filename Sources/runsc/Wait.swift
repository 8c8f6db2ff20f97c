import ArgumentParser
import Sandbox

/// `runsc wait ID`: blocks until the container exits and prints {"id":...,"exitStatus":N}.
struct WaitCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "wait", abstract: "Wait for a container to exit and print its status.")
    }

    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        let code = try ContainerManager(options: options, log: log).wait(id: id)
        print(try JSONOutput.compact(WaitResult(id: id, exitStatus: code)))
        return 0
    }
}
