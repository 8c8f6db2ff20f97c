// What the boot role will ask of the Sentry, derived from the spec. Pure data, so it can be checked both
// by `create` (early, with a clear error) and by the boot itself, and tested without a sandbox.
import OCI
import Sentry

/// How one spec mount is provided inside the sandbox.
public enum PlannedMountKind: String, Sendable, Equatable {
    case proc, dev, tmpfs, sysfs, empty
    /// A host directory or file served by the Gofer (`BootPlan.binds[bindIndex]`).
    case bind
}

/// A spec bind mount: the host path the Gofer serves, in the order the Gofer is given them.
public struct PlannedBind: Sendable, Equatable {
    /// Absolute host path.
    public var source: String
    public var readOnly: Bool
    /// Index in config.json's `mounts`, for messages.
    public var mountIndex: Int
}

public struct PlannedMount: Sendable, Equatable {
    public var destination: String
    public var kind: PlannedMountKind
    public var readOnly: Bool
    /// For `.bind`: the index in `BootPlan.binds`.
    public var bindIndex: Int? = nil
    /// For `.tmpfs`: its size=, nr_inodes=, mode=, uid= and gid= options.
    public var tmpfs: PlannedTmpfs? = nil
    /// The nosuid, nodev and noexec options: the mount's flags in the Sentry (execve EACCES on noexec, ...).
    public var noSUID = false, noDev = false, noExec = false
}

/// Everything the boot needs from the spec, checked.
public struct BootPlan: Sendable, Equatable {
    public var argv: [String]
    public var environment: [String]
    public var workingDirectory: String
    public var hostname: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGids: [UInt32]
    public var umask: UInt32
    public var rootReadOnly: Bool
    public var mounts: [PlannedMount]
    /// Mounts that are accepted but not provided yet, with the reason (logged as warnings).
    public var skipped: [String]
    /// The bind mounts' sources, served by the Gofer as further roots.
    public var binds: [PlannedBind] = []
    /// linux.resources.memory.limit: app memory beyond it fails with ENOMEM inside the sandbox.
    public var memoryLimit: UInt64? = nil
    /// linux.resources.pids.limit: tasks the sandbox may have (clone/fork fail with EAGAIN past it); nil: none.
    public var pidsLimit: Int64? = nil
    /// process.rlimits by resource number (RLIMIT_*): (soft, hard).
    public var rlimits: [Int: UInt64Pair] = [:]
    /// process.capabilities, process.noNewPrivileges and linux.seccomp (AppLimitsPlan.swift), with the
    /// profile's syscall names this ABI lacks (skipped, logged at debug level).
    public var capabilities: AppCapabilities? = nil
    public var noNewPrivileges = false
    public var seccomp: AppSeccompProfile? = nil
    public var seccompSkippedNames: [String] = []
    /// linux.maskedPaths and linux.readonlyPaths (absolute container paths), applied by the Sentry as runc does.
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    /// linux.sysctl values the Sentry models (ContainerPathsPlan.swift), and accepted keys it skips (logged).
    public var sysctl: [String: String] = [:]
    public var sysctlSkipped: [String] = []

    /// Linux's resource numbers for the names the runtime spec uses.
    static let rlimitNumbers: [String: Int] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
        "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
        "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    /// File system types the Sentry does not have yet; mounted as empty read-only directories.
    static let emptyTypes: Set<String> = ["cgroup", "cgroup2", "mqueue", "devpts", "securityfs", "debugfs",
                                          "binfmt_misc", "configfs", "fusectl", "pstore", "tracefs", "bpf"]

