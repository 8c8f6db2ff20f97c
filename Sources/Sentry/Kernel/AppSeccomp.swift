// The app's own seccomp: filters a task installed (seccomp(2), prctl, or the spec's linux.seccomp for init),
// run on every syscall before its handler. Filters are immutable and shared along fork/clone/exec; each
// one carries the combined verdict of itself and its ancestors per syscall number where the analysis shows
// the verdict depends only on the number, so most syscalls cost one array lookup.
import LinuxABI
import Synchronization

/// One installed filter and, through `parent`, the filters installed before it. Never changed once made.
final class AppSeccompFilter: @unchecked Sendable {
    let program: BPFProgram
    let parent: AppSeccompFilter?
    /// SECCOMP_FILTER_FLAG_LOG: actions other than ALLOW are logged.
    let logActions: Bool
    /// Instructions on the path to the root, each filter counting 4 extra (the 32768 limit).
    let pathInstructions: Int
    /// Filters on the path, this one included (`Seccomp_filters:` in /proc/[pid]/status).
    let depth: Int
    /// Combined verdict for syscall numbers below `cachedSyscalls` when it depends on the number only;
    /// `AppSeccompFilter.dynamic` where the program looks at the arguments or the instruction pointer.
    private let verdicts: [UInt64]
    static let cachedSyscalls = 512
    static let dynamic = UInt64.max

    init(program: BPFProgram, parent: AppSeccompFilter?, logActions: Bool) throws(Errno) {
        let total = program.instructions.count + (parent?.pathInstructions ?? 0) + 4
        // Linux counts the new program's length plus 4 per existing filter; this adds 4 for every filter,
        // the new one included, which is the same test shifted by a constant.
        guard total - 4 <= SeccompABI.maxInstructionsPerPath else { throw Errno.ENOMEM }
        self.program = program
        self.parent = parent
        self.logActions = logActions
        self.pathInstructions = total
        self.depth = (parent?.depth ?? 0) + 1
        var verdicts = [UInt64](repeating: AppSeccompFilter.dynamic, count: AppSeccompFilter.cachedSyscalls)
        for nr in 0..<AppSeccompFilter.cachedSyscalls {
            guard let mine = program.constantVerdict(nr: Int32(nr), arch: SeccompABI.AUDIT_ARCH_X86_64) else { continue }
            if let parent {
                let older = parent.verdicts[nr]
                if older == AppSeccompFilter.dynamic { continue }
                verdicts[nr] = UInt64(AppSeccompFilter.combine(newer: mine, older: UInt32(older)))
            } else {
                verdicts[nr] = UInt64(mine)
            }
        }
        self.verdicts = verdicts
    }

    /// Stacked filters all run, newest first; the first-seen action of highest precedence wins, comparing
    /// the action part as a signed number (KILL_PROCESS is the most negative, ALLOW the largest).
    @inline(__always)
    static func combine(newer: UInt32, older: UInt32) -> UInt32 {
        let mask = SeccompABI.SECCOMP_RET_ACTION_FULL
        return Int32(bitPattern: older & mask) < Int32(bitPattern: newer & mask) ? older : newer
    }

    /// The verdict of this filter and its ancestors for `data`.
    func verdict(_ data: SeccompData) -> UInt32 {
        if data.arch == SeccompABI.AUDIT_ARCH_X86_64, data.nr >= 0, Int(data.nr) < verdicts.count {
            let cached = verdicts[Int(data.nr)]
            if cached != AppSeccompFilter.dynamic { return UInt32(truncatingIfNeeded: cached) }
        }
        var result = program.run(data)
        var f = parent
        while let filter = f {
            result = AppSeccompFilter.combine(newer: result, older: filter.program.run(data))
            f = filter.parent
        }
        return result
    }

    /// How many syscall numbers have a cached verdict (for the debug log and tests).
    var cachedCount: Int { verdicts.count(where: { $0 != AppSeccompFilter.dynamic }) }

    /// True if `other` is this filter or one installed before it (TSYNC's compatibility rule).
    func descends(from other: AppSeccompFilter?) -> Bool {
        guard let other else { return true }
        var f: AppSeccompFilter? = self
        while let x = f { if x === other { return true }; f = x.parent }
        return false
    }
}

/// A task's seccomp mode, filters and no_new_privs bit. The task's own thread reads them on every syscall;
/// other threads change them only for TSYNC, under `lock`, so `mode` alone tells the syscall path that
/// nothing is installed.
final class TaskSecurity: @unchecked Sendable {
    private let lock = Lock()
    private let modeValue = Atomic<Int>(SeccompABI.SECCOMP_MODE_DISABLED)
    private var filterValue: AppSeccompFilter?
    private var noNewPrivilegesValue = false

    init() {}

    /// A fork or clone child's copy: the same filters, mode and no_new_privs.
    func copy() -> TaskSecurity {
        let c = TaskSecurity()
        lock.withLock {
            c.filterValue = filterValue
            c.noNewPrivilegesValue = noNewPrivilegesValue
            c.modeValue.store(modeValue.load(ordering: .relaxed), ordering: .relaxed)
        }
        return c
    }

    /// SECCOMP_MODE_DISABLED, _STRICT or _FILTER: one load, for the syscall path.
    @inline(__always) var mode: Int { modeValue.load(ordering: .acquiring) }

