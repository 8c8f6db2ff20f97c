import ArgumentParser
import FoundationEssentials
import Glibc
import OCI
import Sandbox

/// `runsc exec [flags] ID [COMMAND...]`: runs a new process in a running container (runc's flags).
struct ExecCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "exec", abstract: "Run a new process inside a running container.")
    }

    @Option(name: [.customLong("process"), .customShort("p")], help: "An OCI process.json to run instead of COMMAND.") var process: String?
    @Flag(name: .shortAndLong, help: "Return once the process has started (print nothing, wait for nothing).") var detach = false
    @Option(name: .customLong("pid-file"), help: "Write the pid of the host process that waits for it (and passes signals on) to this file.") var pidFile: String?
    @Option(help: "Working directory in the container (default: the container's).") var cwd: String?
    @Option(name: .shortAndLong, help: "KEY=VALUE added to the container's environment (repeatable).") var env: [String] = []
    @Option(name: .shortAndLong, help: "UID[:GID] to run as.") var user: String?
    @Flag(name: .shortAndLong, help: "Allocate a pseudo-terminal (its master goes to --console-socket).") var tty = false
    @Option(name: .customLong("console-socket"), help: "Unix socket to send the pty master to (with --tty or process.terminal).") var consoleSocket: String?
    @Argument(help: "The container id.") var id: String
    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.") var command: [String] = []

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        var exec = ExecOptions(argv: command)
        exec.terminal = tty
        if let process {
            guard command.isEmpty else { throw RuntimeError("exec: give either --process or a command, not both") }
            let spec: Process
            do {
                spec = try JSONDecoder().decode(Process.self, from: try Data(contentsOf: URL(fileURLWithPath: process)))
            } catch {
                throw RuntimeError("exec: cannot read process file \(process): \(error)")
            }
            exec = ExecOptions(argv: spec.args ?? [])
            exec.terminal = spec.terminal == true || tty
            exec.consoleSize = spec.consoleSize
            exec.environment = spec.env ?? []
            exec.replaceEnvironment = true
            exec.workingDirectory = spec.cwd
            exec.uid = spec.user.uid
            exec.gid = spec.user.gid
        }
        guard !exec.argv.isEmpty else { throw RuntimeError("exec: no command given (use --process FILE or ID COMMAND...)") }
        exec.consoleSocket = consoleSocket
        exec.environment += env
        if let cwd { exec.workingDirectory = cwd }
        if let user { (exec.uid, exec.gid) = try Self.parseUser(user) }
        let manager = ContainerManager(options: options, log: log)
        let pid = try manager.exec(id: id, exec)
        // The pid file names a host process that lives as long as the process and ends with its status:
        // a waiter when detached, this very process otherwise (both pass signals on).
        if detach {
            if let pidFile { try manager.recordPid(pidFile, pid: try manager.spawnExecWaiter(id: id, pid: pid)) }
            return 0
        }
        if let pidFile { try manager.recordPid(pidFile, pid: getpid()) }
        return try manager.waitExecForwardingSignals(id: id, pid: pid)
    }

    /// "UID" or "UID:GID", numbers only (names would need the container's /etc/passwd).
    static func parseUser(_ text: String) throws -> (UInt32, UInt32?) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let uid = UInt32(parts[0]) else { throw RuntimeError("exec: --user must be UID[:GID] with numbers, got \"\(text)\"") }
        if parts.count == 1 { return (uid, nil) }
        guard let gid = UInt32(parts[1]) else { throw RuntimeError("exec: --user must be UID[:GID] with numbers, got \"\(text)\"") }
        return (uid, gid)
    }
}