    public static func make(from spec: Spec) throws(RuntimeError) -> BootPlan {
        guard let process = spec.process, let args = process.args, !args.isEmpty else {
            throw RuntimeError("config.json: process.args: must contain at least one element")
        }
        var mounts: [PlannedMount] = []
        var skipped: [String] = []
        var binds: [PlannedBind] = []
        for (index, mount) in (spec.mounts ?? []).enumerated() {
            let type = mount.type ?? ""
            let options = mount.options ?? []
            let readOnly = mount.isReadOnly
            let isBind = type == "bind" || options.contains("bind") || options.contains("rbind")
            let kind: PlannedMountKind
            if mount.destination == "/dev" && !isBind {
                kind = .dev
            } else if isBind {
                // docker binds /etc/hosts, /etc/hostname, /etc/resolv.conf and `-v` volumes.
                guard let source = mount.source, source.hasPrefix("/") else {
                    throw RuntimeError("config.json: mounts[\(index)].source: a bind source must be an absolute host path, "
                                       + "got \"\(mount.source ?? "")\"")
                }
                mounts.append(PlannedMount(destination: mount.destination, kind: .bind, readOnly: readOnly,
                                           bindIndex: binds.count))
                binds.append(PlannedBind(source: source, readOnly: readOnly, mountIndex: index))
                continue
            } else {
                switch type {
                case "proc": kind = .proc
                case "sysfs": kind = .sysfs
                // The Sentry's /dev has its devpts at /dev/pts already (ptmx and the pty replicas): an empty
                // directory mounted over it would hide the terminals.
                case "devpts" where mount.destination.split(separator: "/") == ["dev", "pts"]: continue
                case "devtmpfs": kind = .dev
                case "tmpfs": kind = .tmpfs
                case let other where emptyTypes.contains(other): kind = .empty
                default:
                    throw RuntimeError("config.json: mounts[\(index)].type: \"\(type)\" is not supported "
                                       + "(supported: proc, tmpfs, devtmpfs, bind, sysfs, cgroup, mqueue, devpts)")
                }
            }
            mounts.append(PlannedMount(destination: mount.destination, kind: kind, readOnly: readOnly || kind == .empty,
                                       tmpfs: kind == .tmpfs ? try PlannedTmpfs.parse(options, mountIndex: index) : nil))
        }
        // nosuid/nodev/noexec as the mounts' flags (docker gives them for /proc, /sys, /dev/shm, tmpfs, volumes).
        for i in mounts.indices {
            guard let options = (spec.mounts ?? []).last(where: { $0.destination == mounts[i].destination })?.options else { continue }
            mounts[i].noSUID = options.contains("nosuid")
            mounts[i].noDev = options.contains("nodev")
            mounts[i].noExec = options.contains("noexec")
        }
        try checkHostSharing(spec, skipped: &skipped)
        var plan = BootPlan(
            argv: args, environment: process.env ?? [], workingDirectory: process.cwd,
            hostname: spec.hostname ?? "runsc", uid: process.user.uid, gid: process.user.gid,
            additionalGids: process.user.additionalGids ?? [], umask: process.user.umask ?? 0o022,
            rootReadOnly: spec.root?.readonly ?? false, mounts: mounts, skipped: skipped, binds: binds)
        for (index, limit) in (process.rlimits ?? []).enumerated() {
            guard let number = rlimitNumbers[limit.type] else {
                throw RuntimeError("config.json: process.rlimits[\(index)].type: unknown resource \"\(limit.type)\" "
                                   + "(expected RLIMIT_NOFILE, RLIMIT_NPROC, ...)")
            }
            guard limit.soft <= limit.hard else {
                throw RuntimeError("config.json: process.rlimits[\(index)]: soft limit \(limit.soft) is above hard limit \(limit.hard)")
            }
            plan.rlimits[number] = UInt64Pair(soft: limit.soft, hard: limit.hard)
        }
        plan.maskedPaths = try ContainerPathsPlan.paths(spec.linux?.maskedPaths, field: "linux.maskedPaths")
        plan.readonlyPaths = try ContainerPathsPlan.paths(spec.linux?.readonlyPaths, field: "linux.readonlyPaths")
        (plan.sysctl, plan.sysctlSkipped) = try ContainerPathsPlan.sysctls(spec)
        if let hostname = plan.sysctl.removeValue(forKey: "kernel.hostname") { plan.hostname = hostname }  // runc applies it last
        if let caps = process.capabilities { plan.capabilities = try AppLimitsPlan.capabilities(caps) }
        plan.noNewPrivileges = process.noNewPrivileges ?? false
        if let profile = spec.linux?.seccomp, let (seccomp, skipped) = try AppLimitsPlan.seccomp(profile) {
            plan.seccomp = seccomp
            plan.seccompSkippedNames = skipped
        }
        if case .object(let resources)? = spec.linux?.resources, case .object(let memory)? = resources["memory"] {
            switch memory["limit"] {
            case .integer(let n)? where n > 0: plan.memoryLimit = UInt64(n)
            case .unsigned(let n)? where n > 0: plan.memoryLimit = n
            case .integer(let n)? where n < -1 || n == 0:
                throw RuntimeError("config.json: linux.resources.memory.limit: must be a positive number of bytes or -1, got \(n)")
            default: break
            }
        }
        if case .object(let resources)? = spec.linux?.resources, case .object(let pids)? = resources["pids"] {
            switch pids["limit"] {
            case .integer(let n)? where n > 0: plan.pidsLimit = n
            case .unsigned(let n)? where n > 0: plan.pidsLimit = Int64(clamping: n)
            case .integer?, .unsigned?, .null?, nil: break  // 0 or negative: no limit, as runc reads it
            case let other?:
                throw RuntimeError("config.json: linux.resources.pids.limit: expected a number, got \(other.typeName)")
            }
        }
        return plan
    }
}

