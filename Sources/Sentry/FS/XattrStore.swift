// In-memory extended attributes of a tmpfs file (and of the overlay's upper copies). Names keep the order
// they were first set in, as listxattr reports them.
import LinuxABI

struct XattrStore {
    private var entries: [(name: [UInt8], value: [UInt8])] = []
    private var bytes = 0
    /// Sentry memory one file's attributes may take (names and values): past it, ENOSPC.
    static let maxBytes = 1 << 20

    var names: [[UInt8]] { entries.map(\.name) }

    func get(_ name: [UInt8]) throws(Errno) -> [UInt8] {
        guard let e = entries.first(where: { $0.name == name }) else { throw Errno.ENODATA }
        return e.value
    }

    /// `flags`: XATTR_CREATE (1) refuses an existing name with EEXIST, XATTR_REPLACE (2) a missing one
    /// with ENODATA.
    mutating func set(_ name: [UInt8], _ value: [UInt8], flags: UInt32) throws(Errno) {
        let index = entries.firstIndex(where: { $0.name == name })
        if index != nil, flags & 1 != 0 { throw Errno.EEXIST }
        if index == nil, flags & 2 != 0 { throw Errno.ENODATA }
        let old = index.map { entries[$0].name.count + entries[$0].value.count } ?? 0
        let total = bytes - old + name.count + value.count
        guard total <= Self.maxBytes else { throw Errno.ENOSPC }
        if let index { entries[index].value = value } else { entries.append((name, value)) }
        bytes = total
    }

    mutating func remove(_ name: [UInt8]) throws(Errno) {
        guard let index = entries.firstIndex(where: { $0.name == name }) else { throw Errno.ENODATA }
        bytes -= entries[index].name.count + entries[index].value.count
        entries.remove(at: index)
    }
}
