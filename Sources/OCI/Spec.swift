// The OCI runtime-spec (config.json) fields that runsc reads or that docker/containerd pass.
// Unknown fields are ignored when decoding, like runc does. Field names follow the spec exactly.

/// A bundle's config.json.
public struct Spec: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var process: Process?
    public var root: Root?
    public var hostname: String?
    public var mounts: [Mount]?
    /// OCI hooks, kept verbatim here; Sandbox/Hooks.swift checks and runs them.
    public var hooks: JSONValue?
    public var annotations: [String: String]?
    public var linux: Linux?

    public init(ociVersion: String = Spec.version, process: Process? = nil, root: Root? = nil,
                hostname: String? = nil, mounts: [Mount]? = nil, annotations: [String: String]? = nil,
                linux: Linux? = nil) {
        self.ociVersion = ociVersion; self.process = process; self.root = root; self.hostname = hostname
        self.mounts = mounts; self.annotations = annotations; self.linux = linux
    }

    /// The runtime-spec version we write and report.
    public static let version = "1.0.2"
}

/// The container's init process.
public struct Process: Codable, Sendable, Equatable {
    public var terminal: Bool?
    public var consoleSize: ConsoleSize?
    public var user: User
    public var args: [String]?
    public var env: [String]?
    public var cwd: String
    public var capabilities: Capabilities?
    public var rlimits: [Rlimit]?
    public var noNewPrivileges: Bool?
    public var apparmorProfile: String?
    public var oomScoreAdj: Int?
    public var selinuxLabel: String?

    public init(terminal: Bool? = nil, user: User = User(), args: [String]? = nil, env: [String]? = nil,
                cwd: String = "/") {
        self.terminal = terminal; self.user = user; self.args = args; self.env = env; self.cwd = cwd
    }
}

/// Terminal size requested for a container with a terminal.
public struct ConsoleSize: Codable, Sendable, Equatable {
    public var height: UInt32
    public var width: UInt32
}

/// The identity the init process runs as (inside the sandbox).
public struct User: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var umask: UInt32?
    public var additionalGids: [UInt32]?

    public init(uid: UInt32 = 0, gid: UInt32 = 0, umask: UInt32? = nil, additionalGids: [UInt32]? = nil) {
        self.uid = uid; self.gid = gid; self.umask = umask; self.additionalGids = additionalGids
    }
}

/// Linux capability sets, by name ("CAP_CHOWN", ...).
public struct Capabilities: Codable, Sendable, Equatable {
    public var bounding: [String]?
    public var effective: [String]?
    public var inheritable: [String]?
    public var permitted: [String]?
    public var ambient: [String]?

    public init(bounding: [String]? = nil, effective: [String]? = nil, inheritable: [String]? = nil,
                permitted: [String]? = nil, ambient: [String]? = nil) {
        self.bounding = bounding; self.effective = effective; self.inheritable = inheritable
        self.permitted = permitted; self.ambient = ambient
    }
}

/// One resource limit ("RLIMIT_NOFILE", ...).
public struct Rlimit: Codable, Sendable, Equatable {
    public var type: String
    public var hard: UInt64
    public var soft: UInt64

    public init(type: String, hard: UInt64, soft: UInt64) { self.type = type; self.hard = hard; self.soft = soft }
}

/// The container's root file system.
public struct Root: Codable, Sendable, Equatable {
    /// Absolute, or relative to the bundle directory.
    public var path: String
    public var readonly: Bool?

    public init(path: String, readonly: Bool? = nil) { self.path = path; self.readonly = readonly }
}

/// One mount, applied in order after the root.
public struct Mount: Codable, Sendable, Equatable {
    public var destination: String
    public var type: String?
    public var source: String?
    public var options: [String]?

    public init(destination: String, type: String? = nil, source: String? = nil, options: [String]? = nil) {
        self.destination = destination; self.type = type; self.source = source; self.options = options
    }

    /// True when the options ask for a read-only mount.
    public var isReadOnly: Bool { options?.contains("ro") ?? false }
}

/// Linux-specific configuration.
public struct Linux: Codable, Sendable, Equatable {
    public var namespaces: [Namespace]?
    public var uidMappings: [IDMapping]?
    public var gidMappings: [IDMapping]?
    /// cgroup limits; not applied yet, kept verbatim.
    public var resources: JSONValue?
    public var cgroupsPath: String?
    /// The container's seccomp profile; the Sentry is the app's kernel, so this is not applied to the host.
    public var seccomp: JSONValue?
    public var maskedPaths: [String]?
    public var readonlyPaths: [String]?
    public var sysctl: [String: String]?
    public var devices: [Device]?
    public var rootfsPropagation: String?
    public var mountLabel: String?

    public init(namespaces: [Namespace]? = nil, maskedPaths: [String]? = nil, readonlyPaths: [String]? = nil) {
        self.namespaces = namespaces; self.maskedPaths = maskedPaths; self.readonlyPaths = readonlyPaths
    }
}

/// A namespace to create ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time") or join (path).
public struct Namespace: Codable, Sendable, Equatable {
    public var type: String
    public var path: String?

    public init(type: String, path: String? = nil) { self.type = type; self.path = path }

    /// The namespace types the runtime-spec defines for Linux.
    public static let knownTypes: Set<String> = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"]
}

/// A user-namespace ID mapping.
public struct IDMapping: Codable, Sendable, Equatable {
    public var containerID: UInt32
    public var hostID: UInt32
    public var size: UInt32
}

/// A device node to create in the container's /dev.
public struct Device: Codable, Sendable, Equatable {
    public var type: String
    public var path: String
    public var major: Int64?
    public var minor: Int64?
    public var fileMode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
}
