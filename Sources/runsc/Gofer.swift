import ArgumentParser
import Glibc
import Sandbox

/// `runsc gofer` (internal): serves one container's root file system to its Sentry.
struct GoferCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "gofer", abstract: "Internal: serve a container's files.", shouldDisplay: false)
    }

    @Option(help: "Socket to serve.") var goferFd: Int32
    @Option(help: "The container's root directory.") var rootfs: String
    @Flag(help: "Serve the root read-only.") var readOnly = false
    @Option(name: .customLong("bind"), help: "A bind mount source to serve, SOURCE:ro or SOURCE:rw (repeatable).")
    var binds: [String] = []
    @Option(help: "Descriptor for the debug log, closed before the gofer confines itself.") var logFd: Int32 = -1
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        // Logged before GoferRole.run: once its filter is in place the gofer may write to stderr only.
        let setupLog = RuntimeLog(format: options.logFormat, debug: options.debug, logFD: logFd, debugFD: -1,
                                  echoErrors: false)
        setupLog.debug("gofer \(id): seccomp allowlist (\(readOnly ? "read-only" : "writable"), "
                       + "Sources/Gofer/GoferSeccomp.swift) is installed after pivot_root into \(rootfs); "
                       + "any other host syscall kills the gofer")
        if logFd >= 0 { close(logFd) }
        var gofer = GoferOptions(id: id, rootfs: rootfs, readOnly: readOnly)
        gofer.goferFD = goferFd
        gofer.binds = try binds.enumerated().map { try GoferOptions.parseBind($0.element, index: $0.offset) }
        GoferLauncher.run(gofer, runtime: options)
    }
}
