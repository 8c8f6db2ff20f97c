// The spec's linux.seccomp as the Sentry receives it (syscall numbers, actions as filter return values),
// compiled into one classic-BPF program that gives what libseccomp's filter gives under runc:
// architecture check, then per syscall its conditional rules (in order) and its unconditional rule,
// else the default action.
import LinuxABI

/// A container's seccomp profile, checked and with syscall names resolved (Sandbox does that).
public struct AppSeccompProfile: Sendable, Equatable {
    /// An argument comparison of libseccomp (SCMP_CMP_*), on the full 64-bit argument.
    public enum Operator: String, Sendable, Equatable, CaseIterable {
        case notEqual = "SCMP_CMP_NE", lessThan = "SCMP_CMP_LT", lessOrEqual = "SCMP_CMP_LE"
        case equal = "SCMP_CMP_EQ", greaterOrEqual = "SCMP_CMP_GE", greaterThan = "SCMP_CMP_GT"
        case maskedEqual = "SCMP_CMP_MASKED_EQ"
    }

    public struct Condition: Sendable, Equatable {
        public var index: Int
        public var value: UInt64
        /// For maskedEqual: (argument & value) == valueTwo.
        public var valueTwo: UInt64
        public var op: Operator
        public init(index: Int, value: UInt64, valueTwo: UInt64 = 0, op: Operator) {
            self.index = index; self.value = value; self.valueTwo = valueTwo; self.op = op
        }
    }

    /// What one syscall number gets when all `conditions` hold (none: always).
    public struct Rule: Sendable, Equatable {
        public var syscall: Int
        /// A filter return value (SECCOMP_RET_* | data).
        public var action: UInt32
        public var conditions: [Condition]
        public init(syscall: Int, action: UInt32, conditions: [Condition] = []) {
            self.syscall = syscall; self.action = action; self.conditions = conditions
        }
    }

    public var defaultAction: UInt32
    public var rules: [Rule]
    /// Architectures the profile names (AUDIT_ARCH_*); the app's syscalls are always x86-64 ones.
    public var architectures: [UInt32]
    /// SECCOMP_FILTER_FLAG_LOG from the profile's flags.
    public var logActions: Bool

    public init(defaultAction: UInt32, rules: [Rule] = [], architectures: [UInt32] = [], logActions: Bool = false) {
        self.defaultAction = defaultAction; self.rules = rules; self.architectures = architectures
        self.logActions = logActions
    }
}

/// Turns a profile into a program (no jumps past 255 instructions: long skips use BPF_JA).
enum AppSeccompCompiler {
    static func compile(_ profile: AppSeccompProfile) throws -> BPFProgram {
        var code: [BPFInstruction] = []
        func emit(_ c: UInt16, _ jt: UInt8 = 0, _ jf: UInt8 = 0, k: UInt32 = 0) { code.append(BPFInstruction(code: c, jt: jt, jf: jf, k: k)) }
        let ldAbs = BPFOp.ld | BPFOp.w | BPFOp.abs, ret = BPFOp.ret | BPFOp.k
        let killThread = SeccompABI.SECCOMP_RET_KILL_THREAD
        // Another architecture: the 32-bit ABI (int 0x80) is refused by the Sentry with ENOSYS anyway, so a
        // profile that lists it lets it through to that answer; otherwise libseccomp's bad-arch action.
        let listsI386 = profile.architectures.contains(SeccompABI.AUDIT_ARCH_I386)
        emit(ldAbs, k: 4)
        emit(BPFOp.jmp | BPFOp.jeq | BPFOp.k, 1, 0, k: SeccompABI.AUDIT_ARCH_X86_64)
        emit(ret, k: listsI386 ? SeccompABI.SECCOMP_RET_ALLOW : killThread)
        emit(ldAbs, k: 0)
        // x32 numbers (never served by the Sentry): the default action.
        emit(BPFOp.jmp | BPFOp.jge | BPFOp.k, 0, 1, k: SeccompABI.X32_SYSCALL_BIT)
        emit(ret, k: profile.defaultAction)

        // Rules grouped by number, keeping their order; rules equal to the default change nothing.
        var order: [Int] = []
        var bySyscall: [Int: [AppSeccompProfile.Rule]] = [:]
        for rule in profile.rules where !(rule.action == profile.defaultAction && rule.conditions.isEmpty) {
            if bySyscall[rule.syscall] == nil { order.append(rule.syscall) }
            bySyscall[rule.syscall, default: []].append(rule)
        }
        for nr in order.sorted() {
            let rules = bySyscall[nr] ?? []
            let conditional = rules.filter { !$0.conditions.isEmpty }
            let unconditional = rules.first { $0.conditions.isEmpty }
            if conditional.isEmpty, let rule = unconditional {
                emit(BPFOp.jmp | BPFOp.jeq | BPFOp.k, 0, 1, k: UInt32(nr))
                emit(ret, k: rule.action)
                continue
            }
            // nr (still in A) matches: into the block; else jump over it.
            emit(BPFOp.jmp | BPFOp.jeq | BPFOp.k, 1, 0, k: UInt32(nr))
            let skip = code.count
            emit(BPFOp.jmp | BPFOp.ja)
            for rule in conditional { emitRule(rule, into: &code) }
            emit(ret, k: unconditional?.action ?? profile.defaultAction)
            code[skip].k = UInt32(code.count - skip - 1)  // A still holds the number there
        }
        emit(ret, k: profile.defaultAction)
        guard code.count <= BPFOp.maxInstructions else {
            throw SentryError("linux.seccomp: the profile compiles to \(code.count) BPF instructions, more than the "
                              + "\(BPFOp.maxInstructions) a filter may have")
        }
        do { return try BPFProgram(validating: code) } catch {
            throw SentryError("linux.seccomp: the compiled filter was refused (\(error)): this is a bug")
        }
    }

