// `runsc update`: new resource values from flags (runc's names) or an OCI LinuxResources document
// (`--resources FILE` or `-` for stdin). Memory and pids limits are applied by the Sentry; everything is
// written to the sandbox's host cgroup when the spec named one (HostCgroup), and recorded.
import OCI

/// Resource values to change, as OCI `linux.resources` sections ("memory", "cpu", "pids", "blockIO").
public struct ResourceUpdate: Sendable, Equatable {
    /// section → key → value, in the OCI LinuxResources shape.
    public var sections: [String: [String: JSONValue]] = [:]

    /// The file in the container's state directory that holds what was set so far.
    public static let recordFile = "resources.json"

    public init() {}

    /// Bytes to limit app memory to: -1 unlimited, nil unchanged (0 also means unchanged, as in runc).
    public var memoryLimit: Int64? { number(sections["memory"]?["limit"]).flatMap { $0 == 0 ? nil : $0 } }
    /// Tasks the sandbox may have: -1 (any negative) unlimited, nil unchanged (0 also means unchanged).
    public var pidsLimit: Int64? { number(sections["pids"]?["limit"]).flatMap { $0 == 0 ? nil : ($0 < 0 ? -1 : $0) } }

    private func number(_ value: JSONValue?) -> Int64? {
        switch value {
        case .integer(let n)?: return n
        case .unsigned(let n)?: return Int64(clamping: n)
        default: return nil
        }
    }

    /// What is accepted but has no effect, for a warning in the log.
    public var unappliedWarnings: [String] {
        let applied: Set<String> = ["memory.limit", "pids.limit"]
        let keys = sections.flatMap { section, values in values.keys.map { section + "." + $0 } }
            .filter { !applied.contains($0) }.sorted()
        return keys.isEmpty ? [] : ["\(keys.joined(separator: ", ")) recorded but not applied (the spec named no linux.cgroupsPath)"]
    }

    /// Later values win, key by key.
    public mutating func merge(_ other: ResourceUpdate) {
        for (section, values) in other.sections {
            sections[section, default: [:]].merge(values) { _, new in new }
        }
    }

    /// The recorded document (OCI LinuxResources), one line.
    public func ociJSON() -> String {
        JSONDocument.compact(.object(sections.mapValues { .object($0) }))
    }

    // MARK: flags

    /// runc's `update` flags: (flag, section, key, kind).
    enum Kind { case bytes, unsigned, signed, string, weight }
    static let flags: [(flag: String, section: String, key: String, kind: Kind)] = [
        ("memory", "memory", "limit", .bytes),
        ("memory-reservation", "memory", "reservation", .bytes),
        ("memory-swap", "memory", "swap", .bytes),
        ("kernel-memory", "memory", "kernel", .bytes),
        ("kernel-memory-tcp", "memory", "kernelTCP", .bytes),
        ("cpu-period", "cpu", "period", .unsigned),
        ("cpu-quota", "cpu", "quota", .signed),
        ("cpu-share", "cpu", "shares", .unsigned),
        ("cpu-rt-period", "cpu", "realtimePeriod", .unsigned),
        ("cpu-rt-runtime", "cpu", "realtimeRuntime", .signed),
        ("cpuset-cpus", "cpu", "cpus", .string),
        ("cpuset-mems", "cpu", "mems", .string),
        ("blkio-weight", "blockIO", "weight", .weight),
        ("pids-limit", "pids", "limit", .signed),
    ]

    /// Sets the value of flag `--name` (runc's names; `cpu-shares` is taken for `cpu-share`).
    public mutating func set(flag name: String, _ raw: String) throws(RuntimeError) {
        let flagName = name == "cpu-shares" ? "cpu-share" : name
        guard let entry = Self.flags.first(where: { $0.flag == flagName }) else {
            throw RuntimeError("update: unknown flag --\(name)")
        }
        let value: JSONValue
        switch entry.kind {
        case .bytes: value = .integer(try Self.parseBytes(raw, flag: name))
        case .unsigned:
            guard let n = UInt64(raw) else { throw RuntimeError("--\(name): invalid value \"\(raw)\" (expected a non-negative integer)") }
            value = .unsigned(n)
        case .signed:
            guard let n = Int64(raw) else { throw RuntimeError("--\(name): invalid value \"\(raw)\" (expected an integer)") }
            value = .integer(n)
        case .weight:
            guard let n = UInt16(raw) else { throw RuntimeError("--\(name): invalid value \"\(raw)\" (expected 10 to 1000)") }
            value = .unsigned(UInt64(n))
        case .string: value = .string(raw)
        }
        try Self.check(section: entry.section, key: entry.key, value, name: "--\(name)")
        sections[entry.section, default: [:]][entry.key] = value
    }

