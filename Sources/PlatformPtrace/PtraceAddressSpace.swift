// An app address space under the ptrace platform: one stub process whose only mappings are the stub region
// and the ranges of the MemoryFile that the Sentry injects into it with mmap/munmap/mprotect.
import CLinux
import Glibc
import LinuxABI
import Platform
import Synchronization

/// One app address space backed by a traced stub process.
///
/// Thread binding: the host thread that created it is the stub's tracer (ptrace is per thread), so every
/// method except `release()` and the read-only properties must be called on that thread, and only a
/// `PtraceContext` created on that same thread can switch to it. Calls from other threads are refused with
/// a `PlatformError`. `@unchecked Sendable` because the object may be stored in shared Sentry structures,
/// but its mutable state is only touched by that one thread (checked on every entry point).
public final class PtraceAddressSpace: AddressSpace, @unchecked Sendable {
    /// The stub's host pid (for diagnostics and /proc inspection).
    public let stubPID: Int32
    /// App mappings must lie in [minUserAddress, maxUserAddress).
    public let minUserAddress: UInt64
    public let maxUserAddress: UInt64
    /// The CPU the tracer thread and the stub are pinned to, or nil when pinning is off.
    public let cpu: Int?

    let region: StubRegion
    /// A pidfd of the stub, for interrupting it from other threads without a pid-reuse race.
    let pidfd: Int32
    private let pidfdError: Int32
    private let memoryFileFD: Int32
    private let owner: UInt  // ThreadToken of the creating thread
    private let ownerTID: Int32
    private let initial: Registers
    /// Why the stub can no longer run; nil while it can.
    private(set) var lostReason: String?
    /// Bumped whenever an injection overwrote the stub's registers, so that a Context knows its cached copy
    /// of what the kernel holds is stale.
    private(set) var registerEpoch: UInt64 = 0
    private var released = false
    /// Size of the XSAVE area once known; the first read uses a buffer larger than any.
    private var xstateSize = 32768
    /// The stub's CPU time as last read, and whether that is final (the stub is gone, its pid must not be
    /// read again). Read from any thread (clock_gettime, getrusage, CPU timers), hence the lock.
    private let cpuClock = Mutex<(user: UInt64, system: UInt64, final: Bool)>((0, 0, false))

    private static let setupSteps = [
        "", "PR_SET_PDEATHSIG", "the parent check (getppid)", "PTRACE_TRACEME",
        "unregistering the Sentry thread's rseq area", "close_range below the MemoryFile",
        "close_range above the MemoryFile", "munmap below the stub region", "munmap above the stub region",
        "PR_SET_NO_NEW_PRIVS", "installing the seccomp filter",
    ]

    private init(pid: Int32, region: StubRegion, memoryFileFD: Int32, minUserAddress: UInt64,
                 maxUserAddress: UInt64, cpu: Int?, initial: Registers) {
        self.stubPID = pid
        self.pidfd = Host.pidfdOpen(pid)
        self.pidfdError = pidfd < 0 ? clinux_errno() : 0
        self.region = region
        self.memoryFileFD = memoryFileFD
        self.minUserAddress = minUserAddress
        self.maxUserAddress = maxUserAddress
        self.cpu = cpu
        self.initial = initial
        self.owner = ThreadToken.current
        self.ownerTID = Host.gettid()
    }

    deinit { release() }

    /// Forks a stub, waits until it has dropped the Sentry's memory and descriptors and stopped, and makes
    /// the calling thread its tracer.
    static func create(region: StubRegion, memoryFileFD: Int32, minUserAddress: UInt64, maxUserAddress: UInt64,
                       cpu: Int?) throws -> PtraceAddressSpace {
        let spawned = region.spawn(memoryFileFD: memoryFileFD)
        guard spawned > 0 else {
            throw PlatformError("ptrace platform: cannot fork a stub process: \(Host.describe(errno: Int32(-spawned)))")
        }
        let pid = Int32(spawned)
        let initial = try awaitReady(pid, region)
        let space = PtraceAddressSpace(pid: pid, region: region, memoryFileFD: memoryFileFD,
                                       minUserAddress: minUserAddress, maxUserAddress: maxUserAddress, cpu: cpu,
                                       initial: initial)
        // From here on `space` owns the stub: a failure releases (kills and reaps) it in deinit.
        guard space.pidfd >= 0 else {
            throw PlatformError("ptrace platform: pidfd_open of stub \(pid) (needed to interrupt it): "
                                + Host.describe(errno: space.pidfdError))
        }
        try space.resetFloatingPointState()
        return space
    }

