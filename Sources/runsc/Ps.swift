import ArgumentParser
import Sandbox

/// `runsc ps [--format table|json] ID`: the container's processes (the table: pids in the sandbox's pid
/// namespace; json: the host pids of the sandbox, as docker top expects from runc).
struct PsCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "ps", abstract: "List the processes running in a container.")
    }

    @Option(name: .shortAndLong, help: "table (processes in the sandbox) or json (an array of the sandbox's host pids, as docker top expects).") var format: String = "table"
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        guard format == "table" || format == "json" else {
            throw RuntimeError("ps: --format must be table or json, got \"\(format)\"")
        }
        let manager = ContainerManager(options: options, log: log)
        if format == "json" {
            print("[" + (try manager.hostProcesses(id: id)).map { String($0) }.joined(separator: ",") + "]")
        } else {
            print(Self.table(try manager.processes(id: id)), terminator: "")
        }
        return 0
    }

    /// runc's columns; the Sentry has no tty or start time per process yet ("?" and "-").
    static func table(_ processes: [ContainerProcess]) -> String {
        let rows = [["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]] + processes.map { p in
            let seconds = p.cpuNanoseconds / 1_000_000_000
            let time = String(format2: seconds / 3600) + ":" + String(format2: seconds / 60 % 60) + ":" + String(format2: seconds % 60)
            return [String(p.uid), String(p.pid), String(p.ppid), "0", "-", "?", time, p.command]
        }
        var widths = [Int](repeating: 0, count: 8)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 1)
            }.joined() + "\n"
        }.joined()
    }
}

private extension String {
    init(format2 value: UInt64) { self = value < 10 ? "0\(value)" : "\(value)" }
}
