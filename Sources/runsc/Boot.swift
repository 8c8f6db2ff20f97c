import ArgumentParser
import Sandbox

/// `runsc boot` (internal): the Sentry process of one sandbox, started by create/run/do.
struct BootCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "boot", abstract: "Internal: run a sandbox's Sentry.", shouldDisplay: false)
    }

    @Option(help: "Descriptor holding the spec (JSON).") var specFd: Int32
    @Option(help: "Connected socket to the gofer.") var goferFd: Int32
    @Option(help: "Listening control socket.") var controllerFd: Int32
    @Option(help: "File where the exit status is recorded.") var exitStatusFd: Int32
    @Option(help: "Pipe on which readiness or the setup error is reported.") var readyFd: Int32
    @Option(help: "Log file descriptor.") var logFd: Int32 = -1
    @Option(help: "Host pty replica that becomes init's terminal (process.terminal).") var consoleFd: Int32 = -1
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        var boot = BootOptions(id: id)
        (boot.specFD, boot.goferFD, boot.controllerFD) = (specFd, goferFd, controllerFd)
        (boot.exitStatusFD, boot.readyFD, boot.logFD) = (exitStatusFd, readyFd, logFd)
        boot.consoleFD = consoleFd
        BootRole.run(boot, runtime: options)
    }
}
