import ArgumentParser
import Sandbox

/// `runsc gofer` (internal): serves one container's root file system to its Sentry.
struct GoferCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "gofer", abstract: "Internal: serve a container's files.", shouldDisplay: false)
    }

    @Option(help: "Socket to serve.") var goferFd: Int32
    @Option(help: "The container's root directory.") var rootfs: String
    @Flag(help: "Serve the root read-only.") var readOnly = false
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        var gofer = GoferOptions(id: id, rootfs: rootfs, readOnly: readOnly)
        gofer.goferFD = goferFd
        GoferLauncher.run(gofer, runtime: options)
    }
}
