// Thin, throwing wrappers over the host calls the CLI and roles make outside any hot path.
// Every failure becomes a `RuntimeError` that says what was attempted, on what, and why (strerror).
import CLinux
import Glibc

/// An error of the runtime with a one-line message naming the container, field or path involved.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// "<what>: <strerror(errno)>" for the current errno.
    static func errno(_ what: String, _ code: Int32 = Glibc.errno) -> RuntimeError {
        RuntimeError("\(what): \(String(cString: strerror(code)))")
    }
}

enum Sys {
    /// Retries a call that failed with EINTR.
    @discardableResult
    static func retrying<T: BinaryInteger>(_ what: @autoclosure () -> String, _ call: () -> T) throws(RuntimeError) -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw RuntimeError.errno(what())
        }
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(RuntimeError) -> Int32 {
        try retrying("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Writes all of `bytes`, retrying short writes.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], what: @autoclosure () -> String) throws(RuntimeError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.errno(what())
            }
            offset += n
        }
    }

    static func writeAll(_ fd: Int32, _ text: String, what: @autoclosure () -> String) throws(RuntimeError) {
        try writeAll(fd, Array(text.utf8), what: what())
    }

    /// Reads until EOF (or `limit` bytes, to bound what an untrusted peer can make us buffer).
    static func readAll(_ fd: Int32, limit: Int = 16 << 20, what: @autoclosure () -> String) throws(RuntimeError) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.errno(what())
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }

    /// Reads one '\n'-terminated line byte by byte (so nothing after it is consumed). nil at EOF.
    static func readLine(_ fd: Int32, limit: Int = 1 << 20) throws(RuntimeError) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < limit {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.errno("read from control socket")
            }
            if n == 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        throw RuntimeError("control socket: line longer than \(limit) bytes")
    }

    static func pipe() throws(RuntimeError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try retrying("pipe") { fds.withUnsafeMutableBufferPointer { clinux_syscall6(293 /* pipe2 */, Int(bitPattern: $0.baseAddress), Int(O_CLOEXEC), 0, 0, 0, 0) } }
        return (fds[0], fds[1])
    }

    static func socketPair(type: Int32) throws(RuntimeError) -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        try retrying("socketpair") { socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }

    /// A sealed-size anonymous file holding `bytes`, positioned at 0 (how the spec is handed to a role).
    static func memoryFile(name: String, bytes: [UInt8]) throws(RuntimeError) -> Int32 {
        let fd = Int32(try retrying("memfd_create") {
            name.withCString { clinux_syscall6(319 /* memfd_create */, Int(bitPattern: $0), 1 /* MFD_CLOEXEC */, 0, 0, 0, 0) }
        })
        try writeAll(fd, bytes, what: "write \(name)")
        if lseek(fd, 0, SEEK_SET) < 0 { throw RuntimeError.errno("lseek \(name)") }
        return fd
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The absolute form of `path` with symlinks resolved, or nil if it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "/" }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// waitpid that retries EINTR. Returns the raw status.
    static func waitChild(_ pid: pid_t) throws(RuntimeError) -> Int32 {
        var status: Int32 = 0
        try retrying("waitpid \(pid)") { waitpid(pid, &status, 0) }
        return status
    }

    /// The shell's view of a wait status: the exit code, or 128+N for death by signal N.
    static func shellCode(fromWaitStatus status: Int32) -> Int32 {
        let signal = status & 0x7f
        if signal == 0 { return (status >> 8) & 0xff }
        return 128 + signal
    }

    /// Removes a directory tree (state directories only: small, no symlinks followed).
    static func removeTree(_ path: String) {
        if let dir = opendir(path) {
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let child = path + "/" + name
                var st = stat()
                if lstat(child, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                    removeTree(child)
                } else {
                    unlink(child)
                }
            }
            closedir(dir)
        }
        rmdir(path)
    }

    /// Creates a directory and its parents.
    static func makeDirectories(_ path: String, mode: mode_t) throws(RuntimeError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST { throw RuntimeError.errno("mkdir \(current)") }
        }
    }
}
