// The seam between the Sentry and the mechanism that runs app code (ptrace stubs, KVM vCPUs).
// Protocols and plain data only: no Linux semantics live here.

/// Registers of one app thread, laid out exactly as the kernel's x86-64 `user_regs_struct`
/// (so the ptrace platform can hand a pointer to it to PTRACE_GETREGS/SETREGS).
public struct Registers: Sendable, Equatable {
    public var r15: UInt64 = 0, r14: UInt64 = 0, r13: UInt64 = 0, r12: UInt64 = 0
    public var rbp: UInt64 = 0, rbx: UInt64 = 0, r11: UInt64 = 0, r10: UInt64 = 0
    public var r9: UInt64 = 0, r8: UInt64 = 0, rax: UInt64 = 0, rcx: UInt64 = 0
    public var rdx: UInt64 = 0, rsi: UInt64 = 0, rdi: UInt64 = 0, origRax: UInt64 = 0
    public var rip: UInt64 = 0, cs: UInt64 = 0, eflags: UInt64 = 0, rsp: UInt64 = 0
    public var ss: UInt64 = 0, fsBase: UInt64 = 0, gsBase: UInt64 = 0
    public var ds: UInt64 = 0, es: UInt64 = 0, fs: UInt64 = 0, gs: UInt64 = 0

    public init() {}

    /// The six syscall arguments in ABI order (rdi, rsi, rdx, r10, r8, r9).
    public var syscallArguments: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
        (rdi, rsi, rdx, r10, r8, r9)
    }
}

/// Page protection of a mapping.
public struct Protection: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = Protection(rawValue: 1)
    public static let write = Protection(rawValue: 2)
    public static let execute = Protection(rawValue: 4)
    public static let none: Protection = []
}

/// The kind of memory access that faulted.
public enum Access: Sendable, Equatable { case read, write, execute }

/// A synchronous fault or trap raised by app code (page fault, invalid opcode, divide error, int3, ...).
public struct FaultInfo: Sendable, Equatable {
    /// The Linux signal the fault maps to (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP).
    public var signal: Int32
    /// si_code as the host kernel reported it (e.g. SEGV_MAPERR, SEGV_ACCERR).
    public var code: Int32
    /// si_addr: the faulting address for memory faults, the instruction for others.
    public var address: UInt64
    /// The access that faulted, when the platform knows it (page faults only).
    public var access: Access?

    public init(signal: Int32, code: Int32, address: UInt64, access: Access?) {
        self.signal = signal; self.code = code; self.address = address; self.access = access
    }
}

/// Why `Context.switchToApp` returned.
public enum PlatformEvent: Sendable, Equatable {
    /// The app executed `syscall`; the number is in `origRax`, arguments in the registers. The platform has
    /// not run it. Write the result into `rax` before switching back.
    case syscall
    /// App code faulted; the Sentry either maps memory and retries or delivers the signal.
    case fault(FaultInfo)
    /// `interrupt()` was called (or an unrelated host signal arrived); nothing happened to the app.
    case interrupted
    /// The address space can no longer run (its host process died); the task must exit.
    case addressSpaceLost(String)
}

/// Errors a platform reports to the Sentry.
public struct PlatformError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An app address space. The Sentry's MemoryManager owns the VMAs; an AddressSpace only mirrors them by
/// mapping ranges of the sandbox's MemoryFile (`fileOffset` is an offset into that memfd).
/// A ptrace address space may only be used from the host thread that created it.
public protocol AddressSpace: AnyObject {
    func map(_ address: UInt64, length: UInt64, fileOffset: UInt64, protection: Protection) throws
    func unmap(_ address: UInt64, length: UInt64) throws
    func protect(_ address: UInt64, length: UInt64, protection: Protection) throws
    /// Ends the address space; it cannot be used afterwards.
    func release()
    /// CPU time app code has used in this address space so far, in host nanoseconds (user, system), or nil
    /// when the platform cannot tell. Callable from any thread, also after `release()` (the final total).
    func cpuTime() -> (user: UInt64, system: UInt64)?
}

extension AddressSpace {
    public func cpuTime() -> (user: UInt64, system: UInt64)? { nil }
}

/// The execution context of one app thread, bound to the host thread that created it.
public protocol Context: AnyObject {
    /// Runs app code in `addressSpace` with `registers` until the next event; `registers` then hold the
    /// app's state at that event.
    func switchToApp(_ addressSpace: AddressSpace, _ registers: inout Registers) -> PlatformEvent
    /// Callable from any thread: makes a running or future `switchToApp` return `.interrupted` soon.
    func interrupt()
    /// Ends the context (its host-side resources); called on the owning thread.
    func release()
    /// The FP/SIMD state (XSAVE area) of the app thread this context last ran; opaque to the Sentry, which
    /// saves it across signal handlers. Empty if the platform cannot read it.
    func floatingPointState() -> [UInt8]
    /// Restores a state returned by `floatingPointState()`.
    func setFloatingPointState(_ state: [UInt8])
}

/// A mechanism for running app code.
public protocol Platform: AnyObject {
    /// A short name: "ptrace", "kvm".
    var name: String { get }
    /// App mappings must lie in [minUserAddress, maxUserAddress): the platform reserves what is above.
    var minUserAddress: UInt64 { get }
    var maxUserAddress: UInt64 { get }
    /// Creates an empty address space. Call it on the host thread that will run it.
    func newAddressSpace() throws -> AddressSpace
    /// Creates an execution context for the calling host thread.
    func newContext() throws -> Context
}
