// The app's capabilities (process.capabilities of the spec): what they are at init, how execve and the
// prctl capability options change them, and the check the Sentry's permission decisions use. They are
// the app's view only; the Sentry itself runs with none on the host.
import LinuxABI

/// process.capabilities as bit sets (bit N = capability N), before init's execve (as runc applies them).
public struct AppCapabilities: Sendable, Equatable {
    public var bounding: UInt64
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64
    public var ambient: UInt64
    public init(bounding: UInt64 = 0, effective: UInt64 = 0, permitted: UInt64 = 0, inheritable: UInt64 = 0, ambient: UInt64 = 0) {
        self.bounding = bounding; self.effective = effective; self.permitted = permitted
        self.inheritable = inheritable; self.ambient = ambient
    }
}

extension CapabilitySets {
    init(_ app: AppCapabilities) {
        let all = CapabilitySets.all
        self.init(effective: app.effective & all, permitted: app.permitted & all, inheritable: app.inheritable & all)
        bounding = app.bounding & all
        // Ambient capabilities must also be permitted and inheritable (capabilities(7)).
        ambient = app.ambient & permitted & inheritable
    }

    /// execve of a file without file capabilities or set-id bits (capabilities(7)): root (real or effective
    /// uid 0) gains its inheritable and bounding sets, effective only with effective uid 0; anyone else keeps
    /// only the ambient set.
    mutating func applyExec(credentials c: Credentials) {
        if c.uid == 0 || c.euid == 0 {
            permitted = inheritable | bounding | ambient
            effective = c.euid == 0 ? permitted : ambient
        } else {
            permitted = ambient
            effective = ambient
        }
    }
}

extension CapabilitySets {
    /// The capabilities that act on files (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE,
    /// MKNOD, MAC_OVERRIDE): setfsuid away from 0 drops them from the effective set, back to 0 restores them.
    static let fileSystemMask: UInt64 = [Capability.CAP_CHOWN, Capability.CAP_DAC_OVERRIDE, Capability.CAP_DAC_READ_SEARCH,
                                         Capability.CAP_FOWNER, Capability.CAP_FSETID, Capability.CAP_LINUX_IMMUTABLE,
                                         Capability.CAP_MKNOD, Capability.CAP_MAC_OVERRIDE].reduce(0) { $0 | (1 << UInt64($1)) }

    mutating func fileSystemUIDChanged(from old: UInt32, to new: UInt32) {
        if old == 0 && new != 0 { effective &= ~CapabilitySets.fileSystemMask }
        if old != 0 && new == 0 { effective |= permitted & CapabilitySets.fileSystemMask }
    }
}

extension Task {
    /// Whether the task holds capability `cap` in its effective set (all permission checks go through here).
    @inline(__always) func hasCapability(_ cap: Int) -> Bool {
        capabilities.effective & (UInt64(1) << UInt64(cap)) != 0
    }
}

extension Kernel {
    /// Applies the spec's process.capabilities, noNewPrivileges and linux.seccomp to a process that is about
    /// to run its first instruction (init, or a `runsc exec` process), as runc does before its execve.
    func applyAppLimits(to task: Task) throws {
        if let caps = config.capabilities {
            task.capabilities = CapabilitySets(caps)
            task.capabilities.applyExec(credentials: task.credentials)
        }
        if config.noNewPrivileges { task.security.noNewPrivileges = true }
        if let profile = config.seccomp {
            let program = try AppSeccompCompiler.compile(profile)
            let filter = try AppSeccompFilter(program: program, parent: nil, logActions: profile.logActions)
            task.security.install(filter)
            if config.debug {
                log("seccomp: installed the spec's profile on pid \(task.threadGroup.pid): \(program.instructions.count) "
                    + "instructions, \(profile.rules.count) rules, \(filter.cachedCount) syscall numbers cached")
            }
        }
    }
}

