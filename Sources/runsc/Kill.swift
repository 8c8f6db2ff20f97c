import ArgumentParser
import LinuxABI
import Sandbox

/// `runsc kill ID [SIGNAL]`: signals the container's init (or all its processes with --all).
struct KillCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "kill", abstract: "Send a signal (name or number, default TERM) to a container.")
    }

    @Flag(name: .shortAndLong, help: "Signal every process of the container.") var all = false
    @Argument(help: "The container id.") var id: String
    @Argument(help: "The signal: KILL, SIGKILL or 9.") var signal: String = "TERM"

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        guard let parsed = Signal.parse(signal) else {
            throw RuntimeError("kill: unknown signal \"\(signal)\" (use a name like TERM or a number 1-64)")
        }
        try ContainerManager(options: options, log: log).kill(id: id, signal: parsed, all: all)
        return 0
    }
}
