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
    @OptionGroup var runcOptions: RuncCreateOptions
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        try runcOptions.check()
        try ContainerManager(options: options, log: log)
            .create(id: id, bundle: bundle, pidFile: pidFile, consoleSocket: consoleSocket)
        return 0
    }
}

/// runc's create/run flags that clients pass and that have nothing to change here.
struct RuncCreateOptions: ParsableArguments {
    @Flag(name: .customLong("no-pivot"), help: "Accepted (runc: no pivot_root). The Sentry always pivots into an empty root.")
    var noPivot = false
    @Flag(name: .customLong("no-new-keyring"), help: "Accepted (runc: keep the session keyring). The sandbox has no keyrings.")
    var noNewKeyring = false
    @Option(name: .customLong("preserve-fds"), help: "Extra descriptors for the container: only 0 is supported.")
    var preserveFds: Int = 0

    func check() throws {
        guard preserveFds == 0 else {
            throw RuntimeError("--preserve-fds \(preserveFds): passing extra descriptors to the container is not supported "
                               + "(the sandbox's app gets stdio only)")
        }
    }
}
