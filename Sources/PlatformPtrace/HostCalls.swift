// Thin wrappers over the host's ptrace(2), waitpid(2) and affinity calls, with the host-side constants they
// need. These are host ABI values, not the app's, which is why they live here and not in LinuxABI.
import CLinux
import Glibc
import LinuxABI
import Platform
import Synchronization

/// ptrace(2) requests and options this platform uses.
enum PtraceRequest {
    static let singleStep = 9
    static let getRegs = 12
    static let setRegs = 13
    static let sysemu = 31
    static let setOptions = 0x4200
    static let getSigInfo = 0x4202
    static let getRegSet = 0x4204
    static let setRegSet = 0x4205

    static let optionTraceSysGood: UInt = 0x1
    static let optionTraceSeccomp: UInt = 0x80
    static let optionExitKill: UInt = 0x10_0000
    /// The ptrace event of a SECCOMP_RET_TRACE stop (the stub filter's vsyscall path).
    static let eventSeccomp: Int32 = 7
    /// Stop signal of a syscall stop once PTRACE_O_TRACESYSGOOD is set.
    static let syscallStopSignal: Int32 = Signal.SIGTRAP.rawValue | 0x80
    /// The regset of the full XSAVE area (x87, SSE, AVX, ...), in the non-compacted user ABI layout.
    static let ntX86XState: UInt = 0x202
}

/// The bits of a waitpid(2) status this platform looks at.
struct WaitStatus: CustomStringConvertible {
    let raw: Int32

    var isStopped: Bool { raw & 0xff == 0x7f }
    var stopSignal: Int32 { (raw >> 8) & 0xff }
    /// Nonzero for PTRACE_EVENT_* stops (none are enabled here, so such a stop is unexpected).
    var ptraceEvent: Int32 { (raw >> 16) & 0xff }
    var hasExited: Bool { raw & 0x7f == 0 }
    var exitCode: Int32 { (raw >> 8) & 0xff }
    var wasKilled: Bool { !isStopped && !hasExited && raw != 0xffff }
    var terminatingSignal: Int32 { raw & 0x7f }
    /// The process is gone (and, since waitpid returned this, already reaped).
    var isTerminated: Bool { hasExited || wasKilled }

    var description: String {
        if hasExited { return "exited with status \(exitCode)" }
        if wasKilled { return "was killed by \(Signal(terminatingSignal))" }
        if isStopped {
            if stopSignal == PtraceRequest.syscallStopSignal { return "stopped at a syscall" }
            return "stopped by \(Signal(stopSignal))" + (ptraceEvent != 0 ? " (ptrace event \(ptraceEvent))" : "")
        }
        return "changed state (wait status 0x\(String(raw, radix: 16)))"
    }
}

/// Host calls, each returning 0 or the errno it failed with (no exceptions on the hot path).
enum Host {
    static func ptrace(_ request: Int, _ pid: Int32, _ addr: UInt = 0, _ data: UInt = 0) -> Int32 {
        clinux_ptrace(request, pid, addr, data) == -1 ? clinux_errno() : 0
    }

    static func getRegisters(_ pid: Int32, _ registers: inout Registers) -> Int32 {
        withUnsafeMutablePointer(to: &registers) {
            ptrace(PtraceRequest.getRegs, pid, 0, UInt(bitPattern: $0))
        }
    }

    static func setRegisters(_ pid: Int32, _ registers: inout Registers) -> Int32 {
        withUnsafeMutablePointer(to: &registers) {
            ptrace(PtraceRequest.setRegs, pid, 0, UInt(bitPattern: $0))
        }
    }

    /// waitpid(pid, __WALL), retried on EINTR. __WALL because stubs have no exit signal (a "clone" child).
    static func wait(_ pid: Int32) -> (status: WaitStatus, errno: Int32) {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, Int32(WaitFlags.__WALL))
            if r == pid { return (WaitStatus(raw: status), 0) }
            let e = clinux_errno()
            if r == -1 && e == EINTR { continue }
            return (WaitStatus(raw: 0), r == -1 ? e : ECHILD)
        }
    }

    /// SIGKILLs `pid` (our unreaped child) and reaps it; returns how it ended. If it was already dying, the
    /// status tells the original cause.
    @discardableResult
    static func killAndReap(_ pid: Int32) -> WaitStatus? {
        _ = kill(pid, SIGKILL)
        while true {
            let (status, e) = wait(pid)
            if e != 0 { return nil }
            if status.isTerminated { return status }
        }
    }

    /// A pidfd for `pid` (an unreaped child, so it is surely ours), or -1.
    static func pidfdOpen(_ pid: Int32) -> Int32 {
        Int32(truncatingIfNeeded: clinux_syscall6(SyscallNumber.pidfd_open, Int(pid), 0, 0, 0, 0, 0))
    }

    /// Signals the process behind a pidfd: unlike kill(pid), it can never hit a reused pid, and on a
    /// descriptor that is not a pidfd (closed and reused meanwhile) it fails with EBADF.
    static func pidfdSignal(_ pidfd: Int32, _ signal: Int32) -> Int32 {
        clinux_syscall6(SyscallNumber.pidfd_send_signal, Int(pidfd), Int(signal), 0, 0, 0, 0) == -1 ? clinux_errno() : 0
    }

    static func gettid() -> Int32 { clinux_gettid() }

    /// "ESRCH (No such process)".
    static func describe(errno e: Int32) -> String {
        "\(Errno(e)) (\(String(cString: strerror(e))))"
    }
}

/// CPU affinity through the raw syscalls, with our own 1024-CPU mask (glibc's CPU_SET macros are not
/// visible to Swift).
enum Affinity {
    private static let words = 16

    /// The CPUs `tid` (0 = the calling thread) may run on, or nil on failure.
    static func get(_ tid: Int32) -> [Int]? {
        var mask = [UInt64](repeating: 0, count: words)
        let r = mask.withUnsafeMutableBytes {
            clinux_syscall6(SyscallNumber.sched_getaffinity, Int(tid), $0.count, Int(bitPattern: $0.baseAddress), 0, 0, 0)
        }
        if r < 0 { return nil }
        var cpus: [Int] = []
        for (w, bits) in mask.enumerated() where bits != 0 {
            for b in 0..<64 where bits & (1 << UInt64(b)) != 0 { cpus.append(w * 64 + b) }
        }
        return cpus
    }

    /// Restricts `tid` (0 = the calling thread) to `cpu`. Returns 0 or errno.
    static func pin(_ tid: Int32, to cpu: Int) -> Int32 {
        guard cpu >= 0 && cpu < words * 64 else { return EINVAL }
        var mask = [UInt64](repeating: 0, count: words)
        mask[cpu / 64] = 1 << UInt64(cpu % 64)
        let r = mask.withUnsafeMutableBytes {
            clinux_syscall6(SyscallNumber.sched_setaffinity, Int(tid), $0.count, Int(bitPattern: $0.baseAddress), 0, 0, 0)
        }
        return r < 0 ? clinux_errno() : 0
    }
}

/// A token for the calling thread that is never reused, read without a syscall. pthread_t is not enough: a
/// new thread may get the descriptor of one that exited (and whose stubs died with it).
enum ThreadToken {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        // On failure every call hands out a fresh token, so ownership checks fail closed.
        return pthread_key_create(&key, nil) == 0 ? key : pthread_key_t.max
    }()
    private static let next = Atomic<UInt>(1)

    static var current: UInt {
        if let token = pthread_getspecific(key) { return UInt(bitPattern: token) }
        let token = next.wrappingAdd(1, ordering: .relaxed).oldValue
        _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: token))
        return token
    }
}