extension BootPlan {
    /// Devices the Sentry provides itself; a spec may list them (podman does), but no host device.
    static let sentryDevices: Set<String> = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                                             "/dev/tty", "/dev/console", "/dev/ptmx"]

    /// What a sandbox cannot share with the host, refused with the option users know it by: the host's pid
    /// or IPC namespace (docker --pid=host/--ipc=host, Kubernetes hostPID/hostIPC) and host devices
    /// (--privileged, --device). Joining another container's namespaces by path (a Kubernetes pod's pause
    /// container) is accepted with a warning: the sandbox keeps its own.
    static func checkHostSharing(_ spec: Spec, skipped: inout [String]) throws(RuntimeError) {
        if let namespaces = spec.linux?.namespaces, !namespaces.isEmpty {
            let types = Set(namespaces.map(\.type))
            if !types.contains("pid") {
                throw RuntimeError("config.json: linux.namespaces: sharing the host's pid namespace (docker --pid=host, "
                                   + "Kubernetes hostPID) is not supported: the sandbox has its own process table")
            }
            if !types.contains("ipc") {
                throw RuntimeError("config.json: linux.namespaces: sharing the host's IPC namespace (docker --ipc=host, "
                                   + "Kubernetes hostIPC) is not supported: the sandbox has its own IPC objects")
            }
            for namespace in namespaces {
                if let path = namespace.path, !path.isEmpty {
                    skipped.append("linux.namespaces: joining the \(namespace.type) namespace at \(path) is not supported; the sandbox has its own")
                }
            }
        }
        for (index, device) in (spec.linux?.devices ?? []).enumerated() where !sentryDevices.contains(device.path) {
            throw RuntimeError("config.json: linux.devices[\(index)]: host device \(device.path) cannot be given to the sandbox "
                               + "(docker --privileged or --device): the Sentry provides only "
                               + sentryDevices.sorted().joined(separator: ", "))
        }
    }
}

/// The boot role's command line: descriptors by number, nothing inherited implicitly.
///
///     runsc <global flags> boot --spec-fd 3 --gofer-fd 4 --controller-fd 5 --exit-status-fd 6 --ready-fd 7 [--log-fd 8] ID
public struct BootOptions: Sendable, Equatable {
    public var id: String
    public var specFD: Int32 = 3
    public var goferFD: Int32 = 4
    public var controllerFD: Int32 = 5
    public var exitStatusFD: Int32 = 6
    public var readyFD: Int32 = 7
    public var logFD: Int32 = -1
    /// The host pty replica of a process.terminal container (`--console-fd`), or -1.
    public var consoleFD: Int32 = -1

    public init(id: String) { self.id = id }

    public func arguments(runtime: RuntimeOptions) -> [String] {
        var args = ["runsc-sandbox"] + runtime.roleArguments + [
            "boot", "--spec-fd", "\(specFD)", "--gofer-fd", "\(goferFD)", "--controller-fd", "\(controllerFD)",
            "--exit-status-fd", "\(exitStatusFD)", "--ready-fd", "\(readyFD)",
        ]
        if logFD >= 0 { args += ["--log-fd", "\(logFD)"] }
        if consoleFD >= 0 { args += ["--console-fd", "\(consoleFD)"] }
        return args + [id]
    }
}

/// The gofer role's command line.
///
///     runsc <global flags> gofer --gofer-fd 3 --rootfs PATH [--read-only] [--bind SOURCE:ro|rw]... ID
public struct GoferOptions: Sendable, Equatable {
    public var id: String
    public var rootfs: String
    public var goferFD: Int32 = 3
    public var readOnly = false
    /// Bind sources, in the order the Sentry attaches them (`BootPlan.binds`).
    public var binds: [PlannedBind] = []

    public init(id: String, rootfs: String, readOnly: Bool) { self.id = id; self.rootfs = rootfs; self.readOnly = readOnly }

    /// Whether the Gofer serves the root read-only: always, unless changes are to be written through
    /// (`--overlay2=none`) to a root the spec does not mark read-only. With the default in-memory
    /// overlay the Sentry never asks the Gofer to change anything, and the Gofer could not if it did.
    public static func rootReadOnly(specReadOnly: Bool, runtime: RuntimeOptions) -> Bool {
        specReadOnly || runtime.overlay2 != .none
    }

    public func arguments(runtime: RuntimeOptions) -> [String] {
        ["runsc-gofer"] + runtime.roleArguments + ["gofer", "--gofer-fd", "\(goferFD)", "--rootfs", rootfs]
            + (readOnly ? ["--read-only"] : [])
            + binds.flatMap { ["--bind", $0.source + ($0.readOnly ? ":ro" : ":rw")] } + [id]
    }

    /// Parses a `--bind` argument: `SOURCE:ro` or `SOURCE:rw` (the source itself may contain ':').
    public static func parseBind(_ argument: String, index: Int) throws(RuntimeError) -> PlannedBind {
        guard let colon = argument.lastIndex(of: ":"), argument.hasPrefix("/") else {
            throw RuntimeError("--bind \(argument): expected ABSOLUTE-PATH:ro or ABSOLUTE-PATH:rw")
        }
        let mode = argument[argument.index(after: colon)...]
        guard mode == "ro" || mode == "rw" else {
            throw RuntimeError("--bind \(argument): expected ABSOLUTE-PATH:ro or ABSOLUTE-PATH:rw")
        }
        return PlannedBind(source: String(argument[..<colon]), readOnly: mode == "ro", mountIndex: index)
    }
}

/// A soft and a hard resource limit.
public struct UInt64Pair: Sendable, Equatable {
    public var soft: UInt64
    public var hard: UInt64
}
