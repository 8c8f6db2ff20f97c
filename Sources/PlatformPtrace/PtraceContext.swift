// Running app code under PTRACE_SYSEMU: one SETREGS, one SYSEMU, one waitpid and one GETREGS per event.
import CLinux
import Glibc
import LinuxABI
import Platform
import Synchronization

/// The execution context of one app thread: the host thread that created it drives app code in address
/// spaces created on that same thread.
///
/// `@unchecked Sendable`: `interrupt()` is meant to be called from other threads and only touches the two
/// atomics; every other member is used by the owning thread alone (checked in `switchToApp`).
public final class PtraceContext: Context, @unchecked Sendable {
    /// The CPU this context's thread is pinned to, or nil when pinning is off.
    public let cpu: Int?

    private let owner: UInt  // ThreadToken of the creating thread
    private let ownerTID: Int32
    /// Set by interrupt(); consumed by switchToApp.
    private let interruptPending = Atomic<Bool>(false)
    /// The pidfd of the stub switchToApp is running (-1: none), for interrupt() to signal.
    private let runningPidfd = Atomic<Int32>(-1)
    /// The host signal that stops a running stub. It cannot be blocked (the stub blocks everything else),
    /// is never raised by app code, and is suppressed at its signal-delivery stop, so no group stop follows.
    static let interruptSignal = Signal.SIGSTOP.rawValue

    // Owner-thread state.
    private weak var lastSpace: PtraceAddressSpace?
    /// What the kernel holds for `cachedSpace`'s stub after our last GETREGS, to skip an unchanged SETREGS.
    private weak var cachedSpace: PtraceAddressSpace?
    private var cachedEpoch: UInt64 = 0
    private var cachedRegisters = Registers()
    private var released = false

    init(cpu: Int?) {
        self.cpu = cpu
        self.owner = ThreadToken.current
        self.ownerTID = Host.gettid()
    }

    /// Runs app code until the next event. `registers.origRax` is sent to the host as -1, so that the host
    /// never applies its own syscall-restart rewinding to app registers; at a `.syscall` it holds the number.
    /// Registers the host refuses (e.g. a cs/ss without RPL 3, an fs_base above the user half) are reported as
    /// `.fault` SIGSEGV with si_code SI_KERNEL and address 0, as Linux does for a bad sigreturn frame.
    public func switchToApp(_ addressSpace: AddressSpace, _ registers: inout Registers) -> PlatformEvent {
        guard let space = addressSpace as? PtraceAddressSpace else {
            return .addressSpaceLost("ptrace platform: switchToApp was given an address space of another platform")
        }
        guard !released, owner == ThreadToken.current, space.isOwnedByCallingThread else {
            return .addressSpaceLost("ptrace platform: switchToApp on host thread \(Host.gettid()) for a context of "
                                     + "thread \(ownerTID) and stub \(space.stubPID); both must be used by the "
                                     + "thread that created them" + (released ? " (the context was released)" : ""))
        }
        if let reason = space.lostReason { return .addressSpaceLost(reason) }
        let pid = space.stubPID
        lastSpace = space

        // Publish the stub before reading the flag: a concurrent interrupt() then either sees the pid and
        // signals it, or we see its flag. (If both, the signal left pending yields one spurious .interrupted.)
        runningPidfd.store(space.pidfd, ordering: .sequentiallyConsistent)
        if interruptPending.exchange(false, ordering: .sequentiallyConsistent) {
            runningPidfd.store(-1, ordering: .sequentiallyConsistent)
            return .interrupted
        }

        var toKernel = registers
        toKernel.origRax = UInt64.max
        if !(cachedSpace === space && cachedEpoch == space.registerEpoch && cachedRegisters == toKernel) {
            cachedSpace = nil  // a failed SETREGS may have applied some registers
            let e = Host.setRegisters(pid, &toKernel)
            if e != 0 {
                runningPidfd.store(-1, ordering: .sequentiallyConsistent)
                if e == EIO || e == EINVAL || e == EPERM {
                    return .fault(FaultInfo(signal: Signal.SIGSEGV.rawValue, code: 0x80, address: 0, access: nil))
                }
                return lost(space, "PTRACE_SETREGS: \(Host.describe(errno: e))")
            }
        }
        let e = Host.ptrace(PtraceRequest.sysemu, pid)
        if e != 0 {
            runningPidfd.store(-1, ordering: .sequentiallyConsistent)
            return lost(space, "PTRACE_SYSEMU: \(Host.describe(errno: e))")
        }
        let (status, we) = Host.wait(pid)
        runningPidfd.store(-1, ordering: .sequentiallyConsistent)
        if we != 0 { return lost(space, "waitpid: \(Host.describe(errno: we))") }
        if status.isTerminated {
            return .addressSpaceLost(space.markLost("ptrace stub \(pid) \(status)", reaped: true))
        }
        let ge = Host.getRegisters(pid, &registers)
        if ge != 0 { return lost(space, "PTRACE_GETREGS: \(Host.describe(errno: ge))") }
        cachedSpace = space
        cachedEpoch = space.registerEpoch
        cachedRegisters = registers
        return event(for: status, pid: pid, rip: registers.rip)
    }