    var filter: AppSeccompFilter? { lock.withLock { filterValue } }

    var noNewPrivileges: Bool {
        get { lock.withLock { noNewPrivilegesValue } }
        set { lock.withLock { noNewPrivilegesValue = newValue } }
    }

    /// Installs `filter` (whose parent is the current one) and enters filter mode.
    func install(_ filter: AppSeccompFilter, noNewPrivileges: Bool? = nil) {
        lock.withLock {
            filterValue = filter
            if let noNewPrivileges, noNewPrivileges { noNewPrivilegesValue = true }
            modeValue.store(SeccompABI.SECCOMP_MODE_FILTER, ordering: .releasing)
        }
    }

    func enterStrictMode() {
        lock.withLock { modeValue.store(SeccompABI.SECCOMP_MODE_STRICT, ordering: .releasing) }
    }

    /// For TSYNC: whether this thread can take `filter` (not strict, and its filters are ancestors of it).
    func canSynchronize(to filter: AppSeccompFilter) -> Bool {
        lock.withLock {
            modeValue.load(ordering: .relaxed) != SeccompABI.SECCOMP_MODE_STRICT && filter.descends(from: filterValue)
        }
    }
}

extension Task {
    /// Runs the app's seccomp filters (or strict mode) on the syscall the task stopped at. nil: go on to the
    /// handler. Otherwise the syscall is not run and the value is what the app sees in rax (the task may
    /// also have been told to die or been sent SIGSYS).
    func seccompCheck(number: Int, args: SyscallArguments, compat: Bool) -> Int? {
        let mode = security.mode
        if mode == SeccompABI.SECCOMP_MODE_STRICT {
            // Only read, write, exit and rt_sigreturn (the 32-bit numbers for int 0x80).
            let allowed = compat ? [3, 4, 1, 119] : [SyscallNumber.read, SyscallNumber.write, SyscallNumber.exit,
                                                      SyscallNumber.rt_sigreturn]
            if allowed.contains(number) { return nil }
            seccompKill(signal: Signal.SIGKILL.rawValue, wholeProcess: false, core: false)
            return 0
        }
        guard let filter = security.filter else { return nil }
        let data = SeccompData(nr: Int32(truncatingIfNeeded: number),
                               arch: compat ? SeccompABI.AUDIT_ARCH_I386 : SeccompABI.AUDIT_ARCH_X86_64,
                               instructionPointer: registers.rip,
                               args: compat ? (registers.rbx & 0xffff_ffff, registers.rcx & 0xffff_ffff,
                                               registers.rdx & 0xffff_ffff, registers.rsi & 0xffff_ffff,
                                               registers.rdi & 0xffff_ffff, registers.rbp & 0xffff_ffff)
                                            : (args.a0, args.a1, args.a2, args.a3, args.a4, args.a5))
        let verdict = filter.verdict(data)
        let action = verdict & SeccompABI.SECCOMP_RET_ACTION_FULL
        let value = verdict & SeccompABI.SECCOMP_RET_DATA
        if action == SeccompABI.SECCOMP_RET_ALLOW { return nil }
        if filter.logActions || action == SeccompABI.SECCOMP_RET_LOG || kernel.config.debug {
            kernel.log("seccomp: pid \(threadGroup.pid) tid \(tid) syscall \(syscallName(number)) (\(number)): "
                       + "action 0x\(String(verdict, radix: 16))")
        }
        switch action {
        case SeccompABI.SECCOMP_RET_LOG:
            return nil
        case SeccompABI.SECCOMP_RET_ERRNO:
            return -Int(min(value, SeccompABI.maxErrno))
        case SeccompABI.SECCOMP_RET_TRACE, SeccompABI.SECCOMP_RET_USER_NOTIF:
            // No tracer and no listener can exist in the sandbox: the syscall fails with ENOSYS, as on Linux.
            return -Int(Errno.ENOSYS.rawValue)
        case SeccompABI.SECCOMP_RET_TRAP:
            var info = PendingSignal(signal: Signal.SIGSYS.rawValue, code: SeccompABI.SYS_SECCOMP,
                                     address: registers.rip, forced: true)
            info.errno = Int32(value)
            info.syscall = Int32(truncatingIfNeeded: number)
            info.arch = data.arch
            queueSignal(info)
            // Linux leaves the registers as they were at the syscall: rax holds the number again.
            return number
        case SeccompABI.SECCOMP_RET_KILL_THREAD:
            seccompKill(signal: Signal.SIGSYS.rawValue, wholeProcess: false, core: true)
            return 0
        default:  // KILL_PROCESS, and any action Linux does not know
            seccompKill(signal: Signal.SIGSYS.rawValue, wholeProcess: true, core: true)
            return 0
        }
    }

    /// Ends the thread, or the process if asked or if this is its last thread, "killed by `signal`".
    private func seccompKill(signal: Int32, wholeProcess: Bool, core: Bool) {
        let alone = kernel.taskLock.withLock { threadGroup.tasks.count <= 1 }
        if wholeProcess || alone {
            exitGroup(.signaled(signal, core: core))
        } else {
            exitTask(status: .signaled(signal, core: false))
        }
    }
}
