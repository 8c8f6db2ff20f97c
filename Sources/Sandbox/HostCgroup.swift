// The host cgroup of a sandbox: when the spec names `linux.cgroupsPath` (docker, containerd and podman
// always do), the sandbox's host processes — the Sentry with its stubs, and the Gofer — join that cgroup in
// every mounted hierarchy, with `linux.resources` written to it. That is the host-side wall around the whole
// sandbox, and it is where containerd's shim and docker read the container's statistics. The app's own view
// of its limits (ENOMEM at the memory limit, EAGAIN at the pids limit) comes from the Sentry's accounting;
// the host limits leave room for the Sentry and Gofer themselves (see `sandboxMemoryHeadroom`).
import Glibc
import OCI

/// One value to write into a controller's file.
public struct CgroupSetting: Sendable, Equatable {
    public var controller: String
    public var file: String
    public var value: String
}

/// A mounted cgroup hierarchy.
struct CgroupHierarchy: Equatable {
    var mountPoint: String
    /// v1 controllers of this hierarchy (e.g. ["cpu"], ["name=systemd"]); empty for the v2 unified one.
    var controllers: [String]
    var unified: Bool
}

public struct HostCgroup: Sendable, Equatable {
    /// The cgroup's path below each hierarchy's root, e.g. "/docker/0123abcd".
    public var path: String
    /// What `linux.resources` asks for, in the files of whichever hierarchy layout the host has.
    public var v1Settings: [CgroupSetting] = []
    public var v2Settings: [CgroupSetting] = []

    /// Memory the host limit adds to the container's: the Sentry's and Gofer's own use, so that the app
    /// meets ENOMEM from the Sentry at its limit before the host's OOM killer would meet the Sentry.
    public static let sandboxMemoryHeadroom: UInt64 = 128 << 20
    /// Host tasks per app task (the Sentry's host thread and the stub thread) plus the Sentry's and Gofer's own.
    static func hostPidsLimit(forAppLimit limit: Int64) -> Int64 { limit * 2 + 32 }

    /// The cgroup `spec` asks for, or nil when it names none (`runsc do`, hand-made bundles).
    public static func make(spec: Spec, id: String, systemd: Bool) throws(RuntimeError) -> HostCgroup? {
        guard let raw = spec.linux?.cgroupsPath, !raw.isEmpty else { return nil }
        var cgroup = HostCgroup(path: try resolvePath(raw, id: id, systemd: systemd))
        if case .object(let resources)? = spec.linux?.resources {
            try cgroup.addSettings(resources)
        }
        return cgroup
    }

    /// An absolute path as given; a relative one below this process's own cgroup; with --systemd-cgroup
    /// "slice:prefix:name" becomes the slice's directories and "prefix-name.scope".
    static func resolvePath(_ raw: String, id: String, systemd: Bool) throws(RuntimeError) -> String {
        if systemd {
            let unit = try SystemdCgroupPath.parse(raw)
            // "a-b-c.slice" lives in a.slice/a-b.slice/a-b-c.slice; the root slice has no directory.
            var directories: [String] = []
            if unit.slice != "-.slice" {
                let stem = unit.slice.dropLast(".slice".count).split(separator: "-").map(String.init)
                for i in stem.indices { directories.append(stem[...i].joined(separator: "-") + ".slice") }
            }
            return "/" + (directories + [unit.unit]).joined(separator: "/")
        }
        let components = raw.split(separator: "/")
        guard !components.contains(where: { $0 == ".." || $0 == "." }) else {
            throw RuntimeError("config.json: linux.cgroupsPath: \"\(raw)\" must not contain \".\" or \"..\"")
        }
        return "/" + components.joined(separator: "/")
    }

