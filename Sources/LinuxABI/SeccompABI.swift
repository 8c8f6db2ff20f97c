// seccomp(2), prctl(2) security options and capability numbers of the app-facing ABI (x86-64). Pure data.

/// seccomp(2) operations, flags, filter return actions and `siginfo` codes.
public enum SeccompABI {
    // Operations.
    public static let SECCOMP_SET_MODE_STRICT = 0
    public static let SECCOMP_SET_MODE_FILTER = 1
    public static let SECCOMP_GET_ACTION_AVAIL = 2
    public static let SECCOMP_GET_NOTIF_SIZES = 3
    // Modes (prctl PR_SET_SECCOMP / PR_GET_SECCOMP and /proc/[pid]/status `Seccomp:`).
    public static let SECCOMP_MODE_DISABLED = 0
    public static let SECCOMP_MODE_STRICT = 1
    public static let SECCOMP_MODE_FILTER = 2
    // SECCOMP_SET_MODE_FILTER flags.
    public static let SECCOMP_FILTER_FLAG_TSYNC: UInt64 = 1
    public static let SECCOMP_FILTER_FLAG_LOG: UInt64 = 2
    public static let SECCOMP_FILTER_FLAG_SPEC_ALLOW: UInt64 = 4
    public static let SECCOMP_FILTER_FLAG_NEW_LISTENER: UInt64 = 8
    public static let SECCOMP_FILTER_FLAG_TSYNC_ESRCH: UInt64 = 16
    public static let SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: UInt64 = 32
    // Return actions (the high 16 bits of a filter's return value) and the data mask.
    public static let SECCOMP_RET_KILL_PROCESS: UInt32 = 0x8000_0000
    public static let SECCOMP_RET_KILL_THREAD: UInt32 = 0x0000_0000
    public static let SECCOMP_RET_TRAP: UInt32 = 0x0003_0000
    public static let SECCOMP_RET_ERRNO: UInt32 = 0x0005_0000
    public static let SECCOMP_RET_USER_NOTIF: UInt32 = 0x7fc0_0000
    public static let SECCOMP_RET_TRACE: UInt32 = 0x7ff0_0000
    public static let SECCOMP_RET_LOG: UInt32 = 0x7ffc_0000
    public static let SECCOMP_RET_ALLOW: UInt32 = 0x7fff_0000
    public static let SECCOMP_RET_ACTION_FULL: UInt32 = 0xffff_0000
    public static let SECCOMP_RET_DATA: UInt32 = 0x0000_ffff
    /// The largest errno an ERRNO action returns (MAX_ERRNO); larger data is capped to it.
    public static let maxErrno: UInt32 = 4095
    /// Instructions a task's filters may hold in total, each filter counting 4 more (MAX_INSNS_PER_PATH).
    public static let maxInstructionsPerPath = 32768
    /// siginfo si_code of a SIGSYS raised by SECCOMP_RET_TRAP.
    public static let SYS_SECCOMP: Int32 = 1
    /// sizeof(struct seccomp_notif), sizeof(struct seccomp_notif_resp), sizeof(struct seccomp_data).
    public static let notifSizes: (UInt16, UInt16, UInt16) = (80, 24, 64)
    /// seccomp_data.arch values (linux/audit.h).
    public static let AUDIT_ARCH_X86_64: UInt32 = 0xc000_003e
    public static let AUDIT_ARCH_I386: UInt32 = 0x4000_0003
    /// x32 system calls are x86-64 numbers with this bit set.
    public static let X32_SYSCALL_BIT: UInt32 = 0x4000_0000
}

/// prctl(2) options about privileges.
public enum PrctlSecurity {
    public static let PR_GET_KEEPCAPS = 7
    public static let PR_SET_KEEPCAPS = 8
    public static let PR_GET_SECCOMP = 21
    public static let PR_SET_SECCOMP = 22
    public static let PR_CAPBSET_READ = 23
    public static let PR_CAPBSET_DROP = 24
    public static let PR_GET_SECUREBITS = 27
    public static let PR_SET_NO_NEW_PRIVS = 38
    public static let PR_GET_NO_NEW_PRIVS = 39
    public static let PR_CAP_AMBIENT = 47
    public static let PR_CAP_AMBIENT_IS_SET = 1
    public static let PR_CAP_AMBIENT_RAISE = 2
    public static let PR_CAP_AMBIENT_LOWER = 3
    public static let PR_CAP_AMBIENT_CLEAR_ALL = 4
}

/// Capability numbers (linux/capability.h) and their names, as the runtime spec writes them.
public enum Capability {
    public static let CAP_CHOWN = 0, CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2, CAP_FOWNER = 3, CAP_FSETID = 4
    public static let CAP_KILL = 5, CAP_SETGID = 6, CAP_SETUID = 7, CAP_SETPCAP = 8, CAP_LINUX_IMMUTABLE = 9
    public static let CAP_NET_BIND_SERVICE = 10, CAP_NET_BROADCAST = 11, CAP_NET_ADMIN = 12, CAP_NET_RAW = 13
    public static let CAP_IPC_LOCK = 14, CAP_IPC_OWNER = 15, CAP_SYS_MODULE = 16, CAP_SYS_RAWIO = 17
    public static let CAP_SYS_CHROOT = 18, CAP_SYS_PTRACE = 19, CAP_SYS_PACCT = 20, CAP_SYS_ADMIN = 21
    public static let CAP_SYS_BOOT = 22, CAP_SYS_NICE = 23, CAP_SYS_RESOURCE = 24, CAP_SYS_TIME = 25
    public static let CAP_SYS_TTY_CONFIG = 26, CAP_MKNOD = 27, CAP_LEASE = 28, CAP_AUDIT_WRITE = 29
    public static let CAP_AUDIT_CONTROL = 30, CAP_SETFCAP = 31, CAP_MAC_OVERRIDE = 32, CAP_MAC_ADMIN = 33
    public static let CAP_SYSLOG = 34, CAP_WAKE_ALARM = 35, CAP_BLOCK_SUSPEND = 36, CAP_AUDIT_READ = 37
    public static let CAP_PERFMON = 38, CAP_BPF = 39, CAP_CHECKPOINT_RESTORE = 40
    /// The highest capability number (/proc/sys/kernel/cap_last_cap).
    public static let lastCapability = 40

    /// Names indexed by number.
    public static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// The number of a capability name ("CAP_CHOWN"), nil if unknown.
    public static func number(_ name: String) -> Int? { names.firstIndex(of: name) }
}
