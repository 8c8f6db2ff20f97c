// seccomp(2) and the prctl options about seccomp and no_new_privs: the app installs its own filters,
// which the Sentry runs (Kernel/AppSeccomp.swift); nothing here reaches the host's seccomp.
import LinuxABI

extension SyscallTable {
    func registerSeccompSyscalls() {
        register(SyscallNumber.seccomp) { (t, a) throws(Errno) -> Int in
            // op and flags are unsigned int in the kernel's signature.
            try SyscallTable.seccomp(t, operation: UInt32(truncatingIfNeeded: a.a0), flags: UInt32(truncatingIfNeeded: a.a1), args: a.a2)
        }
    }

    static func seccomp(_ t: Task, operation: UInt32, flags: UInt32, args: UInt64) throws(Errno) -> Int {
        switch Int(operation) {
        case SeccompABI.SECCOMP_SET_MODE_STRICT:
            guard flags == 0, args == 0 else { throw Errno.EINVAL }
            guard t.security.mode != SeccompABI.SECCOMP_MODE_FILTER else { throw Errno.EINVAL }
            t.security.enterStrictMode()
            return 0
        case SeccompABI.SECCOMP_SET_MODE_FILTER:
            return try installFilter(t, flags: UInt64(flags), programAddress: args)
        case SeccompABI.SECCOMP_GET_ACTION_AVAIL:
            guard flags == 0 else { throw Errno.EINVAL }
            let action: UInt32 = try t.mm.read(args, as: UInt32.self)
            let known = [SeccompABI.SECCOMP_RET_KILL_PROCESS, SeccompABI.SECCOMP_RET_KILL_THREAD, SeccompABI.SECCOMP_RET_TRAP,
                         SeccompABI.SECCOMP_RET_ERRNO, SeccompABI.SECCOMP_RET_USER_NOTIF, SeccompABI.SECCOMP_RET_TRACE,
                         SeccompABI.SECCOMP_RET_LOG, SeccompABI.SECCOMP_RET_ALLOW]
            guard known.contains(action) else { throw Errno.EOPNOTSUPP }
            return 0
        case SeccompABI.SECCOMP_GET_NOTIF_SIZES:
            guard flags == 0 else { throw Errno.EINVAL }
            let (notif, resp, data) = SeccompABI.notifSizes
            var b = [UInt8](repeating: 0, count: 6)
            b.withUnsafeMutableBytes { p in
                p.storeBytes(of: notif, toByteOffset: 0, as: UInt16.self)
                p.storeBytes(of: resp, toByteOffset: 2, as: UInt16.self)
                p.storeBytes(of: data, toByteOffset: 4, as: UInt16.self)
            }
            try t.mm.copyOut(args, b)
            return 0
        default:
            throw Errno.EINVAL
        }
    }