    private mutating func addSettings(_ resources: [String: JSONValue]) throws(RuntimeError) {
        func number(_ section: String, _ key: String) throws(RuntimeError) -> Int64? {
            guard case .object(let fields)? = resources[section], let value = fields[key] else { return nil }
            switch value {
            case .null: return nil
            case .integer(let n): return n
            case .unsigned(let n) where n <= UInt64(Int64.max): return Int64(n)
            default:
                throw RuntimeError("config.json: linux.resources.\(section).\(key): expected an integer, got \(value.typeName)")
            }
        }
        func string(_ section: String, _ key: String) -> String? {
            guard case .object(let fields)? = resources[section], case .string(let s)? = fields[key], !s.isEmpty else { return nil }
            return s
        }
        func add(_ controller: String, _ v1: String?, _ v2: String?, _ value: String, _ v2Value: String? = nil) {
            if let v1 { v1Settings.append(CgroupSetting(controller: controller, file: v1, value: value)) }
            if let v2 { v2Settings.append(CgroupSetting(controller: controller, file: v2, value: v2Value ?? value)) }
        }

        if let limit = try number("memory", "limit"), limit < 0 {
            add("memory", "memory.limit_in_bytes", "memory.max", "-1", "max")
        } else if let limit = try number("memory", "limit"), limit > 0 {
            let host = UInt64(limit) &+ Self.sandboxMemoryHeadroom
            add("memory", "memory.limit_in_bytes", "memory.max", "\(host)")
            if let swap = try number("memory", "swap"), swap > 0 {
                // v1 counts memory+swap together; v2 counts swap alone.
                let swapOnly = swap >= limit ? UInt64(swap - limit) : 0
                add("memory", "memory.memsw.limit_in_bytes", "memory.swap.max", "\(UInt64(swap) &+ Self.sandboxMemoryHeadroom)", "\(swapOnly)")
            }
        }
        if let reservation = try number("memory", "reservation"), reservation > 0 {
            add("memory", "memory.soft_limit_in_bytes", "memory.low", "\(reservation)")
        }
        if let pids = try number("pids", "limit"), pids < 0 {
            add("pids", "pids.max", "pids.max", "max")
        } else if let pids = try number("pids", "limit"), pids > 0 {
            add("pids", "pids.max", "pids.max", "\(Self.hostPidsLimit(forAppLimit: pids))")
        }
        if let shares = try number("cpu", "shares"), shares > 0 {
            // v2's weight (1..10000) from v1's shares (2..262144), the mapping runc and crun use.
            let clamped = min(max(shares, 2), 262_144)
            add("cpu", "cpu.shares", "cpu.weight", "\(shares)", "\(1 + ((clamped - 2) * 9999) / 262_142)")
        }
        let period = try number("cpu", "period")
        if let period, period > 0 { add("cpu", "cpu.cfs_period_us", nil, "\(period)") }
        if let quota = try number("cpu", "quota"), quota != 0 {
            add("cpu", "cpu.cfs_quota_us", "cpu.max", "\(quota)", "\(quota > 0 ? String(quota) : "max") \(period ?? 100_000)")
        }
        if let cpus = string("cpu", "cpus") { add("cpuset", "cpuset.cpus", "cpuset.cpus", cpus) }
        if let mems = string("cpu", "mems") { add("cpuset", "cpuset.mems", "cpuset.mems", mems) }
        if let weight = try number("blockIO", "weight"), weight > 0 {
            add("blkio", "blkio.weight", "io.weight", "\(weight)")
        }
        if case .object(let unified)? = resources["unified"] {
            for (file, value) in unified.sorted(by: { $0.key < $1.key }) {
                guard case .string(let text) = value, !file.contains("/"), file.contains(".") else {
                    throw RuntimeError("config.json: linux.resources.unified.\(file): expected a cgroup v2 file name and a string value")
                }
                v2Settings.append(CgroupSetting(controller: String(file.prefix { $0 != "." }), file: file, value: text))
            }
        }
    }

    // MARK: host side

