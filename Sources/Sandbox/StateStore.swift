// Container state under --root: one directory per container id holding state.json (an OCI state document
// plus what the runtime needs to find its processes again), the control socket and the exit-status file.
// state.json is replaced atomically (temp file + rename) while the container's flock is held.
import FoundationEssentials
import Glibc
import OCI

/// What runsc records about one container (a superset of the OCI state document).
public struct ContainerRecord: Codable, Sendable, Equatable {
    public var ociVersion: String = Spec.version
    public var id: String
    public var status: ContainerStatus
    /// The boot (Sentry) process: the container's pid as docker and containerd see it.
    public var pid: Int32
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var annotations: [String: String]?
    /// The gofer process, killed by `delete`.
    public var goferPid: Int32 = 0
    /// Start times (from /proc/PID/stat) so that a recycled pid is never mistaken for ours.
    public var bootStartTime: UInt64 = 0
    public var goferStartTime: UInt64 = 0
    /// The host cgroup the sandbox joined (`linux.cgroupsPath`, resolved), removed by `delete`.
    public var cgroupPath: String? = nil

    /// The OCI view of this record with `status` as observed now.
    public func ociState(status: ContainerStatus) -> State {
        State(id: id, status: status, pid: status == .stopped ? 0 : pid, bundle: bundle, rootfs: rootfs,
              created: created, owner: "", annotations: annotations ?? [:])
    }
}

/// An exclusive flock on a container's directory, released when this object goes away.
public final class ContainerLock {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// The directory of all containers (--root).
public struct StateStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public static let stateFile = "state.json"
    public static let controlSocket = "control.sock"
    public static let exitStatusFile = "exit-status"

    /// Container ids are path components; refuse anything that could name another directory.
    public static func validateID(_ id: String) throws(RuntimeError) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "+")
        }
        if id.isEmpty || id == "." || id == ".." || !allowed || id.utf8.count > 1024 {
            throw RuntimeError("invalid container id \"\(id)\": use letters, digits and - _ . + only")
        }
    }

    public func directory(of id: String) -> String { root + "/" + id }

    /// Makes the directory of a new container and locks it; fails if the id is taken.
    public func createDirectory(id: String) throws(RuntimeError) -> ContainerLock {
        try StateStore.validateID(id)
        try Sys.makeDirectories(root, mode: 0o711)
        let dir = directory(of: id)
        if mkdir(dir, 0o711) != 0 {
            if errno == EEXIST { throw RuntimeError("container \"\(id)\" already exists") }
            throw RuntimeError.errno("cannot create state directory \(dir)")
        }
        do {
            return try lockDirectory(dir, id: id)
        } catch {
            rmdir(dir)
            throw error
        }
    }

    /// Locks an existing container's directory.
    public func lock(id: String) throws(RuntimeError) -> ContainerLock {
        try StateStore.validateID(id)
        return try lockDirectory(directory(of: id), id: id)
    }

    private func lockDirectory(_ dir: String, id: String) throws(RuntimeError) -> ContainerLock {
        let fd = Glibc.open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { throw RuntimeError("container \"\(id)\" does not exist") }
            throw RuntimeError.errno("cannot open state directory \(dir)")
        }
        if (try? Sys.retrying("flock", { flock(fd, LOCK_EX) })) == nil {
            close(fd)
            throw RuntimeError.errno("cannot lock state directory \(dir)")
        }
        return ContainerLock(fd: fd)
    }

    /// Reads a container's record; a missing record means the id is unknown (or still being created).
    public func load(id: String) throws(RuntimeError) -> ContainerRecord {
        try StateStore.validateID(id)
        let path = directory(of: id) + "/" + StateStore.stateFile
        let bytes: [UInt8]
        do {
            bytes = try HostFile.readAll(path: path)
        } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR { throw RuntimeError("container \"\(id)\" does not exist") }
            throw RuntimeError("cannot read \(path): \(error.reason)")
        }
        do {
            return try JSONDecoder().decode(ContainerRecord.self, from: Data(bytes))
        } catch {
            throw RuntimeError("container \"\(id)\": corrupt state file \(path); remove it with `runsc delete --force \(id)`")
        }
    }

    /// Writes a record atomically: a reader sees the old or the new file, never half of one.
    public func save(_ record: ContainerRecord) throws(RuntimeError) {
        let dir = directory(of: record.id)
        let final = dir + "/" + StateStore.stateFile
        let temporary = final + ".tmp-\(getpid())"
        let data: Data
        do {
            data = try JSONEncoder().encode(record)
        } catch {
            throw RuntimeError("cannot encode state of container \"\(record.id)\": \(error)")
        }
        let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        do {
            try Sys.writeAll(fd, Array(data), what: "write \(temporary)")
            fsync(fd)
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if rename(temporary, final) != 0 {
            let code = errno
            unlink(temporary)
            throw RuntimeError.errno("rename \(temporary)", code)
        }
    }

    /// Removes a container's directory and everything in it.
    public func remove(id: String) {
        Sys.removeTree(directory(of: id))
    }

    /// The ids of all containers, sorted.
    public func ids() -> [String] {
        guard let dir = opendir(root) else { return [] }
        defer { closedir(dir) }
        var result: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            if Sys.isDirectory(root + "/" + name) { result.append(name) }
        }
        return result.sorted()
    }

    /// The exit status the boot recorded before exiting, if it did.
    public func recordedExitStatus(id: String) -> Int32? {
        guard let bytes = try? HostFile.readAll(path: directory(of: id) + "/" + StateStore.exitStatusFile) else {
            return nil
        }
        return ExitStatusFile.parse(bytes)
    }
}

/// The exit-status file the boot writes (through an inherited fd) just before it exits.
public enum ExitStatusFile {
    /// One decimal shell code (exit code, or 128+N for signal N) and a newline.
    public static func encode(_ code: Int32) -> [UInt8] { Array("\(code)\n".utf8) }

    public static func parse(_ bytes: [UInt8]) -> Int32? {
        let text = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard let code = Int32(text), code >= 0, code <= 255 else { return nil }
        return code
    }
}

/// Facts about host processes, read from /proc.
public enum ProcessProbe {
    /// The start time (field 22 of /proc/PID/stat, in clock ticks since boot), or nil if there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let fields = statFields(pid) else { return nil }
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }

    /// True if `pid` is a live (not zombie) process that started at `startTime` (0: do not check).
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard pid > 0, let fields = statFields(pid), fields.count > 19 else { return false }
        if fields[0] == "Z" || fields[0] == "X" { return false }
        if startTime != 0 && UInt64(fields[19]) != startTime { return false }
        return true
    }

    /// The fields of /proc/PID/stat after the command name (which may contain spaces): state is [0].
    static func statFields(_ pid: Int32) -> [String]? {
        guard let bytes = try? HostFile.readAll(path: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ").map(String.init)
    }
}
