// Where the runtime's own messages go. Errors always reach stderr (one line, "runsc: ..."), and also the
// --log file in --log-format text or json (containerd reads the json lines). Debug lines are written only
// with --debug: to the --log file and the --debug-log file if given, else to stderr.
import FoundationEssentials
import Glibc

/// The runtime's log sinks for one process (CLI command or role).
public final class RuntimeLog: Sendable {
    public enum Format: String, Sendable { case text, json }

    let format: Format
    let debugEnabled: Bool
    /// --log file, or -1.
    let logFD: Int32
    /// --debug-log file, or -1.
    let debugFD: Int32
    /// Whether errors are echoed to stderr (roles whose stderr is the app's do not echo).
    let echoErrors: Bool

    public init(format: Format, debug: Bool, logFD: Int32, debugFD: Int32, echoErrors: Bool = true) {
        self.format = format; self.debugEnabled = debug; self.logFD = logFD; self.debugFD = debugFD
        self.echoErrors = echoErrors
    }

    /// Opens the sinks the global options name. A log file that cannot be opened is reported on stderr only.
    public static func open(options: RuntimeOptions, command: String) -> RuntimeLog {
        var logFD: Int32 = -1
        if let path = options.log {
            logFD = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            if logFD < 0 {
                let reason = String(cString: strerror(errno))
                try? Sys.writeAll(2, "runsc: cannot open --log \(path): \(reason)\n", what: "stderr")
            }
        }
        var debugFD: Int32 = -1
        if let dir = options.debugLog {
            debugFD = openDebugLog(dir: dir, name: "runsc.\(getpid()).\(command).log")
        }
        return RuntimeLog(format: options.logFormat, debug: options.debug, logFD: logFD, debugFD: debugFD)
    }

    /// Opens "<dir>/<name>" for a --debug-log directory (created if missing); -1 on failure.
    public static func openDebugLog(dir: String, name: String) -> Int32 {
        try? Sys.makeDirectories(dir, mode: 0o755)
        return Glibc.open(dir + "/" + name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }

    public func error(_ message: String) {
        let oneLine = message.replacing("\n", with: " ")
        if echoErrors { writeLine(2, "runsc: " + oneLine) }
        if logFD >= 0 { writeLine(logFD, formatted(level: "error", oneLine)) }
        if debugFD >= 0 { writeLine(debugFD, formatted(level: "error", oneLine)) }
    }

    public func warning(_ message: String) {
        if logFD >= 0 { writeLine(logFD, formatted(level: "warning", message)) }
        if debugFD >= 0 { writeLine(debugFD, formatted(level: "warning", message)) }
        if logFD < 0 && debugFD < 0 && debugEnabled { writeLine(2, "runsc: warning: " + message) }
    }

    public func debug(_ message: @autoclosure () -> String) {
        guard debugEnabled else { return }
        let text = message()
        if logFD >= 0 { writeLine(logFD, formatted(level: "debug", text)) }
        if debugFD >= 0 { writeLine(debugFD, formatted(level: "debug", text)) }
        if logFD < 0 && debugFD < 0 { writeLine(2, "runsc: debug: " + text) }
    }

    func formatted(level: String, _ message: String) -> String {
        let time = Timestamp.now()
        switch format {
        case .json:
            return "{\"level\":\"\(level)\",\"msg\":\(jsonString(message)),\"time\":\"\(time)\"}"
        case .text:
            return "time=\"\(time)\" level=\(level) msg=\(jsonString(message))"
        }
    }

    func jsonString(_ text: String) -> String {
        guard let data = try? JSONEncoder().encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }

    private func writeLine(_ fd: Int32, _ line: String) {
        try? Sys.writeAll(fd, line + "\n", what: "log")
    }
}