    /// Waits for the stub's ready stop and sets the ptrace options. Kills and reaps the stub on any failure.
    private static func awaitReady(_ pid: Int32, _ region: StubRegion) throws -> Registers {
        func fail(_ why: String, reaped: Bool = false) -> PlatformError {
            if !reaped { Host.killAndReap(pid) }
            return PlatformError("ptrace platform: stub process \(pid) failed to start: \(why)")
        }
        let (status, e) = Host.wait(pid)
        if e != 0 { throw fail("waitpid: \(Host.describe(errno: e))") }
        if status.isTerminated {
            throw fail("it \(status) before it was traced (PR_SET_PDEATHSIG, the parent check or PTRACE_TRACEME)",
                       reaped: true)
        }
        var regs = Registers()
        guard status.isStopped, Host.getRegisters(pid, &regs) == 0 else { throw fail("it \(status)") }
        if status.stopSignal == Signal.SIGILL.rawValue {
            let step = Int(regs.rbp)
            let name = step > 0 && step < setupSteps.count ? setupSteps[step] : "step \(step)"
            throw fail("\(name) failed: \(Host.describe(errno: Int32(truncatingIfNeeded: 0 &- Int64(bitPattern: regs.rax))))")
        }
        guard status.stopSignal == Signal.SIGTRAP.rawValue, regs.rip == region.syscallSite else {
            throw fail("it \(status) at 0x\(String(regs.rip, radix: 16)) instead of its ready point")
        }
        let options = PtraceRequest.optionExitKill | PtraceRequest.optionTraceSysGood | PtraceRequest.optionTraceSeccomp
        let oe = Host.ptrace(PtraceRequest.setOptions, pid, 0, options)
        if oe != 0 { throw fail("PTRACE_SETOPTIONS: \(Host.describe(errno: oe))") }
        return sanitizedInitialRegisters(regs)
    }

    /// The stub's registers at its ready stop hold the Sentry thread's values; keep only what a fresh app
    /// thread should inherit (segment selectors, a clean eflags), never a Sentry address.
    private static func sanitizedInitialRegisters(_ stub: Registers) -> Registers {
        var r = Registers()
        r.cs = stub.cs; r.ss = stub.ss; r.ds = stub.ds; r.es = stub.es; r.fs = stub.fs; r.gs = stub.gs
        // Drop TF, RF and the arithmetic flags; keeps IF and the always-one bit (0x202 on Linux).
        r.eflags = stub.eflags & ~UInt64(0x1_0000 | 0x100 | 0x8d5)
        r.origRax = UInt64.max
        return r
    }

    // MARK: - Public API

    /// Registers a new app thread in this address space should start from: valid cs/ss/ds/es/fs/gs and
    /// eflags, everything else zero. The Sentry sets rip, rsp and the rest.
    public func initialRegisters() -> Registers { initial }

    public func map(_ address: UInt64, length: UInt64, fileOffset: UInt64, protection: Protection) throws {
        let what = "mmap(address 0x\(hex(address)), length 0x\(hex(length)), fileOffset 0x\(hex(fileOffset)), "
            + "\(describe(protection))) in ptrace stub \(stubPID)"
        try checkRange(what, address, length)
        guard fileOffset % StubRegion.pageSize == 0 else {
            throw PlatformError("\(what): fileOffset is not page-aligned")
        }
        let result = try inject(SyscallNumber.mmap, [
            address, length, hostProtection(protection), UInt64(MemoryFlags.MAP_SHARED | MemoryFlags.MAP_FIXED),
            UInt64(UInt32(bitPattern: memoryFileFD)), fileOffset,
        ], what)
        try checkResult(what, result)
        guard result == address else {
            throw PlatformError("\(what): the host mapped it at 0x\(hex(result)) instead")
        }
    }

