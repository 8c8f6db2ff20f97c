import ArgumentParser
import Glibc
import Sandbox

/// `runsc install [--runtime NAME] [--config-file FILE] [-- FLAGS...]`: registers this binary as a docker
/// runtime in daemon.json (other keys kept, backup written, atomic replace). Docker is not restarted.
struct InstallCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "install", abstract: "Add this runtime to docker's daemon.json.",
                             discussion: "Flags after -- are passed to runsc by docker (runtimeArgs), e.g. -- --debug.")
    }

    @Option(help: "The runtime name docker will know.") var runtime = "runsc"
    @Option(name: [.customLong("config-file"), .customLong("config_file")], help: "docker's daemon.json.")
    var configFile = DockerDaemonConfig.defaultPath
    @Argument(parsing: .postTerminator, help: "Global runsc flags docker should pass.") var runtimeArgs: [String] = []

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        // Checked here so a typo does not end up in docker's configuration.
        if !runtimeArgs.isEmpty, case .failure(let error) = Result(catching: { try CommandLineParser.parse(runtimeArgs + ["state"]) }) {
            throw RuntimeError("install: runtime flags \(runtimeArgs.joined(separator: " ")): \(error)")
        }
        print(try DockerDaemonConfig.install(runtime: runtime, binary: try Self.selfPath(), arguments: runtimeArgs,
                                             file: configFile))
        return 0
    }

    /// The absolute path of the running binary.
    static func selfPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw RuntimeError("install: cannot find this binary's path (/proc/self/exe)") }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `runsc uninstall [--runtime NAME] [--config-file FILE]`: removes the runtime from daemon.json.
struct UninstallCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "uninstall", abstract: "Remove this runtime from docker's daemon.json.")
    }

    @Option(help: "The runtime name to remove.") var runtime = "runsc"
    @Option(name: [.customLong("config-file"), .customLong("config_file")], help: "docker's daemon.json.")
    var configFile = DockerDaemonConfig.defaultPath

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        print(try DockerDaemonConfig.uninstall(runtime: runtime, file: configFile))
        return 0
    }
}
