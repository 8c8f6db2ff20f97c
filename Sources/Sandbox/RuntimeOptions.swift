// The global flags that come before the subcommand (`runsc --root X --debug create ...`), accepted in Go
// style (-root X, -root=X) and GNU style (--root X, --root=X), as docker and containerd pass them.

/// Global runtime options shared by every subcommand and forwarded to the boot and gofer roles.
public struct RuntimeOptions: Sendable, Equatable {
    public var root = "/var/run/runsc"
    public var log: String?
    public var logFormat: RuntimeLog.Format = .text
    public var debug = false
    public var debugLog: String?
    public var platform = "ptrace"
    public var network = "none"
    public var strace = false
    public var systemdCgroup = false
    /// Where changes to the container's root go (`--overlay2`).
    public var overlay2: Overlay2 = .rootMemory
    /// `--file-access` (the root) and `--file-access-mounts` (bind mounts), gVisor's flags: `exclusive`
    /// lets the Sentry keep what it looked up, `shared` makes it check with the Gofer on every walk and
    /// stat so changes made on the host are seen. As in gVisor the root is exclusive and mounts shared.
    public var fileAccess: FileAccess = .exclusive
    public var fileAccessMounts: FileAccess = .shared
    /// `--host-uds` (gVisor's flag): whether the app may connect to (`open`) or create (`create`) host
    /// unix sockets on Gofer-served mounts. Only `open` is implemented; `create` is refused at bind().
    public var hostUDS: HostUDS = .none

    public init() {}

    public enum FileAccess: String, Sendable, Equatable {
        case exclusive, shared
    }

    /// `--host-uds` values.
    public enum HostUDS: String, Sendable, Equatable {
        case none, open, create, all
        public var allowsOpen: Bool { self == .open || self == .all }
        public var allowsCreate: Bool { self == .create || self == .all }
    }

    /// `--overlay2` values: an in-memory overlay on the root (the default), or none (write through).
    public enum Overlay2: String, Sendable, Equatable {
        case rootMemory = "root:memory"
        case none
    }

    /// The platforms and network modes that exist today; others are refused with a message naming the flag.
    public static let supportedPlatforms = ["ptrace"]
    public static let supportedNetworks = ["none"]

    /// Refuses values that are valid runsc flags but not built yet, naming the flag and value.
    public func checkSupported() throws(RuntimeError) {
        switch platform {
        case "ptrace": break
        case "kvm", "systrap":
            throw RuntimeError("--platform=\(platform) is not supported yet (available: ptrace)")
        default:
            throw RuntimeError("--platform=\(platform): unknown platform (available: ptrace)")
        }
        switch network {
        case "none": break
        case "host", "sandbox":
            throw RuntimeError("--network=\(network) is not supported yet (available: none)")
        default:
            throw RuntimeError("--network=\(network): unknown network mode (expected none, sandbox or host)")
        }
    }

    /// The flags a role is started with so it behaves like the CLI that started it.
    public var roleArguments: [String] {
        var args = ["--root", root, "--log-format", logFormat.rawValue, "--platform", platform, "--network", network,
                    "--overlay2", overlay2.rawValue, "--file-access", fileAccess.rawValue,
                    "--file-access-mounts", fileAccessMounts.rawValue, "--host-uds", hostUDS.rawValue]
        if debug { args.append("--debug") }
        if strace { args.append("--strace") }
        return args
    }
}

/// Splits argv into global options and the subcommand's arguments.
public enum CommandLineParser {
    /// What a parse produced: options, the subcommand and its arguments, or a request for help/version.
    public enum Outcome: Equatable, Sendable {
        case command(RuntimeOptions, [String])
        case help
        case version
    }

    static let valueFlags: Set<String> = ["root", "log", "log-format", "debug-log", "platform", "network", "overlay2",
                                          "file-access", "file-access-mounts", "host-uds"]
    static let boolFlags: Set<String> = ["debug", "strace", "systemd-cgroup", "help", "version"]