    public func unmap(_ address: UInt64, length: UInt64) throws {
        let what = "munmap(address 0x\(hex(address)), length 0x\(hex(length))) in ptrace stub \(stubPID)"
        try checkRange(what, address, length)
        try checkResult(what, try inject(SyscallNumber.munmap, [address, length], what))
    }

    public func protect(_ address: UInt64, length: UInt64, protection: Protection) throws {
        let what = "mprotect(address 0x\(hex(address)), length 0x\(hex(length)), \(describe(protection))) "
            + "in ptrace stub \(stubPID)"
        try checkRange(what, address, length)
        try checkResult(what, try inject(SyscallNumber.mprotect, [address, length, hostProtection(protection)], what))
    }

    /// Kills and reaps the stub. Idempotent; callable from any thread of the Sentry.
    public func release() {
        guard !released else { return }
        released = true
        finishCPUTime(readFirst: lostReason == nil)
        // A lost stub was already reaped (markLost); killing its pid again could hit a reused one.
        if lostReason == nil { Host.killAndReap(stubPID) }
        lostReason = "ptrace stub \(stubPID) was released"
        if pidfd >= 0 { close(pidfd) }
    }

    // MARK: - CPU time

    /// The stub's host CPU time: app code runs nowhere else. Callable from any thread; after release the
    /// last reading is the final total.
    public func cpuTime() -> (user: UInt64, system: UInt64)? {
        cpuClock.withLock { state in
            if !state.final { Self.readCPUTime(stubPID, into: &state) }
            return (state.user, state.system)
        }
    }

    /// Takes a last reading (while the stub is still unreaped) and stops reading its clocks.
    private func finishCPUTime(readFirst: Bool) {
        cpuClock.withLock { state in
            if readFirst && !state.final { Self.readCPUTime(stubPID, into: &state) }
            state.final = true
        }
    }

    /// Reads a process's CPU clocks: `(~pid << 3) | which` with which = PROF (user + system), VIRT (user),
    /// SCHED (precise total). Like Linux's cputime_adjust, the precise total is split in the ratio of the
    /// tick-sampled user and system times, and neither part ever goes backwards.
    private static func readCPUTime(_ pid: Int32, into state: inout (user: UInt64, system: UInt64, final: Bool)) {
        func read(_ which: Int32) -> UInt64? {
            var ts = timespec()
            guard clock_gettime(((~pid) << 3) | which, &ts) == 0 else { return nil }
            return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        }
        guard let total = read(2), let prof = read(0), let virt = read(1) else { return }
        var user = prof > 0 ? UInt64((Double(total) * Double(min(virt, prof)) / Double(prof)).rounded()) : total
        user = max(state.user, min(user, total))
        state.system = max(state.system, total > user ? total - user : 0)
        state.user = user
    }

    // MARK: - Used by PtraceContext (same thread)

    var isOwnedByCallingThread: Bool { owner == ThreadToken.current }

    /// Refuses use from another thread or after the stub is gone.
    func checkUsable(_ what: @autoclosure () -> String) throws {
        guard isOwnedByCallingThread else {
            throw PlatformError("\(what()): this address space belongs to host thread \(ownerTID) "
                                + "(its stub's tracer), not to thread \(Host.gettid())")
        }
        if let lostReason { throw PlatformError("\(what()): address space lost: \(lostReason)") }
    }