    /// One rule: its conditions in turn (each jumps to the rule's end when it fails), then its action.
    private static func emitRule(_ rule: AppSeccompProfile.Rule, into code: inout [BPFInstruction]) {
        var failJumps: [(index: Int, isTrue: Bool)] = []
        func emit(_ c: UInt16, _ k: UInt32 = 0) { code.append(BPFInstruction(code: c, jt: 0, jf: 0, k: k)) }
        let jeq = BPFOp.jmp | BPFOp.jeq | BPFOp.k, jgt = BPFOp.jmp | BPFOp.jgt | BPFOp.k, jge = BPFOp.jmp | BPFOp.jge | BPFOp.k
        // A comparison whose true/false branches are "pass" (go on), "fail" (to the rule's end) or a skip
        // of `n` instructions within the condition.
        enum Branch { case next, fail, skip(UInt8) }
        func compare(_ op: UInt16, _ k: UInt32, _ onTrue: Branch, _ onFalse: Branch) {
            let at = code.count
            var insn = BPFInstruction(code: op, jt: 0, jf: 0, k: k)
            switch onTrue { case .next: break; case .skip(let n): insn.jt = n; case .fail: failJumps.append((at, true)) }
            switch onFalse { case .next: break; case .skip(let n): insn.jf = n; case .fail: failJumps.append((at, false)) }
            code.append(insn)
        }
        for c in rule.conditions {
            let lo = UInt32(16 + 8 * c.index), hi = lo + 4
            let vlo = UInt32(truncatingIfNeeded: c.value), vhi = UInt32(truncatingIfNeeded: c.value >> 32)
            let ld = BPFOp.ld | BPFOp.w | BPFOp.abs
            switch c.op {
            case .equal:
                emit(ld, hi); compare(jeq, vhi, .next, .fail)
                emit(ld, lo); compare(jeq, vlo, .next, .fail)
            case .notEqual:
                emit(ld, hi); compare(jeq, vhi, .next, .skip(2))  // high words differ: pass
                emit(ld, lo); compare(jeq, vlo, .fail, .next)
            case .maskedEqual:
                let mlo = vlo, mhi = vhi
                let wlo = UInt32(truncatingIfNeeded: c.valueTwo), whi = UInt32(truncatingIfNeeded: c.valueTwo >> 32)
                emit(ld, hi); emit(BPFOp.alu | BPFOp.and | BPFOp.k, mhi); compare(jeq, whi, .next, .fail)
                emit(ld, lo); emit(BPFOp.alu | BPFOp.and | BPFOp.k, mlo); compare(jeq, wlo, .next, .fail)
            case .greaterThan, .greaterOrEqual:
                // high > v.high passes, high < v.high fails, equal highs compare the low words.
                emit(ld, hi); compare(jgt, vhi, .skip(3), .next); compare(jeq, vhi, .next, .fail)
                emit(ld, lo); compare(c.op == .greaterThan ? jgt : jge, vlo, .next, .fail)
            case .lessThan, .lessOrEqual:
                emit(ld, hi); compare(jgt, vhi, .fail, .next); compare(jeq, vhi, .next, .skip(2))
                emit(ld, lo); compare(c.op == .lessThan ? jge : jgt, vlo, .fail, .next)
            }
        }
        emit(BPFOp.ret | BPFOp.k, rule.action)
        // Failing conditions land on the instruction after the action: the next rule, or the block's end.
        let end = code.count
        for (i, isTrue) in failJumps {
            let offset = UInt8(end - i - 1)  // at most 6 conditions of 7 instructions: always < 256
            if isTrue { code[i].jt = offset } else { code[i].jf = offset }
        }
    }
}