extension Kernel {
    /// kill(2)'s permission rule: CAP_KILL, or the sender's real or effective uid is the target's real or
    /// saved uid; SIGCONT within the sender's session is always allowed.
    func mayKill(_ sender: Task, _ target: ThreadGroup, signal: Int32) -> Bool {
        if sender.hasCapability(Capability.CAP_KILL) || target === sender.threadGroup { return true }
        return taskLock.withLock {
            guard let t = target.tasks.first?.credentials else { return true }  // exiting: nothing to protect
            let s = sender.credentials
            if [t.uid, t.suid].contains(s.uid) || [t.uid, t.suid].contains(s.euid) { return true }
            return signal == Signal.SIGCONT.rawValue && target.sessionID == sender.threadGroup.sessionID
        }
    }
}

extension SyscallTable {
    /// prctl's capability options; nil for options handled elsewhere.
    static func capabilityPrctl(_ t: Task, _ a: SyscallArguments) throws(Errno) -> Int? {
        let cap = a.a1
        switch Int(a.int0) {
        case PrctlSecurity.PR_CAPBSET_READ:
            guard cap <= UInt64(Capability.lastCapability) else { throw Errno.EINVAL }
            return t.capabilities.bounding & (1 << cap) != 0 ? 1 : 0
        case PrctlSecurity.PR_CAPBSET_DROP:
            guard t.hasCapability(Capability.CAP_SETPCAP) else { throw Errno.EPERM }
            guard cap <= UInt64(Capability.lastCapability) else { throw Errno.EINVAL }
            t.capabilities.bounding &= ~(1 << cap)
            return 0
        case PrctlSecurity.PR_CAP_AMBIENT:
            guard a.a3 == 0, a.a4 == 0 else { throw Errno.EINVAL }
            if Int(a.a1) == PrctlSecurity.PR_CAP_AMBIENT_CLEAR_ALL {
                guard a.a2 == 0 else { throw Errno.EINVAL }
                t.capabilities.ambient = 0
                return 0
            }
            let c = a.a2
            guard c <= UInt64(Capability.lastCapability) else { throw Errno.EINVAL }
            let bit: UInt64 = 1 << c
            switch Int(a.a1) {
            case PrctlSecurity.PR_CAP_AMBIENT_IS_SET: return t.capabilities.ambient & bit != 0 ? 1 : 0
            case PrctlSecurity.PR_CAP_AMBIENT_RAISE:
                guard t.capabilities.permitted & bit != 0, t.capabilities.inheritable & bit != 0 else { throw Errno.EPERM }
                t.capabilities.ambient |= bit
                return 0
            case PrctlSecurity.PR_CAP_AMBIENT_LOWER:
                t.capabilities.ambient &= ~bit
                return 0
            default: throw Errno.EINVAL
            }
        case PrctlSecurity.PR_GET_SECUREBITS:
            return 0  // no securebits are ever set
        default:
            return nil
        }
    }

    /// capset(2)'s rules for new (effective, permitted, inheritable) sets: permitted may only shrink,
    /// effective stays within the new permitted, inheritable may only grow within the bounding set and the
    /// permitted set (or with CAP_SETPCAP, within bounding). Ambient capabilities no longer allowed are dropped.
    static func capset(_ t: Task, effective e: UInt64, permitted p: UInt64, inheritable i: UInt64) throws(Errno) {
        var caps = t.capabilities
        guard p & ~caps.permitted == 0, e & ~p == 0 else { throw Errno.EPERM }
        let inheritableLimit = t.hasCapability(Capability.CAP_SETPCAP) ? caps.inheritable | caps.bounding
                                                                         : caps.inheritable | caps.permitted
        guard i & ~inheritableLimit == 0, i & ~(caps.inheritable | caps.bounding) == 0 else { throw Errno.EPERM }
        caps.permitted = p; caps.effective = e; caps.inheritable = i
        caps.ambient &= p & i
        t.capabilities = caps
    }
}