    /// Records that the stub is gone. `reaped`: waitpid already collected it; otherwise it is killed and
    /// reaped here (an unexpected ptrace failure leaves it in an unknown state, which we never run).
    @discardableResult
    func markLost(_ reason: String, reaped: Bool) -> String {
        if let lostReason { return lostReason }
        finishCPUTime(readFirst: !reaped)
        var reason = reason
        if !reaped, let status = Host.killAndReap(stubPID) {
            // A ptrace call failing with ESRCH usually means the stub was dying already: say how it ended.
            reason = "ptrace stub \(stubPID) \(status) (noticed as: \(reason))"
        }
        lostReason = reason
        return reason
    }

    /// Runs one syscall in the stub by single-stepping its `syscall` instruction; returns the raw result
    /// (a negative errno on failure). Leaves the stub's registers clobbered (see registerEpoch).
    func inject(_ number: Int, _ arguments: [UInt64], _ what: @autoclosure () -> String) throws -> UInt64 {
        try checkUsable(what())
        var regs = initial
        regs.rip = region.syscallSite
        regs.rax = UInt64(number)
        let a = arguments + [UInt64](repeating: 0, count: max(0, 6 - arguments.count))
        (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9) = (a[0], a[1], a[2], a[3], a[4], a[5])
        registerEpoch &+= 1
        func lose(_ why: String) -> PlatformError {
            PlatformError("\(what()): \(markLost("ptrace stub \(stubPID): \(why)", reaped: false))")
        }
        var e = Host.setRegisters(stubPID, &regs)
        if e != 0 { throw lose("PTRACE_SETREGS for an injected syscall: \(Host.describe(errno: e))") }
        // Bounded: a stub that keeps stopping for other reasons is broken, and we never spin on it.
        for _ in 0..<64 {
            e = Host.ptrace(PtraceRequest.singleStep, stubPID)
            if e != 0 { throw lose("PTRACE_SINGLESTEP: \(Host.describe(errno: e))") }
            let (status, we) = Host.wait(stubPID)
            if we != 0 { throw lose("waitpid: \(Host.describe(errno: we))") }
            if status.isTerminated {
                throw PlatformError("\(what()): \(markLost("ptrace stub \(stubPID) \(status)", reaped: true))")
            }
            let signal = status.stopSignal
            if signal == Signal.SIGTRAP.rawValue {
                e = Host.getRegisters(stubPID, &regs)
                if e != 0 { throw lose("PTRACE_GETREGS after an injected syscall: \(Host.describe(errno: e))") }
                if regs.rip == region.syscallSite + StubRegion.syscallLength { return regs.rax }
                // A SIGTRAP someone else sent arrived before the instruction ran: step again.
                if regs.rip == region.syscallSite { continue }
                throw lose("the injected syscall stopped at 0x\(hex(regs.rip)), not after the syscall instruction")
            }
            if PtraceAddressSpace.faultSignals.contains(signal) {
                throw lose("the injected syscall faulted with \(Signal(signal))")
            }
            // Any other stop is a signal that got there first (an interrupt's SIGSTOP that raced with the end
            // of a switchToApp); stepping on suppresses it, and the Context's pending flag keeps the interrupt.
        }
        throw lose("the injected syscall did not complete: the stub kept stopping for signals")
    }

    private static let faultSignals: Set<Int32> = [
        Signal.SIGSEGV.rawValue, Signal.SIGBUS.rawValue, Signal.SIGILL.rawValue, Signal.SIGFPE.rawValue,
    ]

    /// The XSAVE area (x87, SSE, AVX, ... in the user ABI layout of NT_X86_XSTATE) of the stub.
    func readFloatingPointState() throws -> [UInt8] {
        try checkUsable("reading the FP state of ptrace stub \(stubPID)")
        var buffer = [UInt8](repeating: 0, count: xstateSize)  // PTRACE_GETREGSET wants a multiple of 8
        let (e, length) = buffer.withUnsafeMutableBytes { raw -> (Int32, Int) in
            var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
            let e = withUnsafeMutablePointer(to: &vector) {
                Host.ptrace(PtraceRequest.getRegSet, stubPID, PtraceRequest.ntX86XState, UInt(bitPattern: $0))
            }
            return (e, vector.iov_len)
        }
        if e != 0 {
            throw PlatformError("PTRACE_GETREGSET(NT_X86_XSTATE) on ptrace stub \(stubPID): \(Host.describe(errno: e))")
        }
        if length < buffer.count {
            xstateSize = length
            buffer.removeLast(buffer.count - length)
        }
        return buffer
    }

