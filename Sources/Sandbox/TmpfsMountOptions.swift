// The options of a spec tmpfs mount (size=, nr_inodes=, mode=, uid=, gid=), checked as tmpfs(5) reads them.
import OCI

/// A tmpfs mount's limits and root attributes from its spec options. Pure data; a `size=N%` is kept as a
/// percentage here and turned into bytes by the boot, against the sandbox's memory.
public struct PlannedTmpfs: Sendable, Equatable {
    /// Bytes; nil when unlimited (no size, or size=0).
    public var sizeBytes: UInt64? = nil
    /// `size=N%`: N percent of the sandbox memory (linux.resources.memory.limit, else the host's memory).
    public var sizePercent: UInt64? = nil
    /// nil when unlimited (no nr_inodes, or nr_inodes=0).
    public var inodes: UInt64? = nil
    public var mode: UInt32 = 0o1777
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0

    public init() {}

    /// The size limit in bytes, with a percentage taken of `memory`.
    public func sizeLimit(memory: UInt64) -> UInt64? {
        if let sizePercent { return sizePercent == 0 ? nil : memory / 100 * sizePercent + memory % 100 * sizePercent / 100 }
        return sizeBytes
    }

    /// Reads the key=value options tmpfs knows; flags (rw, nosuid, ...) and other keys are left to others.
    public static func parse(_ options: [String], mountIndex: Int) throws(RuntimeError) -> PlannedTmpfs {
        var t = PlannedTmpfs()
        func fail(_ option: String, _ expected: String) -> RuntimeError {
            RuntimeError("config.json: mounts[\(mountIndex)].options: tmpfs option \"\(option)\": expected \(expected)")
        }
        for option in options {
            guard let eq = option.firstIndex(of: "=") else { continue }
            let key = String(option[..<eq]), value = String(option[option.index(after: eq)...])
            switch key {
            case "size":
                if value.hasSuffix("%") {
                    guard let p = UInt64(value.dropLast()), p <= 100 else { throw fail(option, "a percentage from 0% to 100%") }
                    t.sizePercent = p; t.sizeBytes = nil
                } else {
                    guard let n = scaled(value) else { throw fail(option, "a number of bytes with an optional k, m or g suffix, or a percentage") }
                    t.sizeBytes = n == 0 ? nil : n; t.sizePercent = nil
                }
            case "nr_inodes":
                guard let n = scaled(value) else { throw fail(option, "a number with an optional k, m or g suffix") }
                t.inodes = n == 0 ? nil : n
            case "mode":
                guard let m = UInt32(value, radix: 8), m <= 0o7777 else { throw fail(option, "octal permissions up to 7777") }
                t.mode = m
            case "uid", "gid":
                guard let id = UInt32(value), id != UInt32.max else { throw fail(option, "a numeric \(key)") }
                if key == "uid" { t.uid = id } else { t.gid = id }
            default: continue
            }
        }
        return t
    }

    /// "123", "64k", "16M", "1g" (binary multiples, as tmpfs(5) reads them); nil when malformed or too large.
    static func scaled(_ text: String) -> UInt64? {
        var digits = Substring(text), shift: UInt64 = 0
        if let last = text.last, let s = ["k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60][String(last).lowercased()] {
            digits = text.dropLast(); shift = UInt64(s)
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else { return nil }
        guard shift == 0 || n <= UInt64.max >> shift else { return nil }
        return n << shift
    }
}