    /// SECCOMP_SET_MODE_FILTER: checks the flags and the program (struct sock_fprog at `programAddress`),
    /// then stacks the filter on the caller's (and with TSYNC on every thread of its process).
    static func installFilter(_ t: Task, flags: UInt64, programAddress: UInt64) throws(Errno) -> Int {
        let known = SeccompABI.SECCOMP_FILTER_FLAG_TSYNC | SeccompABI.SECCOMP_FILTER_FLAG_LOG
            | SeccompABI.SECCOMP_FILTER_FLAG_SPEC_ALLOW | SeccompABI.SECCOMP_FILTER_FLAG_NEW_LISTENER
            | SeccompABI.SECCOMP_FILTER_FLAG_TSYNC_ESRCH | SeccompABI.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
        guard flags & ~known == 0 else { throw Errno.EINVAL }
        // No user-space listener exists in the sandbox: asking for one is refused as an unsupported flag, so
        // libseccomp and runtimes see notifications as unavailable.
        guard flags & SeccompABI.SECCOMP_FILTER_FLAG_NEW_LISTENER == 0,
              flags & SeccompABI.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV == 0 else { throw Errno.EINVAL }
        guard t.security.mode != SeccompABI.SECCOMP_MODE_STRICT else { throw Errno.EINVAL }
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        let header = try t.mm.copyIn(programAddress, 16)
        let (length, filterAddress) = header.withUnsafeBytes { ($0.load(fromByteOffset: 0, as: UInt16.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
        guard length >= 1, Int(length) <= BPFOp.maxInstructions else { throw Errno.EINVAL }
        guard t.security.noNewPrivileges || t.hasCapability(Capability.CAP_SYS_ADMIN) else { throw Errno.EACCES }
        let raw = try t.mm.copyIn(filterAddress, Int(length) * 8)
        let instructions = raw.withUnsafeBytes { p in
            (0..<Int(length)).map { i in
                BPFInstruction(code: p.load(fromByteOffset: i * 8, as: UInt16.self), jt: p.load(fromByteOffset: i * 8 + 2, as: UInt8.self),
                               jf: p.load(fromByteOffset: i * 8 + 3, as: UInt8.self), k: p.load(fromByteOffset: i * 8 + 4, as: UInt32.self))
            }
        }
        let program = try BPFProgram(validating: instructions)
        let logActions = flags & SeccompABI.SECCOMP_FILTER_FLAG_LOG != 0
        let tsync = flags & SeccompABI.SECCOMP_FILTER_FLAG_TSYNC != 0
        // Only TSYNC from another thread changes our filter; build outside the task lock (it analyses every
        // syscall number) and retry if one came in meanwhile.
        while true {
            let parent = t.security.filter
            let filter = try AppSeccompFilter(program: program, parent: parent, logActions: logActions)
            let outcome: Int? = t.kernel.taskLock.withLock { () -> Int? in
                guard t.security.filter === parent else { return nil }
                if tsync {
                    let others = t.threadGroup.tasks.filter { $0 !== t && !$0.exitRequested }
                    if let blocker = others.first(where: { !$0.security.canSynchronize(to: filter) }) {
                        return flags & SeccompABI.SECCOMP_FILTER_FLAG_TSYNC_ESRCH != 0 ? -Int(Errno.ESRCH.rawValue) : Int(blocker.tid)
                    }
                    let nnp = t.security.noNewPrivileges
                    for o in others { o.security.install(filter, noNewPrivileges: nnp) }
                }
                t.security.install(filter)
                return 0
            }
            if let outcome {
                if outcome < 0 { throw Errno(Int32(-outcome)) }
                return outcome
            }
        }
    }

    /// prctl's seccomp and no_new_privs options, and the capability ones; nil for options handled elsewhere.
    static func securityPrctl(_ t: Task, _ a: SyscallArguments) throws(Errno) -> Int? {
        switch Int(a.int0) {
        case PrctlSecurity.PR_GET_SECCOMP:
            return t.security.mode
        case PrctlSecurity.PR_SET_SECCOMP:
            switch Int(a.a1) {
            case SeccompABI.SECCOMP_MODE_STRICT:
                return try seccomp(t, operation: UInt32(SeccompABI.SECCOMP_SET_MODE_STRICT), flags: 0, args: 0)
            case SeccompABI.SECCOMP_MODE_FILTER:
                return try seccomp(t, operation: UInt32(SeccompABI.SECCOMP_SET_MODE_FILTER), flags: 0, args: a.a2)
            default: throw Errno.EINVAL
            }
        case PrctlSecurity.PR_SET_NO_NEW_PRIVS:
            guard a.a1 == 1, a.a2 == 0, a.a3 == 0, a.a4 == 0 else { throw Errno.EINVAL }
            t.security.noNewPrivileges = true
            return 0
        case PrctlSecurity.PR_GET_NO_NEW_PRIVS:
            guard a.a1 == 0, a.a2 == 0, a.a3 == 0, a.a4 == 0 else { throw Errno.EINVAL }
            return t.security.noNewPrivileges ? 1 : 0
        default:
            return try capabilityPrctl(t, a)
        }
    }
}

extension Task {
    /// The /proc/[pid]/status lines about privileges, in Linux's order.
    var securityStatusLines: String {
        let c = capabilities
        func hex(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, 16 - s.count)) + s }
        let mode = security.mode
        return "CapInh:\t\(hex(c.inheritable))\nCapPrm:\t\(hex(c.permitted))\nCapEff:\t\(hex(c.effective))\n"
            + "CapBnd:\t\(hex(c.bounding))\nCapAmb:\t\(hex(c.ambient))\nNoNewPrivs:\t\(security.noNewPrivileges ? 1 : 0)\n"
            + "Seccomp:\t\(mode)\nSeccomp_filters:\t\(mode == SeccompABI.SECCOMP_MODE_FILTER ? security.filter?.depth ?? 0 : 0)\n"
    }
}