    /// Replaces the stub's XSAVE area; `state` must be a full area as `readFloatingPointState()` returns it.
    func writeFloatingPointState(_ state: [UInt8]) throws {
        try checkUsable("setting the FP state of ptrace stub \(stubPID)")
        var copy = state
        let e = copy.withUnsafeMutableBytes { raw -> Int32 in
            var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
            return withUnsafeMutablePointer(to: &vector) {
                Host.ptrace(PtraceRequest.setRegSet, stubPID, PtraceRequest.ntX86XState, UInt(bitPattern: $0))
            }
        }
        if e != 0 {
            throw PlatformError("PTRACE_SETREGSET(NT_X86_XSTATE) with \(state.count) bytes on ptrace stub \(stubPID) "
                                + "(a full XSAVE area as read is required): "
                                + "\(Host.describe(errno: e))")
        }
    }

    /// A fork inherits the Sentry thread's x87/SSE/AVX registers, which may hold Sentry data; put every
    /// component in its initial state before any app code can read it (PKRU is left as inherited).
    func resetFloatingPointState() throws {
        var state = try readFloatingPointState()
        guard state.count >= 520 else {
            throw PlatformError("ptrace stub \(stubPID): the XSAVE area is only \(state.count) bytes")
        }
        for i in 0..<24 { state[i] = 0 }            // FCW FSW FTW FOP FIP FDP
        for i in 32..<416 { state[i] = 0 }          // ST0-7, XMM0-15
        state.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(0x037f), toByteOffset: 0, as: UInt16.self)   // FCW after FNINIT
            raw.storeBytes(of: UInt32(0x1f80), toByteOffset: 24, as: UInt32.self)  // MXCSR at reset
            let present = raw.load(fromByteOffset: 512, as: UInt64.self)
            raw.storeBytes(of: present & (0x3 | 1 << 9), toByteOffset: 512, as: UInt64.self)  // x87, SSE, PKRU
        }
        try writeFloatingPointState(state)
    }

    // MARK: - Helpers

    private func checkRange(_ what: String, _ address: UInt64, _ length: UInt64) throws {
        let (end, overflow) = address.addingReportingOverflow(length)
        let why: String
        if length == 0 { why = "length is zero" }
        else if address % StubRegion.pageSize != 0 || length % StubRegion.pageSize != 0 { why = "not page-aligned" }
        else if overflow || address < minUserAddress || end > maxUserAddress {
            why = "outside the app range [0x\(hex(minUserAddress)), 0x\(hex(maxUserAddress)))"
        } else { return }
        throw PlatformError("\(what): \(why)")
    }

    private func checkResult(_ what: String, _ result: UInt64) throws {
        let value = Int64(bitPattern: result)
        if value < 0 && value >= -4095 {
            throw PlatformError("\(what) failed: \(Host.describe(errno: Int32(-value)))")
        }
    }

    private func hostProtection(_ p: Protection) -> UInt64 {
        (p.contains(.read) ? UInt64(MemoryFlags.PROT_READ) : 0) | (p.contains(.write) ? UInt64(MemoryFlags.PROT_WRITE) : 0)
            | (p.contains(.execute) ? UInt64(MemoryFlags.PROT_EXEC) : 0)
    }

    private func describe(_ p: Protection) -> String {
        "prot " + (p.contains(.read) ? "r" : "-") + (p.contains(.write) ? "w" : "-") + (p.contains(.execute) ? "x" : "-")
    }
}

func hex(_ v: UInt64) -> String { String(v, radix: 16) }
