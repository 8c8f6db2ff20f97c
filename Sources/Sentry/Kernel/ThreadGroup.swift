// A process: the thread group that shares a pid, its parent/children links, exit state and signal actions.
import LinuxABI

/// A signal action installed with rt_sigaction.
struct SignalAction {
    var handler: UInt64 = SignalConstants.SIG_DFL
    var flags: UInt64 = 0
    var restorer: UInt64 = 0
    var mask: SignalSet = SignalSet()
}

/// The signal actions of a process (shared by CLONE_SIGHAND).
final class SignalHandlers: @unchecked Sendable {
    let lock = Lock()
    var actions = [SignalAction](repeating: SignalAction(), count: 65)

    func copy() -> SignalHandlers {
        let c = SignalHandlers()
        lock.withLock { c.actions = actions }
        return c
    }

    /// execve resets caught signals to the default (ignored ones stay ignored).
    func resetForExec() {
        lock.withLock {
            for i in 1...64 where actions[i].handler != SignalConstants.SIG_IGN {
                actions[i] = SignalAction()
            }
        }
    }
}

/// How a process ended, in the encoding wait4 returns.
struct WaitStatus: Equatable {
    var raw: Int32
    static func exited(_ code: Int32) -> WaitStatus { WaitStatus(raw: (code & 0xff) << 8) }
    static func signaled(_ sig: Int32, core: Bool) -> WaitStatus { WaitStatus(raw: (sig & 0x7f) | (core ? 0x80 : 0)) }
    var exitStatus: ExitStatus {
        if raw & 0x7f == 0 { return .exited((raw >> 8) & 0xff) }
        return .signaled(raw & 0x7f, coreDumped: raw & 0x80 != 0)
    }
}

/// A process.
final class ThreadGroup: @unchecked Sendable {
    let pid: Int32
    /// Parent process; protected by the kernel's task lock.
    weak var parent: ThreadGroup?
    var children: [Int32: ThreadGroup] = [:]
    var processGroupID: Int32
    var sessionID: Int32
    var handlers: SignalHandlers
    /// The signal sent to the parent on exit (from clone's low byte; SIGCHLD for fork).
    var exitSignal: Int32
    /// Set once the process has exited and waits to be reaped.
    var zombieStatus: WaitStatus?
    var tasks: [Task] = []
    /// Woken when a child changes state (for wait4).
    let childEvents = WaitQueue()
    /// Signals pending for the process as a whole.
    var pendingSignals: [PendingSignal] = []
    /// CPU time of exited threads and reaped children, interval and POSIX timers (Time/ProcessTimers.swift).
    let accounting = ProcessAccounting()
    var exiting = false
    var groupExitStatus: WaitStatus?
    /// Job control: the process is stopped by this signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
    var stopSignal: Int32?
    /// A stop or continue the parent has not collected with wait (WUNTRACED / WCONTINUED) yet.
    var unreportedStop = false
    var unreportedContinue = false
    /// Resource limits set by the app (resource → (soft, hard)); unset ones have the defaults.
    var rlimits: [Int: (UInt64, UInt64)] = [:]
    /// getpriority/setpriority's nice value.
    var nice: Int32 = 0

    init(pid: Int32, parent: ThreadGroup?, handlers: SignalHandlers, exitSignal: Int32) {
        self.pid = pid
        self.parent = parent
        self.processGroupID = parent?.processGroupID ?? pid
        self.sessionID = parent?.sessionID ?? pid
        self.handlers = handlers
        self.exitSignal = exitSignal
    }

    var leader: Task? { tasks.first }
}

/// A signal waiting to be delivered, with its siginfo fields.
struct PendingSignal {
    var signal: Int32
    var code: Int32 = 0          // SI_USER
    var senderPID: Int32 = 0
    var senderUID: UInt32 = 0
    var address: UInt64 = 0      // for faults
    var status: Int32 = 0        // for SIGCHLD
    /// Raised by a fault of the task itself: cannot be ignored or blocked away.
    var forced = false
    /// Sent from outside the sandbox (`runsc kill`): may end the container's init with SIGKILL/SIGSTOP.
    var fromOutside = false
    /// For POSIX timer signals (si_code SI_TIMER): si_timerid, si_overrun, si_value.
    var timerID: Int32 = 0
    var overrun: Int32 = 0
    var value: UInt64 = 0
    /// For a seccomp SIGSYS (si_code SYS_SECCOMP): si_errno (the filter's data), si_syscall, si_arch;
    /// `address` is si_call_addr.
    var errno: Int32 = 0
    var syscall: Int32 = 0
    var arch: UInt32 = 0

    /// The 128-byte siginfo_t.
    func encode() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 128)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: signal, toByteOffset: 0, as: Int32.self)
            p.storeBytes(of: code, toByteOffset: 8, as: Int32.self)
            if code == -2 {  // SI_TIMER
                p.storeBytes(of: timerID, toByteOffset: 16, as: Int32.self)
                p.storeBytes(of: overrun, toByteOffset: 20, as: Int32.self)
                p.storeBytes(of: value, toByteOffset: 24, as: UInt64.self)
                return
            }
            if code == -3 {  // SI_MESGQ: si_pid, si_uid, si_value
                p.storeBytes(of: senderPID, toByteOffset: 16, as: Int32.self)
                p.storeBytes(of: senderUID, toByteOffset: 20, as: UInt32.self)
                p.storeBytes(of: value, toByteOffset: 24, as: UInt64.self)
                return
            }
            if signal == 31 && code == 1 {  // SIGSYS from seccomp: si_errno, si_call_addr, si_syscall, si_arch
                p.storeBytes(of: errno, toByteOffset: 4, as: Int32.self)
                p.storeBytes(of: address, toByteOffset: 16, as: UInt64.self)
                p.storeBytes(of: syscall, toByteOffset: 24, as: Int32.self)
                p.storeBytes(of: arch, toByteOffset: 28, as: UInt32.self)
                return
            }
            switch signal {
            case 4, 7, 8, 11:  // SIGILL, SIGBUS, SIGFPE, SIGSEGV: si_addr
                p.storeBytes(of: address, toByteOffset: 16, as: UInt64.self)
            case 17:  // SIGCHLD: pid, uid, status
                p.storeBytes(of: senderPID, toByteOffset: 16, as: Int32.self)
                p.storeBytes(of: senderUID, toByteOffset: 20, as: UInt32.self)
                p.storeBytes(of: status, toByteOffset: 24, as: Int32.self)
            default:
                p.storeBytes(of: senderPID, toByteOffset: 16, as: Int32.self)
                p.storeBytes(of: senderUID, toByteOffset: 20, as: UInt32.self)
                if code == -1 { p.storeBytes(of: value, toByteOffset: 24, as: UInt64.self) }  // SI_QUEUE: si_value
            }
        }
        return b
    }
}