    /// Callable from any thread. If app code is running, its stub gets the interrupt signal; either way the
    /// next switchToApp that has not yet started app code returns `.interrupted` without running any.
    public func interrupt() {
        interruptPending.store(true, ordering: .sequentiallyConsistent)
        let pidfd = runningPidfd.load(ordering: .sequentiallyConsistent)
        // A pidfd, not a pid: the stub may die and be reaped at any moment, and a reused pid may belong to a
        // process outside the sandbox. At worst the descriptor was closed and reused: EBADF, or a spurious
        // .interrupted of another stub.
        if pidfd >= 0 { _ = Host.pidfdSignal(pidfd, PtraceContext.interruptSignal) }
    }

    /// Ends the context. The address spaces it ran are released separately.
    public func release() {
        released = true
        lastSpace = nil
        cachedSpace = nil
    }

    /// The XSAVE area (NT_X86_XSTATE user layout) of the app thread this context last ran, or empty if it
    /// cannot be read (nothing ran yet, the stub is gone). For signal frames.
    public func floatingPointState() -> [UInt8] {
        (try? readFloatingPointState()) ?? []
    }

    /// Restores a state returned by `floatingPointState()`. A state the host refuses (wrong size, invalid
    /// MXCSR bits: it may come from an app's signal frame) puts the FP/SIMD registers into their initial
    /// state instead, so the app never continues with a half-applied or stale one.
    public func setFloatingPointState(_ state: [UInt8]) {
        guard let space = lastSpace else { return }
        do { try space.writeFloatingPointState(state) } catch { try? space.resetFloatingPointState() }
    }

    /// `floatingPointState()`, reporting why it failed.
    public func readFloatingPointState() throws -> [UInt8] {
        try lastRunSpace("reading the FP state").readFloatingPointState()
    }

    /// `setFloatingPointState(_:)`, reporting a refused state instead of resetting.
    public func writeFloatingPointState(_ state: [UInt8]) throws {
        try lastRunSpace("setting the FP state").writeFloatingPointState(state)
    }

    // MARK: - Helpers

    private func lastRunSpace(_ what: String) throws -> PtraceAddressSpace {
        guard let space = lastSpace else {
            throw PlatformError("ptrace platform: \(what): this context has not run an address space yet "
                                + "(or it was released)")
        }
        return space
    }

    private func lost(_ space: PtraceAddressSpace, _ why: String) -> PlatformEvent {
        .addressSpaceLost(space.markLost("ptrace stub \(space.stubPID): \(why)", reaped: false))
    }

    private static let faultSignals: Set<Int32> = [
        Signal.SIGSEGV.rawValue, Signal.SIGBUS.rawValue, Signal.SIGILL.rawValue, Signal.SIGFPE.rawValue,
        Signal.SIGTRAP.rawValue,
    ]

    /// Classifies a stop. The stop's signal is always suppressed: the next resume passes signal 0.
    private func event(for status: WaitStatus, pid: Int32, rip: UInt64) -> PlatformEvent {
        let signal = status.stopSignal
        if signal == PtraceRequest.syscallStopSignal && status.ptraceEvent == 0 { return .syscall }
        // The app called the legacy vsyscall page: the kernel's emulation asks seccomp, whose RET_TRACE stops
        // here with the syscall number in orig_rax and rip on the vsyscall entry. With orig_rax sent back as
        // -1 the kernel skips its own implementation and returns to the caller with our rax (rip unchanged).
        if signal == Signal.SIGTRAP.rawValue && status.ptraceEvent == PtraceRequest.eventSeccomp { return .syscall }
        if signal == PtraceContext.interruptSignal {
            // exchange, not store: it synchronizes with the interrupter's store, so whatever the interrupter
            // published before calling interrupt() is visible once we return.
            _ = interruptPending.exchange(false, ordering: .sequentiallyConsistent)
            return .interrupted
        }
        if PtraceContext.faultSignals.contains(signal), status.ptraceEvent == 0, let fault = faultInfo(pid, signal, rip) {
            return .fault(fault)
        }
        // Any other host signal (or one a process sent with kill, not raised by app code): nothing for the app.
        return .interrupted
    }

    /// The fault behind a signal-delivery stop, or nil if the signal was sent by a process (si_code <= 0)
    /// rather than raised by the CPU/kernel for app code.
    private func faultInfo(_ pid: Int32, _ signal: Int32, _ rip: UInt64) -> FaultInfo? {
        // siginfo_t is 128 bytes: si_signo, si_errno, si_code (ints), padding, then si_addr for faults.
        var info: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                   UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let e = withUnsafeMutablePointer(to: &info) {
            Host.ptrace(PtraceRequest.getSigInfo, pid, 0, UInt(bitPattern: $0))
        }
        guard e == 0 else { return nil }
        let code = Int32(truncatingIfNeeded: info.1)
        guard code > 0 else { return nil }
        let address = info.2
        // The page-fault error code is not exposed to tracers, so only an instruction fetch is recognisable:
        // a fetch fault reports rip itself (a data access at rip would have been fetched successfully first).
        let access: Access? = signal == Signal.SIGSEGV.rawValue && address == rip && address != 0 ? .execute : nil
        return FaultInfo(signal: signal, code: code, address: address, access: access)
    }
}
