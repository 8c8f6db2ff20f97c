// The app's limits from the spec, checked at create: process.capabilities as bit sets and linux.seccomp as
// an AppSeccompProfile with syscall numbers (the Sentry compiles it into the filter it runs for the app).
// Every problem names its field: "config.json: linux.seccomp.syscalls[3].action: ...".
import LinuxABI
import OCI
import Sentry

enum AppLimitsPlan {
    /// process.capabilities → bit sets; an unknown name is an error.
    static func capabilities(_ caps: Capabilities) throws(RuntimeError) -> AppCapabilities {
        func set(_ names: [String]?, _ field: String) throws(RuntimeError) -> UInt64 {
            var bits: UInt64 = 0
            for (i, name) in (names ?? []).enumerated() {
                guard let n = Capability.number(name) else {
                    throw RuntimeError("config.json: process.capabilities.\(field)[\(i)]: unknown capability \"\(name)\" "
                                       + "(expected a name such as CAP_CHOWN, up to \(Capability.names[Capability.lastCapability]))")
                }
                bits |= 1 << UInt64(n)
            }
            return bits
        }
        return AppCapabilities(bounding: try set(caps.bounding, "bounding"), effective: try set(caps.effective, "effective"),
                               permitted: try set(caps.permitted, "permitted"), inheritable: try set(caps.inheritable, "inheritable"),
                               ambient: try set(caps.ambient, "ambient"))
    }

    static let actions: [String: UInt32] = [
        "SCMP_ACT_KILL": SeccompABI.SECCOMP_RET_KILL_THREAD, "SCMP_ACT_KILL_THREAD": SeccompABI.SECCOMP_RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": SeccompABI.SECCOMP_RET_KILL_PROCESS, "SCMP_ACT_TRAP": SeccompABI.SECCOMP_RET_TRAP,
        "SCMP_ACT_ERRNO": SeccompABI.SECCOMP_RET_ERRNO, "SCMP_ACT_TRACE": SeccompABI.SECCOMP_RET_TRACE,
        "SCMP_ACT_ALLOW": SeccompABI.SECCOMP_RET_ALLOW, "SCMP_ACT_LOG": SeccompABI.SECCOMP_RET_LOG,
        "SCMP_ACT_NOTIFY": SeccompABI.SECCOMP_RET_USER_NOTIF,
    ]
    /// libseccomp's architecture names; only x86 ones matter here (the app's syscalls are x86-64).
    static let architectures: [String: UInt32?] = [
        "SCMP_ARCH_X86_64": SeccompABI.AUDIT_ARCH_X86_64, "SCMP_ARCH_X86": SeccompABI.AUDIT_ARCH_I386, "SCMP_ARCH_X32": nil,
        "SCMP_ARCH_ARM": nil, "SCMP_ARCH_AARCH64": nil, "SCMP_ARCH_MIPS": nil, "SCMP_ARCH_MIPS64": nil,
        "SCMP_ARCH_MIPS64N32": nil, "SCMP_ARCH_MIPSEL": nil, "SCMP_ARCH_MIPSEL64": nil, "SCMP_ARCH_MIPSEL64N32": nil,
        "SCMP_ARCH_PPC": nil, "SCMP_ARCH_PPC64": nil, "SCMP_ARCH_PPC64LE": nil, "SCMP_ARCH_S390": nil,
        "SCMP_ARCH_S390X": nil, "SCMP_ARCH_PARISC": nil, "SCMP_ARCH_PARISC64": nil, "SCMP_ARCH_RISCV64": nil,
        "SCMP_ARCH_LOONGARCH64": nil, "SCMP_ARCH_M68K": nil, "SCMP_ARCH_SH": nil, "SCMP_ARCH_SHEB": nil,
    ]
    static let flags: Set<String> = ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                     "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]

