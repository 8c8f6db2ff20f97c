// The namespaced sysctls the Sentry models (`linux.sysctl` in the spec, shown under /proc/sys): the limits
// of the sandbox's one IPC namespace. They are fixed at boot; the System V and POSIX IPC syscalls read them
// here, so a spec's `kernel.shmmax` is both what /proc/sys/kernel/shmmax shows and what shmget enforces.
import LinuxABI

/// The sysctl keys the Sentry models, their defaults (Linux's, or the Sentry's own limits where those differ)
/// and how values are parsed. Public so `create` can check a spec with the same rules the boot applies.
public enum SysctlModel {
    /// Key → default value(s). kernel.sem holds four numbers: SEMMSL, SEMMNS, SEMOPM, SEMMNI.
    public static let defaults: [String: [UInt64]] = [
        "kernel.shmmax": [ShmABI.SHMMAX],
        "kernel.shmall": [ShmABI.SHMMAX >> 12],
        "kernel.shmmni": [UInt64(ShmABI.SHMMNI)],
        "kernel.shm_rmid_forced": [0],
        "kernel.msgmax": [UInt64(MsgABI.MSGMAX)],
        "kernel.msgmnb": [UInt64(MsgABI.MSGMNB)],
        "kernel.msgmni": [UInt64(MsgABI.MSGMNI)],
        "kernel.sem": [UInt64(SemABI.SEMMSL), UInt64(SemABI.SEMMSL) * UInt64(SemABI.SEMMNI), UInt64(SemABI.SEMOPM),
                       UInt64(SemABI.SEMMNI)],
        "fs.mqueue.msg_max": [UInt64(MQueueABI.maxMessages)],
        "fs.mqueue.msgsize_max": [UInt64(MQueueABI.maxMessageSize)],
        "fs.mqueue.queues_max": [UInt64(MQueueABI.queuesMax)],
        "fs.mqueue.msg_default": [UInt64(MQueueABI.defaultMaxMessages)],
        "fs.mqueue.msgsize_default": [UInt64(MQueueABI.defaultMessageSize)],
    ]

    /// Upper bounds Linux (or the Sentry's own hard limits) puts on a value; nil: any 64-bit number.
    static let maxima: [String: UInt64] = [
        "kernel.shmmni": 1 << 15, "kernel.msgmni": 1 << 15, "kernel.msgmax": UInt64(Int32.max),
        "kernel.msgmnb": UInt64(Int32.max), "kernel.shm_rmid_forced": 1,
        "fs.mqueue.msg_max": UInt64(MQueueABI.hardMaxMessages), "fs.mqueue.msgsize_max": UInt64(MQueueABI.hardMaxMessageSize),
        "fs.mqueue.msg_default": UInt64(MQueueABI.hardMaxMessages),
        "fs.mqueue.msgsize_default": UInt64(MQueueABI.hardMaxMessageSize), "fs.mqueue.queues_max": UInt64(Int32.max),
    ]

    /// The value(s) of `key` from the spec's text (whitespace-separated numbers, as /proc/sys takes them),
    /// or a reason it is not acceptable. Only for modeled keys.
    public static func parse(_ key: String, _ text: String) -> Result<[UInt64], SysctlError> {
        guard let defaults = defaults[key] else { return .failure(SysctlError("is not modeled by the Sentry")) }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard words.count == defaults.count else {
            return .failure(SysctlError("expected \(defaults.count == 1 ? "a number" : "\(defaults.count) numbers"), got \"\(text)\""))
        }
        var values: [UInt64] = []
        for word in words {
            guard let n = UInt64(word) else { return .failure(SysctlError("expected a non-negative number, got \"\(word)\"")) }
            if let max = maxima[key], n > max { return .failure(SysctlError("\(n) is above the limit \(max)")) }
            values.append(n)
        }
        if key == "kernel.sem", values[0] > UInt64(SemABI.SEMMSL) || values[2] > UInt64(SemABI.SEMOPM)
            || values[3] > UInt64(SemABI.SEMMNI) {
            return .failure(SysctlError("\"\(text)\" is above the Sentry's limits \(defaults.map { String($0) }.joined(separator: " "))"))
        }
        return .success(values)
    }
}

/// Why a sysctl value was refused.
public struct SysctlError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The sandbox's sysctl values: the defaults with the spec's overrides applied. Immutable after boot, so
/// readers need no lock.
final class SysctlTable: Sendable {
    private let values: [String: [UInt64]]

    /// `overrides` come from `SentryConfig.sysctl`; a value that does not parse keeps the default (create
    /// has refused such specs already).
    init(overrides: [String: String]) {
        var values = SysctlModel.defaults
        for (key, text) in overrides {
            if case .success(let parsed) = SysctlModel.parse(key, text) { values[key] = parsed }
        }
        self.values = values
    }

    /// The first (usually only) value of a modeled key.
    func value(_ key: String) -> UInt64 { values[key]?.first ?? 0 }

    /// A limit as an Int (clamped), for the IPC code's counts and sizes.
    func limit(_ key: String) -> Int { Int(clamping: value(key)) }

    /// kernel.sem's four numbers.
    var semaphoreLimits: (semmsl: Int, semmns: Int, semopm: Int, semmni: Int) {
        let v = values["kernel.sem"] ?? []
        guard v.count == 4 else { return (SemABI.SEMMSL, SemABI.SEMMSL * SemABI.SEMMNI, SemABI.SEMOPM, SemABI.SEMMNI) }
        return (Int(clamping: v[0]), Int(clamping: v[1]), Int(clamping: v[2]), Int(clamping: v[3]))
    }

    /// What /proc/sys shows for `key` (kernel.sem's numbers are tab-separated, as on Linux).
    func text(_ key: String) -> String {
        (values[key] ?? []).map { String($0) }.joined(separator: "\t") + "\n"
    }

    /// The modeled keys under `prefix` ("kernel.", "fs.mqueue."), as (file name, key).
    func keys(under prefix: String) -> [(String, String)] {
        values.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains(".") }.sorted()
            .map { (String($0.dropFirst(prefix.count)), $0) }
    }
}
