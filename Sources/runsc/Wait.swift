import ArgumentParser
import Sandbox

/// `runsc wait ID`: blocks until the container exits and prints {"id":...,"exitStatus":N}.
struct WaitCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "wait", abstract: "Wait for a container to exit and print its status.")
    }

    @Option(help: "Wait for this process (a pid inside the sandbox, e.g. from exec) instead of the container.") var pid: Int32?
    @Flag(name: .customLong("exit-code"), help: "Print nothing; exit with the status and pass received signals on (the waiter of a detached exec).")
    var exitCode = false
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        let manager = ContainerManager(options: options, log: log)
        if exitCode {
            guard let pid else { throw RuntimeError("wait --exit-code needs --pid") }
            return try manager.waitExecForwardingSignals(id: id, pid: pid)
        }
        let code = try pid.map { try manager.waitExec(id: id, pid: $0) } ?? manager.wait(id: id)
        print(try JSONOutput.compact(WaitResult(id: id, exitStatus: code)))
        return 0
    }
}
