// Starting the roles: re-executes this binary (/proc/self/exe) through clinux_spawn, which clones with the
// namespace flags, waits until we have written the user-namespace maps, maps descriptors to fixed numbers
// and execs. Nothing is inherited by accident: every other descriptor is closed, the environment is explicit.
import CLinux
import Glibc
import LinuxABI

/// One process to start.
struct SpawnRequest {
    var executable = "/proc/self/exe"
    var arguments: [String]
    var environment: [String] = []
    var cloneFlags: UInt64 = 0
    /// (descriptor in this process, number it gets in the child). 0, 1 and 2 are inherited as they are.
    var descriptors: [(from: Int32, to: Int32)] = []
    /// uid_map / gid_map contents to write before the child runs (with CLONE_NEWUSER).
    var idMaps: (uid: String, gid: String)?
    var newSession = false
    /// Sent to the child when we die (0: none), so `run`/`do` never leave a sandbox behind.
    var deathSignal: Int32 = 0
}

enum Spawner {
    /// Starts the process and returns its pid (in our pid namespace).
    static func spawn(_ request: SpawnRequest) throws(RuntimeError) -> pid_t {
        let sync: (read: Int32, write: Int32)? = request.idMaps == nil ? nil : try Sys.pipe()
        let argv = CStringArray(request.arguments)
        let envp = CStringArray(request.environment)
        var fdMap: [Int32] = []
        for pair in request.descriptors { fdMap += [pair.from, pair.to] }
        let pid = fdMap.withUnsafeBufferPointer { map in
            clinux_spawn(request.executable, argv.pointer, envp.pointer, UInt(request.cloneFlags), map.baseAddress,
                         Int32(request.descriptors.count), sync?.read ?? -1, request.newSession ? 1 : 0,
                         request.deathSignal)
        }
        let spawnErrno = errno
        if let sync { close(sync.read) }
        if pid < 0 {
            if let sync { close(sync.write) }
            throw RuntimeError.errno("cannot start \(request.arguments.first ?? "process")", spawnErrno)
        }
        if let sync, let maps = request.idMaps {
            defer { close(sync.write) }
            do {
                // setgroups must be denied before an unprivileged gid_map; harmless (and safer) when privileged.
                try writeProcFile(pid, "setgroups", "deny\n")
                try writeProcFile(pid, "uid_map", maps.uid)
                try writeProcFile(pid, "gid_map", maps.gid)
                try Sys.writeAll(sync.write, [1], what: "release child \(pid)")
            } catch {
                kill(pid, SIGKILL)
                _ = try? Sys.waitChild(pid)
                throw error
            }
        }
        return pid
    }

    private static func writeProcFile(_ pid: pid_t, _ name: String, _ text: String) throws(RuntimeError) {
        let path = "/proc/\(pid)/\(name)"
        let fd = try Sys.open(path, O_WRONLY)
        defer { close(fd) }
        try Sys.writeAll(fd, text, what: "write \(path)")
    }

    /// The maps for the Sentry's user namespace: its root is whoever started it (root-mapped). Mapping it to an
    /// unprivileged host user instead needs a setresuid(0) in the child between clone and exec (the exec'd
    /// process is only root of the namespace if its own uid maps to 0), which clinux_spawn does not do yet.
    /// Either way the Sentry holds no capability in the host's namespaces.
    static func sandboxIDMaps() -> (uid: String, gid: String) {
        ("0 \(geteuid()) 1\n", "0 \(getegid()) 1\n")
    }
}

/// A NULL-terminated char*[] that owns its strings.
final class CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int
    init(_ strings: [String]) {
        count = strings.count + 1
        pointer = .allocate(capacity: count)
        for (index, string) in strings.enumerated() { pointer[index] = strdup(string) }
        pointer[strings.count] = nil
    }
    deinit {
        for index in 0..<count { free(pointer[index]) }
        pointer.deallocate()
    }
}
