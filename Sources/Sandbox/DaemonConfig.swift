// `runsc install` / `runsc uninstall`: add or remove this runtime in docker's daemon.json. Every other key is
// kept, the previous file is copied to "<file>.bak" first, and the new file replaces the old one atomically
// (write a temporary file in the same directory, fsync, rename), so docker never reads half a file.
// Docker is not restarted: the message says to reload it.
import Glibc
import OCI

/// Edits of docker's daemon.json.
public enum DockerDaemonConfig {
    public static let defaultPath = "/etc/docker/daemon.json"

    /// `runtimes.<name> = {"path": binary, "runtimeArgs": arguments}` in `document` (nil: no file yet).
    public static func installing(runtime name: String, binary: String, arguments: [String], into document: JSONValue?,
                                  file: String) throws(RuntimeError) -> JSONValue {
        try checkName(name)
        var top = try topObject(document, file: file)
        var runtimes = try runtimesObject(top, file: file)
        var entry: [String: JSONValue] = ["path": .string(binary)]
        if !arguments.isEmpty { entry["runtimeArgs"] = .array(arguments.map { .string($0) }) }
        runtimes[name] = .object(entry)
        top["runtimes"] = .object(runtimes)
        return .object(top)
    }

    /// `document` without `runtimes.<name>` (and without an empty "runtimes").
    public static func uninstalling(runtime name: String, from document: JSONValue?, file: String) throws(RuntimeError) -> JSONValue {
        var top = try topObject(document, file: file)
        var runtimes = try runtimesObject(top, file: file)
        guard runtimes.removeValue(forKey: name) != nil else {
            throw RuntimeError("\(file): runtime \"\(name)\" is not installed (no runtimes.\(name))")
        }
        top["runtimes"] = runtimes.isEmpty ? nil : .object(runtimes)
        return .object(top)
    }

    /// Installs into `file`; returns a line for the user.
    public static func install(runtime name: String, binary: String, arguments: [String], file: String) throws(RuntimeError) -> String {
        let original = try readIfExists(file)
        var document: JSONValue?
        if let original { document = try parse(original, file: file) }
        let updated = try installing(runtime: name, binary: binary, arguments: arguments, into: document, file: file)
        try replace(file, with: updated, original: original)
        return "runtime \"\(name)\" (\(binary)) installed in \(file)" + (original != nil ? " (previous file saved as \(file).bak)" : "")
            + "; reload docker (systemctl reload docker, or SIGHUP dockerd) to use it"
    }

    public static func uninstall(runtime name: String, file: String) throws(RuntimeError) -> String {
        guard let original = try readIfExists(file) else { throw RuntimeError("\(file): no such file: runtime \"\(name)\" is not installed") }
        let updated = try uninstalling(runtime: name, from: try parse(original, file: file), file: file)
        try replace(file, with: updated, original: original)
        return "runtime \"\(name)\" removed from \(file) (previous file saved as \(file).bak); reload docker to apply"
    }

    /// Parses daemon.json; a syntax error names the file and the position.
    public static func parse(_ bytes: [UInt8], file: String) throws(RuntimeError) -> JSONValue {
        // An empty file is how docker's packages sometimes ship it: treat it as {}.
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { return .object([:]) }
        switch JSONDocument.parse(bytes) {
        case .success(let value): return value
        case .failure(let error): throw RuntimeError("\(file): invalid JSON: \(error.description)")
        }
    }

    static func checkName(_ name: String) throws(RuntimeError) {
        let valid = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        if !valid { throw RuntimeError("--runtime: invalid runtime name \"\(name)\" (letters, digits, '-', '_' and '.')") }
    }

    private static func topObject(_ document: JSONValue?, file: String) throws(RuntimeError) -> [String: JSONValue] {
        switch document {
        case nil: return [:]
        case .object(let members)?: return members
        case let other?: throw RuntimeError("\(file): must be a JSON object, got \(other.typeName)")
        }
    }

    private static func runtimesObject(_ top: [String: JSONValue], file: String) throws(RuntimeError) -> [String: JSONValue] {
        switch top["runtimes"] {
        case nil, .null?: return [:]
        case .object(let members)?: return members
        case let other?: throw RuntimeError("\(file): \"runtimes\" must be an object, got \(other.typeName)")
        }
    }

    private static func readIfExists(_ file: String) throws(RuntimeError) -> [UInt8]? {
        do {
            return try AtomicFile.read(file)
        } catch let error where error.code == ENOENT {
            return nil
        } catch {
            throw error.runtimeError
        }
    }

    private static func replace(_ file: String, with document: JSONValue, original: [UInt8]?) throws(RuntimeError) {
        var st = stat()
        let mode = stat(file, &st) == 0 ? st.st_mode & 0o7777 : 0o644
        if let original { try AtomicFile.write(file + ".bak", original, mode: mode) }
        let slash = file.lastIndex(of: "/")
        if let slash, slash != file.startIndex {
            try Sys.makeDirectories(String(file[..<slash]), mode: 0o755)
        }
        try AtomicFile.write(file, Array(JSONDocument.print(document).utf8), mode: mode)
    }
}

/// Whole-file reads and atomic replacement.
public enum AtomicFile {
    public struct Failure: Error {
        public let code: Int32
        public let runtimeError: RuntimeError
    }

    public static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            throw Failure(code: code, runtimeError: RuntimeError.errno("open \(path)", code))
        }
        defer { close(fd) }
        do {
            return try Sys.readAll(fd, what: "read \(path)")
        } catch {
            throw Failure(code: EIO, runtimeError: error)
        }
    }

    /// Writes `bytes` to a temporary file next to `path`, syncs it, and renames it over `path`.
    public static func write(_ path: String, _ bytes: [UInt8], mode: mode_t) throws(RuntimeError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + "/." + base + ".tmp-\(getpid())"
        let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode: mode)
        do throws(RuntimeError) {
            try Sys.writeAll(fd, bytes, what: "write \(temporary)")
            _ = fchmod(fd, mode)  // the umask must not narrow a file docker reads
            if fsync(fd) != 0 { throw RuntimeError.errno("fsync \(temporary)") }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw RuntimeError.errno("rename \(temporary) to \(path)", code)
        }
        // The rename itself must survive a crash too.
        let dirFD = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }
}
