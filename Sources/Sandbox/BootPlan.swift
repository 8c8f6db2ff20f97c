// What the boot role will ask of the Sentry, derived from the spec. Pure data, so it can be checked both
// by `create` (early, with a clear error) and by the boot itself, and tested without a sandbox.
import OCI

/// How one spec mount is provided inside the sandbox.
public enum PlannedMountKind: String, Sendable, Equatable {
    case proc, dev, tmpfs, empty
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
    /// process.rlimits by resource number (RLIMIT_*): (soft, hard).
    public var rlimits: [Int: UInt64Pair] = [:]

    /// Linux's resource numbers for the names the runtime spec uses.
    static let rlimitNumbers: [String: Int] = [
        "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4, "RLIMIT_RSS": 5,
        "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10,
        "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
    ]

    /// File system types the Sentry does not have yet; mounted as empty read-only directories.
    static let emptyTypes: Set<String> = ["sysfs", "cgroup", "cgroup2", "mqueue", "devpts", "securityfs", "debugfs",
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
        if case .object(let resources)? = spec.linux?.resources, case .object(let memory)? = resources["memory"] {
            switch memory["limit"] {
            case .integer(let n)? where n > 0: plan.memoryLimit = UInt64(n)
            case .unsigned(let n)? where n > 0: plan.memoryLimit = n
            case .integer(let n)? where n < -1 || n == 0:
                throw RuntimeError("config.json: linux.resources.memory.limit: must be a positive number of bytes or -1, got \(n)")
            default: break
            }
        }
        return plan
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

    public init(id: String) { self.id = id }

    public func arguments(runtime: RuntimeOptions) -> [String] {
        var args = ["runsc-sandbox"] + runtime.roleArguments + [
            "boot", "--spec-fd", "\(specFD)", "--gofer-fd", "\(goferFD)", "--controller-fd", "\(controllerFD)",
            "--exit-status-fd", "\(exitStatusFD)", "--ready-fd", "\(readyFD)",
        ]
        if logFD >= 0 { args += ["--log-fd", "\(logFD)"] }
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