    /// Parses `arguments` (without argv[0]).
    public static func parse(_ arguments: [String]) throws(RuntimeError) -> Outcome {
        var options = RuntimeOptions()
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            guard token.hasPrefix("-"), token != "-", token != "--" else { break }
            if token == "-h" { return .help }
            if token == "-v" { return .version }
            var name = String(token.drop(while: { $0 == "-" }))
            var inlineValue: String?
            if let eq = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if valueFlags.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    index += 1
                    guard index < arguments.count else { throw RuntimeError("flag --\(name) needs a value") }
                    value = arguments[index]
                }
                try apply(name, value, to: &options)
            } else if boolFlags.contains(name) {
                let on: Bool
                switch inlineValue {
                case nil, "true", "1": on = true
                case "false", "0": on = false
                case let other?: throw RuntimeError("flag --\(name): invalid boolean value \"\(other)\"")
                }
                switch name {
                case "help": if on { return .help }
                case "version": if on { return .version }
                case "debug": options.debug = on
                case "strace": options.strace = on
                default: options.systemdCgroup = on
                }
            } else {
                throw RuntimeError("unknown global flag \"\(token)\" (see runsc --help)")
            }
            index += 1
        }
        if index < arguments.count && arguments[index] == "--" { index += 1 }
        guard index < arguments.count else { return .help }
        let rest = Array(arguments[index...])
        return .command(options, normalizeSubcommandArguments(rest))
    }

    static func apply(_ name: String, _ value: String, to options: inout RuntimeOptions) throws(RuntimeError) {
        switch name {
        case "root":
            guard !value.isEmpty else { throw RuntimeError("flag --root: must not be empty") }
            options.root = value
        case "log": options.log = value.isEmpty ? nil : value
        case "log-format":
            guard let format = RuntimeLog.Format(rawValue: value) else {
                throw RuntimeError("flag --log-format: unknown format \"\(value)\" (expected text or json)")
            }
            options.logFormat = format
        case "debug-log": options.debugLog = value.isEmpty ? nil : value
        case "platform": options.platform = value
        case "overlay2":
            guard let overlay = RuntimeOptions.Overlay2(rawValue: value) else {
                throw RuntimeError("flag --overlay2: \"\(value)\" is not supported (expected root:memory or none)")
            }
            options.overlay2 = overlay
        case "host-uds":
            // gVisor spells "none" as the empty string.
            guard let mode = RuntimeOptions.HostUDS(rawValue: value.isEmpty ? "none" : value) else {
                throw RuntimeError("flag --host-uds: unknown value \"\(value)\" (expected none, open, create or all)")
            }
            options.hostUDS = mode
        case "file-access", "file-access-mounts":
            guard let access = RuntimeOptions.FileAccess(rawValue: value) else {
                throw RuntimeError("flag --\(name): \"\(value)\" is not supported (expected exclusive or shared)")
            }
            if name == "file-access" { options.fileAccess = access } else { options.fileAccessMounts = access }
        default: options.network = value
        }
    }

    /// Subcommands whose arguments after the first positional belong to the app (never rewritten).
    static let passthroughCommands: Set<String> = ["do", "exec"]

    /// Rewrites Go-style long flags (`-bundle X`, `-force`) as `--bundle X` for swift-argument-parser.
    /// Single-letter flags (`-f`) stay short. For `do`, everything from the app's argv on is left alone.
    public static func normalizeSubcommandArguments(_ arguments: [String]) -> [String] {
        guard let command = arguments.first else { return arguments }
        var result = [command]
        var verbatim = false
        for token in arguments.dropFirst() {
            if verbatim || token == "--" {
                verbatim = true
                result.append(token)
                continue
            }
            if isGoStyleLongFlag(token) {
                result.append("-" + token)
            } else {
                if !token.hasPrefix("-") && passthroughCommands.contains(command) { verbatim = true }
                result.append(token)
            }
        }
        return result
    }

    /// "-name" or "-name=value" with a name of two or more characters starting with a letter.
    static func isGoStyleLongFlag(_ token: String) -> Bool {
        guard token.hasPrefix("-"), !token.hasPrefix("--") else { return false }
        let name = token.dropFirst().prefix(while: { $0 != "=" })
        guard name.count >= 2, let first = name.first, first.isLetter else { return false }
        return name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
    }
}
