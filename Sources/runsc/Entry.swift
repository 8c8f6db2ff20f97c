// Dispatch: global options, then one subcommand; every failure is one line on stderr (and in --log) with
// exit status 1, like runc.
import ArgumentParser
import Sandbox

/// A subcommand that runs with the global options and returns the process exit status.
protocol RunscCommand {
    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32
}

enum Entry {
    static let version = "0.1.0"

    static func run(_ arguments: [String]) -> Int32 {
        let outcome: CommandLineParser.Outcome
        do {
            outcome = try CommandLineParser.parse(arguments)
        } catch {
            // The global flags did not parse, but --log may still be readable: containerd shows that file.
            RuntimeLog.forUnparsedArguments(arguments).error(error.description)
            return 1
        }
        switch outcome {
        case .help:
            print(Runsc.helpMessage())
            return 0
        case .version:
            print("runsc version \(version)\nspec: \(OCIVersion.current)")
            return 0
        case .command(let options, let rest):
            let log = RuntimeLog.open(options: options, command: rest.first ?? "runsc")
            do {
                let parsed = try Runsc.parseAsRoot(rest)
                guard let command = parsed as? RunscCommand else {
                    print(Runsc.helpMessage(for: type(of: parsed)))
                    return 0
                }
                return try command.execute(options, log)
            } catch let error as RuntimeError {
                log.error(error.description)
                return 1
            } catch {
                if Runsc.exitCode(for: error) == .success {
                    print(Runsc.fullMessage(for: error))
                    return 0
                }
                let message = Runsc.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                log.error("\(rest.first ?? "runsc"): \(message)")
                return 1
            }
        }
    }

    static func printError(_ message: String) {
        var stderr = StandardError()
        print("runsc: " + message, to: &stderr)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        _ = string.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}

import Glibc
import OCI

enum OCIVersion {
    static let current = Spec.version
}

/// The root command: only used for parsing subcommands and help.
struct Runsc: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "runsc",
            abstract: "A sandboxed OCI runtime: containers run on the Sentry, a Linux kernel in user space.",
            discussion: """
                Global flags (before the subcommand; -flag, --flag and --flag=value are all accepted):
                  --root DIR            state directory (default /var/run/runsc)
                  --log FILE            also write errors (and debug lines) to FILE
                  --log-format FORMAT   text or json
                  --debug               debug logging; seccomp reports a missing syscall instead of killing
                  --debug-log DIR       write debug logs to files in DIR
                  --platform NAME       ptrace (kvm is not supported yet)
                  --network MODE        none (sandbox and host are not supported yet)
                  --overlay2 MODE       root:memory (default: changes to the root stay in sandbox memory)
                                        or none (changes are written through to the rootfs)
                  --file-access MODE    exclusive (default) or shared: the root's files may change on the host
                  --file-access-mounts MODE  shared (default) or exclusive, for bind mounts
                  --host-uds MODE       none (default), open, create or all: connect to host unix sockets
                                        found on the container's mounts (open, all), bind new ones
                                        there (create, all)
                  --systemd-cgroup      linux.cgroupsPath is systemd's slice:prefix:name
                  --strace              log every app syscall
                  --version             print the version
                """,
            subcommands: [
                SpecCommand.self, CreateCommand.self, StartCommand.self, RunCommand.self, StateCommand.self,
                KillCommand.self, DeleteCommand.self, ListCommand.self, WaitCommand.self, DoCommand.self, ExecCommand.self,
                PsCommand.self,
                PauseCommand.self, ResumeCommand.self, EventsCommand.self, UpdateCommand.self, FeaturesCommand.self,
                InstallCommand.self, UninstallCommand.self,
                BootCommand.self, GoferCommand.self,
            ])
    }
}
