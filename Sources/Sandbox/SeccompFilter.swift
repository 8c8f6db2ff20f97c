// Installs a SeccompPolicy with libseccomp, for every thread of the process (TSYNC).
import CSeccomp
import Glibc

/// The file descriptor the SIGSYS reporter writes to (set once before the filter is installed).
nonisolated(unsafe) private var seccompReportFD: Int32 = 2

public enum SeccompFilter {
    // libseccomp's action values (its SCMP_ACT_* macros take arguments, so Swift cannot import them).
    static let actionKillProcess: UInt32 = 0x8000_0000
    static let actionTrap: UInt32 = 0x0003_0000
    static let actionAllow: UInt32 = 0x7fff_0000
    static func actionErrno(_ code: Int32) -> UInt32 { 0x0005_0000 | (UInt32(code) & 0xffff) }

    /// Names in `rules` that libseccomp does not know on this architecture (must be empty).
    public static func unknownNames(_ rules: [SeccompRule]) -> [String] {
        rules.map(\.name).filter { seccomp_syscall_resolve_name($0) < 0 }
    }

    /// Installs `rules`. With `trapUnknown`, a syscall outside the list is reported (number and name) on
    /// `reportFD` and the process exits with 159 instead of being killed silently.
    /// Returns the number of rules installed.
    @discardableResult
    public static func install(_ rules: [SeccompRule], trapUnknown: Bool, reportFD: Int32) throws(RuntimeError) -> Int {
        guard let context = seccomp_init(trapUnknown ? actionTrap : actionKillProcess) else {
            throw RuntimeError("seccomp: cannot initialize libseccomp")
        }
        defer { seccomp_release(context) }
        // Every thread (the control thread exists already) gets the filter, not only the caller.
        if seccomp_attr_set(context, SCMP_FLTATR_CTL_TSYNC, 1) != 0 {
            throw RuntimeError("seccomp: this kernel cannot apply a filter to all threads (TSYNC)")
        }
        for rule in rules {
            let number = seccomp_syscall_resolve_name(rule.name)
            if number < 0 { throw RuntimeError("seccomp: unknown syscall name \"\(rule.name)\" in the allowlist") }
            let action: UInt32
            switch rule.action {
            case .allow: action = actionAllow
            case .errno(let code): action = actionErrno(code)
            }
            let comparisons = rule.conditions.map { condition in
                if let mask = condition.mask {
                    return scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_MASKED_EQ, datum_a: mask, datum_b: condition.value)
                }
                return scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_EQ, datum_a: condition.value, datum_b: 0)
            }
            let rc = comparisons.withUnsafeBufferPointer {
                seccomp_rule_add_array(context, action, number, UInt32($0.count), $0.baseAddress)
            }
            if rc != 0 { throw RuntimeError("seccomp: cannot add rule for \(rule.name): \(String(cString: strerror(-rc)))") }
        }
        if trapUnknown {
            seccompReportFD = reportFD
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { _, info, _ in
                reportBlockedSyscall(info.map { Int($0.pointee._sifields._sigsys._syscall) } ?? -1)
            }
            action.sa_flags = SA_SIGINFO
            sigaction(SIGSYS, &action, nil)
        }
        let rc = seccomp_load(context)
        if rc != 0 { throw RuntimeError("seccomp: cannot load the filter: \(String(cString: strerror(-rc)))") }
        return rules.count
    }
}

/// Runs in a SIGSYS handler: only async-signal-safe work (no allocation): format the number, write, exit.
private func reportBlockedSyscall(_ number: Int) {
    let prefix: StaticString = "runsc boot: seccomp: the Sentry made host syscall "
    let suffix: StaticString = " which is not in its allowlist (Sources/Sandbox/SeccompPolicy.swift)\n"
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &digits) { buffer in
        var value = number < 0 ? 0 : number
        var start = buffer.count
        repeat {
            start -= 1
            buffer[start] = UInt8(48 + value % 10)
            value /= 10
        } while value > 0 && start > 0
        func report(to fd: Int32) {
            _ = write(fd, prefix.utf8Start, prefix.utf8CodeUnitCount)
            _ = write(fd, buffer.baseAddress! + start, buffer.count - start)
            _ = write(fd, suffix.utf8Start, suffix.utf8CodeUnitCount)
        }
        let reportFD = seccompReportFD
        if reportFD >= 0 { report(to: reportFD) }
        if reportFD != 2 { report(to: 2) }
    }
    _exit(128 + SIGSYS)
}