    /// linux.seccomp → a profile, and the syscall names it skipped because this ABI has no such syscall
    /// (libseccomp-based runtimes skip them too). nil for `null`.
    static func seccomp(_ value: JSONValue) throws(RuntimeError) -> (AppSeccompProfile, skipped: [String])? {
        let root = "config.json: linux.seccomp"
        func fail(_ field: String, _ problem: String) -> RuntimeError { RuntimeError("\(root)\(field): \(problem)") }
        if case .null = value { return nil }
        guard case .object(let o) = value else { throw fail("", "expected an object, got \(value.typeName)") }
        func string(_ v: JSONValue?, _ field: String) throws(RuntimeError) -> String {
            guard case .string(let s)? = v else { throw fail(field, "expected a string, got \(v?.typeName ?? "nothing")") }
            return s
        }
        func number(_ v: JSONValue?, _ field: String, max: UInt64 = .max) throws(RuntimeError) -> UInt64 {
            let n: UInt64
            switch v {
            case .integer(let i)? where i >= 0: n = UInt64(i)
            case .unsigned(let u)?: n = u
            default: throw fail(field, "expected a non-negative integer, got \(v.map { "\($0)" } ?? "nothing")")
            }
            guard n <= max else { throw fail(field, "must be at most \(max), got \(n)") }
            return n
        }
        func strings(_ v: JSONValue?, _ field: String) throws(RuntimeError) -> [String] {
            guard let v else { return [] }
            if case .null = v { return [] }
            guard case .array(let a) = v else { throw fail(field, "expected an array of strings, got \(v.typeName)") }
            var out: [String] = []
            for (i, e) in a.enumerated() { out.append(try string(e, "\(field)[\(i)]")) }
            return out
        }
        func action(_ v: JSONValue?, errno: JSONValue?, _ field: String, errnoField: String) throws(RuntimeError) -> UInt32 {
            let name = try string(v, field)
            guard let base = actions[name] else {
                throw fail(field, "unknown action \"\(name)\" (expected one of \(actions.keys.sorted().joined(separator: ", ")))")
            }
            guard base == SeccompABI.SECCOMP_RET_ERRNO || base == SeccompABI.SECCOMP_RET_TRACE else { return base }
            // runc's default data for ERRNO and TRACE is EPERM.
            let data = errno == nil || errno == .null ? UInt64(Errno.EPERM.rawValue) : try number(errno, errnoField, max: 0xffff)
            return base | UInt32(data)
        }

        let defaultAction = try action(o["defaultAction"], errno: o["defaultErrnoRet"], ".defaultAction", errnoField: ".defaultErrnoRet")
        var archs: [UInt32] = []
        for (i, name) in try strings(o["architectures"], ".architectures").enumerated() {
            guard let arch = architectures[name] else { throw fail(".architectures[\(i)]", "unknown architecture \"\(name)\"") }
            if let arch { archs.append(arch) }
        }
        var logActions = false
        for (i, flag) in try strings(o["flags"], ".flags").enumerated() {
            guard flags.contains(flag) else {
                throw fail(".flags[\(i)]", "unknown flag \"\(flag)\" (expected one of \(flags.sorted().joined(separator: ", ")))")
            }
            if flag == "SECCOMP_FILTER_FLAG_LOG" { logActions = true }
        }
        var rules: [AppSeccompProfile.Rule] = []
        var skipped: [String] = []
        let syscalls: [JSONValue]
        switch o["syscalls"] {
        case nil, .null?: syscalls = []
        case .array(let a)?: syscalls = a
        case let other?: throw fail(".syscalls", "expected an array, got \(other.typeName)")
        }
        for (i, entry) in syscalls.enumerated() {
            let field = ".syscalls[\(i)]"
            guard case .object(let s) = entry else { throw fail(field, "expected an object, got \(entry.typeName)") }
            let names = try strings(s["names"], field + ".names")
            guard !names.isEmpty else { throw fail(field + ".names", "must name at least one syscall") }
            let act = try action(s["action"], errno: s["errnoRet"], field + ".action", errnoField: field + ".errnoRet")
            var conditions: [AppSeccompProfile.Condition] = []
            let args: [JSONValue]
            switch s["args"] {
            case nil, .null?: args = []
            case .array(let a)?: args = a
            case let other?: throw fail(field + ".args", "expected an array, got \(other.typeName)")
            }
            for (j, arg) in args.enumerated() {
                let af = "\(field).args[\(j)]"
                guard case .object(let c) = arg else { throw fail(af, "expected an object, got \(arg.typeName)") }
                let index = try number(c["index"], af + ".index", max: 5)
                let value = try number(c["value"], af + ".value")
                let valueTwo = c["valueTwo"] == nil || c["valueTwo"] == .null ? 0 : try number(c["valueTwo"], af + ".valueTwo")
                let opName = try string(c["op"], af + ".op")
                guard let op = AppSeccompProfile.Operator(rawValue: opName) else {
                    let known = AppSeccompProfile.Operator.allCases.map(\.rawValue).joined(separator: ", ")
                    throw fail(af + ".op", "unknown operator \"\(opName)\" (expected one of \(known))")
                }
                conditions.append(AppSeccompProfile.Condition(index: Int(index), value: value, valueTwo: valueTwo, op: op))
            }
            // Several conditions on one argument cannot all hold in libseccomp; runc then adds each condition
            // as a rule of its own (any may match). Conditions on distinct arguments must all hold.
            let indices = conditions.map(\.index)
            let groups = Set(indices).count == indices.count ? [conditions] : conditions.map { [$0] }
            for name in names {
                guard let nr = syscallNames.firstIndex(of: name), !name.isEmpty else {
                    if !skipped.contains(name) { skipped.append(name) }
                    continue
                }
                for g in groups { rules.append(AppSeccompProfile.Rule(syscall: nr, action: act, conditions: g)) }
            }
        }
        return (AppSeccompProfile(defaultAction: defaultAction, rules: rules, architectures: archs, logActions: logActions), skipped)
    }
}
