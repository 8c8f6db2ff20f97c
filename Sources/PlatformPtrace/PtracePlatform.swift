// The ptrace platform: app code runs in stub processes traced with PTRACE_SYSEMU, so the host never executes
// an app syscall. See docs/architecture.md and /work/shared/platforms.md for the why.
import CLinux
import Glibc
import Platform
import Synchronization

/// The ptrace platform.
///
/// Threads: ptrace is per thread, so an address space and a context belong to the host thread that created
/// them (see `PtraceAddressSpace`). By default that thread is pinned to one CPU (round robin over the CPUs
/// the creating thread of the platform may use) and its stubs inherit that CPU: a tracer and its tracee on
/// different CPUs pay a cross-CPU wakeup on every syscall (about 10x slower on our VMs).
///
/// What the rest of the Sentry must not do:
/// - reap children with waitpid(-1) (or any wait that could collect a stub's stops): stubs are traced
///   children, and their stops belong to the tracer thread;
/// - install a SIGCHLD handler without SA_NOCLDSTOP: every ptrace stop (one per app syscall) sends the
///   tracer's process a SIGCHLD, which would interrupt some Sentry thread each time;
/// - end a task's host thread while its address spaces are still needed: their stubs die with it
///   (PR_SET_PDEATHSIG and PTRACE_O_EXITKILL), which is what we want when the Sentry itself dies.
/// A seccomp allowlist of the Sentry must permit what a stub does before installing its own filter (it
/// inherits the Sentry's): clone (flags 0), prctl, getppid, ptrace, rseq, close_range, munmap, seccomp,
/// and for the tracer: ptrace, wait4, kill, pidfd_open, pidfd_send_signal, sched_{get,set}affinity,
/// rt_sigprocmask, mmap, mprotect.
public final class PtracePlatform: Platform, @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable or an atomic.
    public let name = "ptrace"
    public let minUserAddress: UInt64 = 0x10000
    /// The start of the stub region: app mappings must end at or below it.
    public let maxUserAddress: UInt64
    /// The MemoryFile every address space maps from. The platform does not own (close) it.
    public let memoryFileFD: Int32
    /// Whether creating an address space or context pins the calling thread to one CPU.
    public let pinsThreads: Bool
    /// [start, end) of the stub region, reserved in the Sentry and present at the same place in every stub.
    public var stubRegion: Range<UInt64> { region.start..<region.end }

    private let region: StubRegion
    private let cpus: [Int]
    private let nextCPU = Atomic<Int>(0)

    /// A platform mapping app memory from `memoryFileFD`, pinning each task thread to a CPU.
    public convenience init(memoryFileFD: Int32) throws {
        try self.init(memoryFileFD: memoryFileFD, pinThreads: true)
    }

    /// A platform mapping app memory from `memoryFileFD`; `pinThreads: false` leaves CPU placement to the host
    /// scheduler (for measurements and hosts where affinity is managed elsewhere).
    public init(memoryFileFD: Int32, pinThreads: Bool) throws {
        guard MemoryLayout<Registers>.size == 27 * 8, MemoryLayout<Registers>.alignment == 8 else {
            throw PlatformError("ptrace platform: Registers is \(MemoryLayout<Registers>.size) bytes, but "
                                + "PTRACE_GETREGS needs the 216-byte user_regs_struct layout")
        }
        guard memoryFileFD >= 0, fcntl(memoryFileFD, F_GETFD) != -1 else {
            throw PlatformError("ptrace platform: the memory file descriptor \(memoryFileFD) is not open")
        }
        self.memoryFileFD = memoryFileFD
        self.pinsThreads = pinThreads
        self.region = try StubRegion.reserve()
        self.maxUserAddress = region.start
        self.cpus = Affinity.get(0) ?? []
    }

    public func newAddressSpace() throws -> AddressSpace { try newPtraceAddressSpace() }

    public func newContext() throws -> Context { newPtraceContext() }

    /// Creates an empty address space whose stub the calling thread traces (and is pinned with).
    public func newPtraceAddressSpace() throws -> PtraceAddressSpace {
        let cpu = pinCallingThread()
        return try PtraceAddressSpace.create(region: region, memoryFileFD: memoryFileFD,
                                             minUserAddress: minUserAddress, maxUserAddress: maxUserAddress, cpu: cpu)
    }

    /// Creates the context of the calling thread (and pins it).
    public func newPtraceContext() -> PtraceContext {
        PtraceContext(cpu: pinCallingThread())
    }

    /// Pins the calling thread to one CPU unless pinning is off or it already runs on exactly one (then that
    /// one is kept, so a context and its address spaces agree). Stubs forked afterwards inherit the CPU.
    /// Returns the CPU, or nil if unpinned; a host refusal leaves the thread unpinned (slower, still correct).
    private func pinCallingThread() -> Int? {
        guard pinsThreads else { return nil }
        if let current = Affinity.get(0), current.count == 1 { return current[0] }
        guard !cpus.isEmpty else { return nil }
        let cpu = cpus[nextCPU.wrappingAdd(1, ordering: .relaxed).oldValue % cpus.count]
        return Affinity.pin(0, to: cpu) == 0 ? cpu : nil
    }
}
