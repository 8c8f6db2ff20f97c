// The log of a command whose global flags did not parse: --log and --log-format are looked for by hand,
// so even that error reaches the file containerd reads (it shows the last error line to the user).

extension RuntimeLog {
    /// A log for `arguments` (argv without argv[0]) built from whatever --log/--log-format it can find.
    public static func forUnparsedArguments(_ arguments: [String]) -> RuntimeLog {
        var options = RuntimeOptions()
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            guard token.hasPrefix("-"), token != "--" else { break }
            let name = String(token.drop(while: { $0 == "-" }).prefix { $0 != "=" })
            var value: String?
            if let eq = token.firstIndex(of: "=") {
                value = String(token[token.index(after: eq)...])
            } else if CommandLineParser.valueFlags.contains(name), index + 1 < arguments.count {
                index += 1
                value = arguments[index]
            }
            if name == "log", let value, !value.isEmpty { options.log = value }
            if name == "log-format", let value, let format = Format(rawValue: value) { options.logFormat = format }
            index += 1
        }
        return RuntimeLog.open(options: options, command: "runsc")
    }
}
