import ArgumentParser
import Glibc
import Sandbox

/// `runsc events [--stats] [--interval 5s] ID`: runc's event lines from the Sentry's accounting.
struct EventsCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "events",
                             abstract: "Print a container's resource usage (and oom events) as JSON lines.")
    }

    @Flag(help: "Print the stats once and exit.") var stats = false
    @Option(help: "Time between stats lines (Go syntax: 5s, 500ms, 1m).") var interval = "5s"
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        let nanoseconds = try GoDuration.parse(interval, flag: "interval")
        try ContainerManager(options: options, log: log).events(id: id, interval: nanoseconds, statsOnce: stats) { line in
            print(line)
            fflush(nil)  // a reader waits for each line, not for a full buffer
        }
        return 0
    }
}