    /// The cgroup hierarchies mounted on this host.
    static func hierarchies() -> [CgroupHierarchy] {
        guard let bytes = try? HostFile.readAll(path: "/proc/self/mounts") else { return [] }
        var result: [CgroupHierarchy] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { continue }
            let mountPoint = String(fields[1]).replacingOctalEscapes()
            if fields[2] == "cgroup2" {
                result.append(CgroupHierarchy(mountPoint: mountPoint, controllers: [], unified: true))
            } else if fields[2] == "cgroup" {
                let options = fields[3].split(separator: ",").map(String.init)
                let controllers = options.filter { !["rw", "ro", "relatime", "nosuid", "nodev", "noexec", "clone_children",
                                                       "nsdelegate", "noprefix", "xattr"].contains($0) && !$0.hasPrefix("release_agent") }
                result.append(CgroupHierarchy(mountPoint: mountPoint, controllers: controllers, unified: false))
            }
        }
        return result
    }

    /// The cgroup at `path` (already created) with new `linux.resources` values (`runsc update`).
    public static func update(path: String, resources: [String: JSONValue]) throws(RuntimeError) -> HostCgroup {
        var cgroup = HostCgroup(path: path)
        try cgroup.addSettings(resources)
        return cgroup
    }

    /// Creates the cgroup in every hierarchy, writes the settings, and moves `pids` (whole processes) in;
    /// with no pids it only (re)writes the settings.
    public func join(_ pids: [pid_t]) throws(RuntimeError) {
        let all = Self.hierarchies()
        let hasV1 = all.contains { !$0.unified }
        for hierarchy in all {
            let directory = hierarchy.mountPoint + path
            try Self.makeDirectories(hierarchy: hierarchy, path: path)
            if hierarchy.unified {
                // In a hybrid layout the unified hierarchy holds no controllers: join it, set nothing.
                if !hasV1 {
                    for setting in v2Settings { try Self.write(directory + "/" + setting.file, setting.value) }
                }
            } else {
                for setting in v1Settings where hierarchy.controllers.contains(setting.controller) {
                    let file = directory + "/" + setting.file
                    // Swap accounting may be off on the host: then there is no memsw file to honour.
                    if setting.file == "memory.memsw.limit_in_bytes" && access(file, F_OK) != 0 { continue }
                    try Self.write(file, setting.value)
                }
            }
            for pid in pids where pid > 0 { try Self.write(directory + "/cgroup.procs", "\(pid)") }
        }
    }

    /// Removes the cgroup's leaf directory from every hierarchy (once its processes are gone).
    public static func remove(path: String) {
        guard path.hasPrefix("/"), path != "/" else { return }
        for hierarchy in hierarchies() {
            let directory = hierarchy.mountPoint + path
            // Killed processes leave their cgroup a moment after they are reaped.
            for _ in 0..<100 {
                if rmdir(directory) == 0 || errno == ENOENT { break }
                usleep(10_000)
            }
        }
    }

    /// mkdir -p below the hierarchy's root; cpuset directories get their parent's cpus and mems (v1 leaves
    /// them empty, and an empty cpuset cannot hold a process); v2 parents delegate the controllers we use.
    static func makeDirectories(hierarchy: CgroupHierarchy, path: String) throws(RuntimeError) {
        var current = hierarchy.mountPoint
        for component in path.split(separator: "/") {
            let parent = current
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw RuntimeError.errno("cannot create cgroup \(current)")
            }
            if hierarchy.controllers.contains("cpuset") {
                for file in ["cpuset.cpus", "cpuset.mems"] {
                    let mine = (try? HostFile.readAll(path: current + "/" + file)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                    if mine.allSatisfy({ $0 == " " || $0 == "\n" }),
                       let inherited = try? HostFile.readAll(path: parent + "/" + file) {
                        try write(current + "/" + file, String(decoding: inherited, as: UTF8.self))
                    }
                }
            }
            if hierarchy.unified, let available = try? HostFile.readAll(path: parent + "/cgroup.controllers") {
                let wanted = String(decoding: available, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
                    .filter { ["cpu", "cpuset", "memory", "pids", "io"].contains(String($0)) }
                // Best effort: a parent that may not delegate (processes of its own) keeps its controllers.
                for controller in wanted { _ = try? write(parent + "/cgroup.subtree_control", "+" + controller) }
            }
        }
    }

    static func write(_ file: String, _ value: String) throws(RuntimeError) {
        let fd = Glibc.open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RuntimeError.errno("cgroup \(file)") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count { throw RuntimeError.errno("cgroup \(file): writing \"\(value)\"") }
    }
}

private extension String {
    /// /proc/mounts escapes space, tab, newline and backslash as \ooo.
    func replacingOctalEscapes() -> String {
        guard contains("\\") else { return self }
        let bytes = Array(utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
               let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
