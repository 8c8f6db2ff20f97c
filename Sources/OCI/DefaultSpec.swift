// The config.json that `runsc spec` writes: the same shape runc and gVisor's runsc write, so bundles made
// with either tool behave the same here.

extension Spec {
    /// The capabilities a default container gets (runc's default set).
    public static let defaultCapabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

    /// A default spec running `sh` in `rootfs` with a terminal.
    public static func defaultSpec(rootPath: String = "rootfs", args: [String] = ["sh"], terminal: Bool = true) -> Spec {
        var process = Process(terminal: terminal, user: User(uid: 0, gid: 0), args: args,
                              env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
                              cwd: "/")
        let caps = defaultCapabilities
        process.capabilities = Capabilities(bounding: caps, effective: caps, inheritable: nil, permitted: caps,
                                            ambient: nil)
        process.rlimits = [Rlimit(type: "RLIMIT_NOFILE", hard: 1024, soft: 1024)]
        process.noNewPrivileges = true

        var linux = Linux(
            namespaces: ["pid", "network", "ipc", "uts", "mount"].map { Namespace(type: $0) },
            maskedPaths: [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"])
        linux.resources = .object(["devices": .array([.object(["allow": .bool(false), "access": .string("rwm")])])])

        return Spec(
            ociVersion: version,
            process: process,
            root: Root(path: rootPath, readonly: true),
            hostname: "runsc",
            mounts: [
                Mount(destination: "/proc", type: "proc", source: "proc"),
                Mount(destination: "/dev", type: "tmpfs", source: "tmpfs",
                      options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
                Mount(destination: "/dev/pts", type: "devpts", source: "devpts",
                      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
                Mount(destination: "/dev/shm", type: "tmpfs", source: "shm",
                      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
                Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue",
                      options: ["nosuid", "noexec", "nodev"]),
                Mount(destination: "/sys", type: "sysfs", source: "sysfs",
                      options: ["nosuid", "noexec", "nodev", "ro"]),
            ],
            linux: linux)
    }
}