    /// A size as runc takes it: bytes with an optional k/m/g/t/p suffix (powers of 1024, optional "b" or "ib",
    /// any case, decimals allowed: "1.5g"), or -1 for unlimited.
    public static func parseBytes(_ raw: String, flag: String) throws(RuntimeError) -> Int64 {
        let invalid = RuntimeError("--\(flag): invalid size \"\(raw)\" (expected bytes with an optional k, m, g or t suffix, or -1)")
        let text = raw.lowercased()
        if text == "-1" { return -1 }
        var digits = Substring(text)
        var unitPart = ""
        while let last = digits.last, last.isLetter { unitPart = String(last) + unitPart; digits = digits.dropLast() }
        let shift: Int
        switch unitPart {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        case "p", "pb", "pib": shift = 50
        default: throw invalid
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isNumber || $0 == "." }), let number = Double(digits), number >= 0 else {
            throw invalid
        }
        let bytes = number * Double(UInt64(1) << shift)
        guard bytes < 9.2e18 else { throw RuntimeError("--\(flag): \"\(raw)\" is too large") }
        return Int64(bytes)
    }

    // MARK: resources document

    /// The keys of each OCI LinuxResources section that are understood (memory and pids limits applied,
    /// the rest recorded). Other sections of the spec are accepted and recorded whole.
    static let knownKeys: [String: Set<String>] = [
        "memory": ["limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller",
                   "useHierarchy", "checkBeforeUpdate"],
        "cpu": ["shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"],
        "pids": ["limit"],
        "blockIO": ["weight", "leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
                    "throttleReadIOPSDevice", "throttleWriteIOPSDevice"],
    ]
    static let recordedSections: Set<String> = ["devices", "hugepageLimits", "network", "rdma", "unified"]

    /// Parses an OCI LinuxResources document; `source` names it in errors (a path or "stdin").
    public static func parse(json bytes: [UInt8], source: String) throws(RuntimeError) -> ResourceUpdate {
        let tree: JSONValue
        switch JSONDocument.parse(bytes) {
        case .success(let value): tree = value
        case .failure(let error): throw RuntimeError("\(source): invalid JSON: \(error.description)")
        }
        guard case .object(let top) = tree else { throw RuntimeError("\(source): must be a JSON object, got \(tree.typeName)") }
        var update = ResourceUpdate()
        for (section, content) in top.sorted(by: { $0.key < $1.key }) {
            if case .null = content { continue }
            if recordedSections.contains(section) {
                update.sections[section] = ["value": content]
                continue
            }
            guard let keys = knownKeys[section] else {
                let known = (Array(knownKeys.keys) + recordedSections).sorted().joined(separator: ", ")
                throw RuntimeError("\(source): unknown resource section \"\(section)\" (expected one of \(known))")
            }
            guard case .object(let values) = content else {
                throw RuntimeError("\(source): \(section): must be an object, got \(content.typeName)")
            }
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                guard keys.contains(key) else {
                    throw RuntimeError("\(source): \(section).\(key): unknown field (expected one of \(keys.sorted().joined(separator: ", ")))")
                }
                if case .null = value { continue }
                try check(section: section, key: key, value, name: "\(source): \(section).\(key)")
                update.sections[section, default: [:]][key] = value
            }
        }
        return update
    }

    /// Range and type checks that give the Linux cgroup rules as clear errors.
    static func check(section: String, key: String, _ value: JSONValue, name: String) throws(RuntimeError) {
        func integer() throws(RuntimeError) -> Int64 {
            switch value {
            case .integer(let n): return n
            case .unsigned(let n) where n <= UInt64(Int64.max): return Int64(n)
            default: throw RuntimeError("\(name): expected an integer, got \(value.typeName == "number" ? "a fraction or a number too large" : value.typeName)")
            }
        }
        switch (section, key) {
        case ("memory", "limit"), ("memory", "reservation"), ("memory", "swap"), ("memory", "kernel"), ("memory", "kernelTCP"):
            let n = try integer()
            if n < -1 { throw RuntimeError("\(name): must be a number of bytes or -1 (unlimited), got \(n)") }
        case ("memory", "swappiness"):
            let n = try integer()
            if n < 0 || n > 100 { throw RuntimeError("\(name): must be from 0 to 100, got \(n)") }
        case ("cpu", "period"):
            let n = try integer()
            if n != 0 && (n < 1000 || n > 1_000_000) {
                throw RuntimeError("\(name): must be from 1000 to 1000000 microseconds, got \(n)")
            }
        case ("cpu", "quota"):
            let n = try integer()
            if n != 0 && n != -1 && n < 1000 { throw RuntimeError("\(name): must be -1 (unlimited) or at least 1000 microseconds, got \(n)") }
        case ("cpu", "shares"):
            let n = try integer()
            if n != 0 && (n < 2 || n > 262_144) { throw RuntimeError("\(name): must be from 2 to 262144, got \(n)") }
        case ("cpu", "realtimePeriod"), ("cpu", "realtimeRuntime"), ("cpu", "burst"), ("cpu", "idle"), ("pids", "limit"):
            _ = try integer()
        case ("cpu", "cpus"), ("cpu", "mems"):
            guard case .string(let list) = value else { throw RuntimeError("\(name): expected a string such as \"0-3,5\"") }
            let valid = list.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
                let ends = part.split(separator: "-", omittingEmptySubsequences: false)
                return (1...2).contains(ends.count) && ends.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
            }
            if !list.isEmpty && !valid { throw RuntimeError("\(name): invalid list \"\(list)\" (expected numbers and ranges such as \"0-3,5\")") }
        case ("blockIO", "weight"), ("blockIO", "leafWeight"):
            let n = try integer()
            if n != 0 && (n < 10 || n > 1000) { throw RuntimeError("\(name): must be from 10 to 1000, got \(n)") }
        default:
            break  // recorded as given
        }
    }
}
