// `runsc events`: runc's event lines (`{"type":"stats","id":...,"data":{...}}` and `{"type":"oom",...}`)
// from the Sentry's own accounting. The field names are runc's `types.Event`/`types.Stats`, with runc's
// omit-when-zero rules, so tools that read runc's output read ours.
import FoundationEssentials
import Glibc

/// One line of `runsc events` output.
public struct RuncEvent: Encodable, Sendable, Equatable {
    public var type: String
    public var id: String
    public var data: RuncStats?

    public static func stats(id: String, _ stats: ControlStats) -> RuncEvent {
        RuncEvent(type: "stats", id: id, data: RuncStats(stats))
    }
    public static func oom(id: String) -> RuncEvent { RuncEvent(type: "oom", id: id, data: nil) }

    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// runc's `types.Stats`, with what the Sentry measures filled in and the cgroup-only parts empty.
public struct RuncStats: Encodable, Sendable, Equatable {
    public struct CPUUsage: Encodable, Sendable, Equatable {
        public var total: UInt64?  // omitted when 0, as runc does
        public var kernel: UInt64
        public var user: UInt64
    }
    public struct Throttling: Encodable, Sendable, Equatable {}
    public struct CPU: Encodable, Sendable, Equatable {
        public var usage: CPUUsage
        public var throttling = Throttling()
    }
    public struct MemoryEntry: Encodable, Sendable, Equatable {
        public var limit: UInt64
        public var usage: UInt64?
        public var max: UInt64?
        public var failcnt: UInt64
    }
    public struct Memory: Encodable, Sendable, Equatable {
        public var usage: MemoryEntry
        public var swap: MemoryEntry
        public var kernel: MemoryEntry
        public var kernelTCP: MemoryEntry
    }
    public struct Pids: Encodable, Sendable, Equatable {
        public var current: UInt64?
        public var limit: UInt64?
    }
    public struct Empty: Encodable, Sendable, Equatable {}

    public var cpu: CPU
    public var memory: Memory
    public var pids: Pids
    public var blkio = Empty()
    public var hugetlb = Empty()

    public init(_ s: ControlStats) {
        let total = s.cpuUser &+ s.cpuSystem
        cpu = CPU(usage: CPUUsage(total: total == 0 ? nil : total, kernel: s.cpuSystem, user: s.cpuUser))
        let none = MemoryEntry(limit: 0, usage: nil, max: nil, failcnt: 0)
        // No limit reads as the largest value, as a cgroup's "max" does in runc's output.
        memory = Memory(usage: MemoryEntry(limit: s.memoryLimit ?? UInt64.max, usage: s.memoryUsage == 0 ? nil : s.memoryUsage,
                                           max: nil, failcnt: s.memoryFailures),
                        swap: none, kernel: none, kernelTCP: none)
        pids = Pids(current: s.tasks == 0 ? nil : s.tasks, limit: s.pidsLimit)
    }
}

/// Go's duration syntax, as runc's `--interval` takes it: "5s", "250ms", "1m30s", "1.5h", "100us".
public enum GoDuration {
    /// Nanoseconds; throws a message naming `flag` for anything else, or for a duration that is not positive.
    public static func parse(_ text: String, flag: String) throws(RuntimeError) -> UInt64 {
        let invalid = RuntimeError("--\(flag): invalid duration \"\(text)\" (expected a number with a unit: ns, us, ms, s, m, h; e.g. 5s)")
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        var rest = Substring(text)
        var total = 0.0
        guard !rest.isEmpty else { throw invalid }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { throw invalid }
            rest = rest.dropFirst(number.count)
            // Longest unit first: "ms" before "m", "ns"/"us" before "s".
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else { throw invalid }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        guard total >= 1, total < 9e18 else {
            throw RuntimeError("--\(flag): duration \"\(text)\" must be greater than 0")
        }
        return UInt64(total)
    }
}

extension ContainerManager {
    /// Writes event lines for container `id` to `emit`: one stats line and return with `statsOnce`, else a
    /// stats line every `interval` nanoseconds (and an oom line whenever the Sentry refused memory because
    /// of the limit since the last one) until the container stops.
    public func events(id: String, interval: UInt64, statsOnce: Bool, emit: (String) -> Void) throws(RuntimeError) {
        let first = try stats(id: id)
        if statsOnce {
            emit(RuncEvent.stats(id: id, first).jsonLine)
            return
        }
        var failures = first.memoryFailures
        while true {
            var remaining = interval
            // Sleep in slices so a stopped container ends the command promptly.
            while remaining > 0 {
                let slice = min(remaining, 100_000_000)
                usleep(UInt32(slice / 1000))
                remaining -= slice
                if !isLive(id: id) { return }
            }
            guard let current = try? stats(id: id) else {
                if !isLive(id: id) { return }
                continue
            }
            if current.memoryFailures > failures { emit(RuncEvent.oom(id: id).jsonLine) }
            failures = current.memoryFailures
            emit(RuncEvent.stats(id: id, current).jsonLine)
        }
    }
}
