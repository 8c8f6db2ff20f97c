// Signal numbers and signal-related constants of the x86-64 Linux ABI. Pure data.

/// A Linux signal number (1...64).
public struct Signal: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let SIGHUP = Signal(1), SIGINT = Signal(2), SIGQUIT = Signal(3), SIGILL = Signal(4)
    public static let SIGTRAP = Signal(5), SIGABRT = Signal(6), SIGBUS = Signal(7), SIGFPE = Signal(8)
    public static let SIGKILL = Signal(9), SIGUSR1 = Signal(10), SIGSEGV = Signal(11), SIGUSR2 = Signal(12)
    public static let SIGPIPE = Signal(13), SIGALRM = Signal(14), SIGTERM = Signal(15), SIGSTKFLT = Signal(16)
    public static let SIGCHLD = Signal(17), SIGCONT = Signal(18), SIGSTOP = Signal(19), SIGTSTP = Signal(20)
    public static let SIGTTIN = Signal(21), SIGTTOU = Signal(22), SIGURG = Signal(23), SIGXCPU = Signal(24)
    public static let SIGXFSZ = Signal(25), SIGVTALRM = Signal(26), SIGPROF = Signal(27), SIGWINCH = Signal(28)
    public static let SIGIO = Signal(29), SIGPWR = Signal(30), SIGSYS = Signal(31)
    public static let SIGRTMIN = Signal(32), SIGRTMAX = Signal(64)

    /// Valid signal numbers are 1...64.
    public var isValid: Bool { rawValue >= 1 && rawValue <= 64 }

    public static let names: [String] = [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE",
        "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ",
        "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    ]

    /// "SIGTERM", or "SIGRTMIN+3" for real-time signals.
    public var description: String {
        if rawValue >= 1 && rawValue < 32 { return "SIG" + Signal.names[Int(rawValue)] }
        if rawValue == 32 { return "SIGRTMIN" }
        if rawValue > 32 && rawValue <= 64 { return "SIGRTMIN+\(rawValue - 32)" }
        return "signal \(rawValue)"
    }

    /// Parses "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2". Returns nil for anything else.
    public static func parse(_ text: String) -> Signal? {
        if let n = Int32(text) { let s = Signal(n); return s.isValid ? s : nil }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        if let i = names.firstIndex(of: name), i > 0 { return Signal(Int32(i)) }
        if name == "RTMIN" { return .SIGRTMIN }
        if name == "RTMAX" { return .SIGRTMAX }
        if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), k >= 0, 32 + k <= 64 { return Signal(32 + k) }
        if name.hasPrefix("RTMAX-"), let k = Int32(name.dropFirst(6)), k >= 0, 64 - k >= 32 { return Signal(64 - k) }
        return nil
    }

    /// What happens by default when this signal is delivered with SIG_DFL.
    public enum DefaultAction: Sendable { case terminate, coreDump, ignore, stop, `continue` }

    public var defaultAction: DefaultAction {
        switch rawValue {
        case 3, 4, 5, 6, 7, 8, 11, 24, 25, 31: return .coreDump
        case 17, 23, 28: return .ignore
        case 19, 20, 21, 22: return .stop
        case 18: return .continue
        default: return .terminate
        }
    }
}

/// A set of signals as the kernel's 64-bit sigset_t: bit (n-1) is signal n.
public struct SignalSet: Hashable, Sendable {
    public var bits: UInt64
    public init(bits: UInt64 = 0) { self.bits = bits }
    public func contains(_ s: Signal) -> Bool { bits & (1 << UInt64(s.rawValue - 1)) != 0 }
    public mutating func insert(_ s: Signal) { bits |= 1 << UInt64(s.rawValue - 1) }
    public mutating func remove(_ s: Signal) { bits &= ~(1 << UInt64(s.rawValue - 1)) }
    /// SIGKILL and SIGSTOP can never be blocked.
    public static let unblockable = SignalSet(bits: (1 << 8) | (1 << 18))
}

public enum SignalConstants {
    public static let SIG_DFL: UInt64 = 0
    public static let SIG_IGN: UInt64 = 1
    public static let SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2
    public static let SA_NOCLDSTOP: UInt64 = 0x1, SA_NOCLDWAIT: UInt64 = 0x2, SA_SIGINFO: UInt64 = 0x4
    public static let SA_RESTORER: UInt64 = 0x0400_0000, SA_ONSTACK: UInt64 = 0x0800_0000
    public static let SA_RESTART: UInt64 = 0x1000_0000, SA_NODEFER: UInt64 = 0x4000_0000
    public static let SA_RESETHAND: UInt64 = 0x8000_0000
}
