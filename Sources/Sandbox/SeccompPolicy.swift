// The Sentry's host syscall allowlist, installed by the boot role before it loads any app code.
// Everything not listed kills the whole Sentry (SCMP_ACT_KILL_PROCESS): nothing the app does can widen it,
// because app syscalls never reach the host (PTRACE_SYSEMU stops them before seccomp runs).
//
// Debugging a missing syscall: run with `runsc --debug ...`. The filter then traps instead of killing, and
// the boot prints "seccomp: the Sentry made host syscall N (name) ..." to its log (--log/--debug-log, else
// stderr) and exits with 159 (128+SIGSYS). Without --debug the kernel's audit log has it too:
// `dmesg | grep 'type=1326'` shows "syscall=N". Then add the call to the right group below, with a reason.

import LinuxABI

/// One rule of the allowlist: a syscall by name, optionally only with certain argument values.
public struct SeccompRule: Sendable, Equatable {
    /// A condition on one argument (all conditions of a rule must hold).
    public struct Condition: Sendable, Equatable {
        public var argument: UInt32
        public var value: UInt64
        /// If set, `(arg & mask) == value` instead of `arg == value`.
        public var mask: UInt64?
    }

    public enum Action: Sendable, Equatable {
        case allow
        /// Fail with this errno without killing (calls that are harmless to refuse).
        case errno(Int32)
    }

    public var name: String
    public var conditions: [Condition] = []
    public var action: Action = .allow

    static func allow(_ names: String...) -> [SeccompRule] { names.map { SeccompRule(name: $0) } }
    static func allow(_ name: String, argument: UInt32, equals value: UInt64) -> SeccompRule {
        SeccompRule(name: name, conditions: [Condition(argument: argument, value: value, mask: nil)])
    }
    static func refuse(_ name: String, errno: Int32) -> SeccompRule { SeccompRule(name: name, action: .errno(errno)) }
}

/// The allowlists of our processes.
public enum SeccompPolicy {
    static let ENOSYS: Int32 = 38, ENOENT: Int32 = 2
    static let MAP_ANONYMOUS_FLAG: UInt64 = 0x20
    static let TCGETS: UInt64 = 0x5401, TCSETS: UInt64 = 0x5402, TIOCGWINSZ: UInt64 = 0x5413
    /// Every CLONE_NEW* flag (0x80 is CLONE_NEWTIME).
    public static let cloneNamespaceFlags: UInt64 = 0x80 | CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_NEWCGROUP
        | CloneFlags.CLONE_NEWUTS | CloneFlags.CLONE_NEWIPC | CloneFlags.CLONE_NEWUSER | CloneFlags.CLONE_NEWPID
        | CloneFlags.CLONE_NEWNET

    /// What the Sentry (boot role) may call on the host after confinement. With `memoryFileFD`, mmap of a
    /// file is allowed for that descriptor only (the MemoryFile, mapped by the Sentry and injected into
    /// stubs, which inherit this filter); anonymous mappings (heap, thread stacks) stay allowed.
    public static func sentry(memoryFileFD: Int32? = nil) -> [SeccompRule] {
        var rules: [SeccompRule] = []
        // ptrace platform: drive stub processes, reap them, create them (clone) and stop/kill them.
        rules += SeccompRule.allow("ptrace", "wait4", "waitid", "kill", "tgkill", "tkill")
        // clone only without namespace flags: stubs are plain forks (flags 0) and threads share everything. A
        // new user namespace would hand the Sentry a full capability set again (and with it mount & co.).
        rules.append(SeccompRule(name: "clone", conditions: [
            SeccompRule.Condition(argument: 0, value: 0, mask: cloneNamespaceFlags)]))
        // Pidfds for stubs: waiting on and signalling a stub can never hit a recycled pid.
        rules += SeccompRule.allow("pidfd_open", "pidfd_send_signal")
        // glibc tries clone3 first for threads and falls back to clone on ENOSYS; clone3's flags live in
        // memory where a filter cannot see them, so refuse it softly instead of allowing it.
        rules.append(.refuse("clone3", errno: ENOSYS))
        // Stubs install their own, narrower filter before any app code runs in them.
        rules += SeccompRule.allow("seccomp")
        // Memory: the MemoryFile (memfd) and its mappings, thread stacks, malloc.
        if let memoryFileFD {
            rules.append(SeccompRule(name: "mmap", conditions: [
                SeccompRule.Condition(argument: 3, value: MAP_ANONYMOUS_FLAG, mask: MAP_ANONYMOUS_FLAG)]))
            rules.append(SeccompRule(name: "mmap", conditions: [
                SeccompRule.Condition(argument: 4, value: UInt64(UInt32(bitPattern: memoryFileFD)), mask: 0xffff_ffff)]))
        } else {
            rules += SeccompRule.allow("mmap")
        }
        rules += SeccompRule.allow("munmap", "mprotect", "madvise", "mremap", "brk", "memfd_create",
                                   "fallocate", "ftruncate", "membarrier")
        // File descriptors the Sentry already holds (gofer-donated files, stdio, memfd, control socket).
        rules += SeccompRule.allow("read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
                                   "close", "fstat", "newfstatat", "statx", "lseek", "fcntl", "dup", "dup2", "dup3",
                                   "getdents64", "fsync", "fdatasync")
        // A new stub closes every inherited descriptor but the MemoryFile before it is traced.
        rules += SeccompRule.allow("close_range")
        // The host terminal of stdio: only querying its mode and size.
        rules.append(.allow("ioctl", argument: 1, equals: TCGETS))
        rules.append(.allow("ioctl", argument: 1, equals: TIOCGWINSZ))
        // A console (process.terminal): the host pty replica is put in raw mode (tcsetattr) once, its size
        // is read on every bridge wake-up (TIOCGWINSZ above).
        rules.append(.allow("ioctl", argument: 1, equals: TCSETS))
        // Sockets already connected: the gofer channel (with donated fds) and the control socket.
        rules += SeccompRule.allow("sendmsg", "recvmsg", "accept4", "shutdown")
        // send()/recv() are sendto/recvfrom without an address.
        rules.append(.allow("sendto", argument: 4, equals: 0))
        rules.append(.allow("recvfrom", argument: 4, equals: 0))
        // Waiting on descriptors and internal wakeups.
        rules += SeccompRule.allow("poll", "ppoll", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
                                   "eventfd2", "pipe2")
        // Threads and locks (Swift runtime, Mutex, the Sentry's task threads).
        rules += SeccompRule.allow("futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
                                   "sched_setaffinity", "getcpu", "restart_syscall")
        // Signals: the Sentry's own handlers and masks, and interrupting task threads.
        rules += SeccompRule.allow("rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
                                   "rt_sigtimedwait")
        // Identity and time (vDSO usually answers the clocks; these are the fallbacks).
        rules += SeccompRule.allow("getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
                                   "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
                                   "getrandom", "sysinfo", "uname", "getrusage")
        // Reading (never setting) resource limits: glibc's pthread_create asks for the stack limit.
        rules.append(.allow("prlimit64", argument: 2, equals: 0))
        // Process-wide settings the platform needs: no_new_privs/pdeathsig in stubs, FS base, CPUID faulting.
        rules += SeccompRule.allow("prctl", "arch_prctl")
        // Ending threads and the process.
        rules += SeccompRule.allow("exit", "exit_group")
        // The Sentry has no file system of its own (its root is an empty tmpfs); a stray open fails softly.
        rules.append(.refuse("open", errno: ENOENT))
        rules.append(.refuse("openat", errno: ENOENT))
        return rules
    }
}
