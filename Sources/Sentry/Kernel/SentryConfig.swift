// What the boot role hands the Sentry: everything it needs, explicitly (no ambient host state).

/// A file system the Sentry mounts in the container's mount namespace.
public enum SentryMountSource: Sendable, Equatable {
    /// The Sentry's own procfs.
    case proc
    /// The Sentry's own /dev (null, zero, full, random, urandom, tty, fd, stdin/out/err).
    case dev
    /// An in-memory tmpfs.
    case tmpfs
    /// An empty, read-only directory (for cgroup, mqueue, ... until those exist).
    case empty
    /// The Sentry's own sysfs (CPU lists, /sys/class/net/lo, an empty /sys/fs/cgroup).
    case sysfs
    /// Bind mount `index` the Gofer serves (a host directory or a single file; `attachBind`).
    case gofer(bind: Int)
}

/// The options of a tmpfs mount (`size=`, `nr_inodes=`, `mode=`, `uid=`, `gid=`); nil limits are unlimited.
public struct TmpfsOptions: Sendable, Equatable {
    /// Bytes the mount's files may hold (rounded up to whole pages); writes past it fail with ENOSPC.
    public var sizeLimit: UInt64?
    /// Files, directories and symlinks the mount may hold, its root included.
    public var inodeLimit: UInt64?
    /// Permissions and owner of the mount's root directory.
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public init(sizeLimit: UInt64? = nil, inodeLimit: UInt64? = nil, mode: UInt32 = 0o1777, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.sizeLimit = sizeLimit; self.inodeLimit = inodeLimit; self.mode = mode; self.uid = uid; self.gid = gid
    }
}

/// One mount of the container, applied in order after the root.
public struct SentryMount: Sendable, Equatable {
    public var destination: String
    public var source: SentryMountSource
    public var readOnly: Bool
    /// Used when `source` is `.tmpfs`.
    public var tmpfs: TmpfsOptions
    /// The spec's nosuid/nodev/noexec options (as mount(2) flags of this mount).
    public var noSUID = false, noDev = false, noExec = false
    public init(destination: String, source: SentryMountSource, readOnly: Bool, tmpfs: TmpfsOptions = TmpfsOptions()) {
        self.destination = destination; self.source = source; self.readOnly = readOnly; self.tmpfs = tmpfs
    }
}

/// Where changes to the container's root go (`--overlay2`).
public enum RootOverlay: String, Sendable, Equatable {
    /// An overlay whose upper layer lives in Sentry memory: the image is never changed (`root:memory`).
    case memory
    /// Straight through to the Gofer, which must then serve the root writable (`none`).
    case none
}

/// How the container's init process ended.
public enum ExitStatus: Sendable, Equatable {
    case exited(Int32)
    case signaled(Int32, coreDumped: Bool)

    /// The status a shell reports: the code, or 128+N for death by signal N.
    public var shellCode: Int32 {
        switch self {
        case .exited(let code): return code & 0xff
        case .signaled(let sig, _): return 128 + sig
        }
    }
}

/// Everything the Sentry needs to run one container.
public struct SentryConfig: Sendable {
    /// argv of the container's init; argv[0] is resolved against PATH from `environment` if it has no '/'.
    public var argv: [String]
    public var environment: [String]
    public var workingDirectory: String = "/"
    public var hostname: String = "runsc"
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var additionalGids: [UInt32] = []
    public var umask: UInt32 = 0o022
    /// A connected socket to the Gofer that serves the container's root.
    public var goferSocket: Int32
    public var rootReadOnly: Bool = true
    /// Changes to a writable root go to an in-memory overlay by default; `.none` writes through.
    public var rootOverlay: RootOverlay = .memory
    /// `--file-access=shared` / `--file-access-mounts=shared`: Gofer-backed files may change behind the
    /// Sentry's back (on the host), so walks and stats ask the Gofer every time instead of keeping answers.
    public var rootShared = false
    public var mountsShared = true
    /// `--host-uds=open|all`: connect() to a host socket file on a Gofer mount asks the Gofer for a
    /// connected host socket (Net/HostUnixSocket.swift); otherwise it is refused with ECONNREFUSED.
    public var hostUDSConnect = false
    /// `--host-uds=create|all`: bind() to a path on a Gofer mount has the Gofer make a host socket there.
    public var hostUDSCreate = false
    public var mounts: [SentryMount] = [
        SentryMount(destination: "/proc", source: .proc, readOnly: false),
        SentryMount(destination: "/dev", source: .dev, readOnly: false),
    ]
    /// Host descriptors that become the app's fd 0, 1 and 2.
    public var stdioFDs: [Int32] = [0, 1, 2]
    /// A host pty replica (process.terminal): when set, init's 0, 1 and 2 are instead a Sentry pty bridged to
    /// it, which is also init's controlling terminal (FS/ConsoleBridge.swift); `stdioFDs` are not used.
    public var consoleFD: Int32 = -1
    /// Print every app syscall (`--strace`) to `logFD`.
    public var strace: Bool = false
    /// Where debug messages (unimplemented syscalls, strace) go; -1 for nowhere.
    public var logFD: Int32 = 2
    public var debug: Bool = false
    /// process.rlimits: resource number (RLIMIT_*) → (soft, hard), applied to the container's init.
    public var rlimits: [Int: (UInt64, UInt64)] = [:]
    /// process.capabilities (nil: root has every capability, other users none); noNewPrivileges; linux.seccomp
    /// compiled into a filter. Applied to init and exec'd processes before their first instruction.
    public var capabilities: AppCapabilities?
    public var noNewPrivileges: Bool = false
    public var seccomp: AppSeccompProfile?
    /// linux.resources.pids.limit: threads the sandbox may have at once (clone/fork fail with EAGAIN past it).
    public var pidsLimit: Int64?
    /// linux.maskedPaths and linux.readonlyPaths, applied after the mounts (VFS/PathRestrictions.swift).
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    /// linux.sysctl values of modeled keys (Kernel/Sysctls.swift), checked by the boot plan.
    public var sysctl: [String: String] = [:]

    public init(argv: [String], environment: [String], goferSocket: Int32) {
        self.argv = argv; self.environment = environment; self.goferSocket = goferSocket
    }
}
