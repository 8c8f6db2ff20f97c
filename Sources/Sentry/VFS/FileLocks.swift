// Advisory file locks between the sandbox's processes: POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK,
// owned by a process: its descriptor table), open-file-description locks (F_OFD_*, owned by the
// description) and flock(2) (whole-file, owned by the description). Files are identified by device and
// inode number, so every dentry or hard link of a file shares its locks.
//
// Release rules, as Linux: a process's record locks on a file go as soon as it closes *any* descriptor
// of that file (FDTable calls `closed`), and with its descriptor table at exit; OFD and flock locks go
// with the last descriptor of their description (`released`). Deadlock detection (EDEADLK) is not done.
import LinuxABI

final class FileLocks: @unchecked Sendable {
    /// One table for the process: owners are unique objects, keys host device and inode numbers.
    static let shared = FileLocks()

    struct Key: Hashable { var device: UInt64; var inode: UInt64 }

    enum Kind: Int16 { case read = 0, write = 1 }  // F_RDLCK, F_WRLCK

    struct Record {
        var owner: ObjectIdentifier
        var kind: Kind
        /// Inclusive byte range; `end` is Int64.max for "to end of file".
        var start: Int64
        var end: Int64
        /// Reported by F_GETLK: the owning process, or -1 for OFD locks.
        var pid: Int32

        func overlaps(_ s: Int64, _ e: Int64) -> Bool { start <= e && s <= end }
    }

    private let lock = Lock()
    private var records: [Key: [Record]] = [:]
    private var flocks: [Key: [(owner: ObjectIdentifier, exclusive: Bool)]] = [:]
    /// How many locks each owner holds, so closing descriptors of owners without locks costs nothing.
    private var held: [ObjectIdentifier: Int] = [:]
    /// Woken at every unlock; blocked lockers retry.
    let queue = WaitQueue()

    static func key(_ file: FileDescription) throws(Errno) -> Key {
        let st = try file.stat()
        return Key(device: st.device, inode: st.inode)
    }

    // MARK: - Record locks

    /// The first lock of another owner that conflicts with `kind` on [start, end], if any.
    func conflict(_ key: Key, owner: ObjectIdentifier, kind: Kind, start: Int64, end: Int64) -> Record? {
        lock.withLock {
            records[key]?.first { $0.owner != owner && $0.overlaps(start, end) && (kind == .write || $0.kind == .write) }
        }
    }

    /// Sets (or, with kind nil, removes) `owner`'s lock on [start, end]; false if another owner's lock
    /// conflicts (nothing changes then).
    func setRecord(_ key: Key, owner: ObjectIdentifier, kind: Kind?, start: Int64, end: Int64, pid: Int32) -> Bool {
        let changed = lock.withLock { () -> Bool? in
            var list = records[key] ?? []
            if let kind, list.contains(where: { $0.owner != owner && $0.overlaps(start, end) && (kind == .write || $0.kind == .write) }) {
                return nil
            }
            // Cut the owner's own locks out of the range, keeping what lies on either side.
            var kept: [Record] = []
            var removed = 0
            for r in list {
                guard r.owner == owner, r.overlaps(start, end) else { kept.append(r); continue }
                removed += 1
                if r.start < start { var left = r; left.end = start - 1; kept.append(left); removed -= 1 }
                if r.end > end { var right = r; right.start = end + 1; kept.append(right); removed -= 1 }
            }
            list = kept
            if let kind { list.append(Record(owner: owner, kind: kind, start: start, end: end, pid: pid)); removed -= 1 }
            records[key] = list.isEmpty ? nil : list
            adjust(owner, by: -removed)
            return true
        }
        guard changed != nil else { return false }
        // Any change may free a range someone waits for (an unlock, a split, a downgrade).
        queue.notifyAll()
        return true
    }

    // MARK: - flock

    /// Takes (or converts to) a shared or exclusive lock for `owner`; false if it conflicts. A
    /// conversion drops the old lock first, as on Linux.
    func setFlock(_ key: Key, owner: ObjectIdentifier, exclusive: Bool) -> Bool {
        let (granted, dropped) = lock.withLock { () -> (Bool, Bool) in
            var list = flocks[key] ?? []
            let before = list.count
            list.removeAll { $0.owner == owner }
            let dropped = list.count != before
            let blocked = list.contains { $0.exclusive || exclusive }
            if !blocked { list.append((owner, exclusive)) }
            flocks[key] = list.isEmpty ? nil : list
            adjust(owner, by: (blocked ? 0 : 1) - (dropped ? 1 : 0))
            return (!blocked, dropped)
        }
        if dropped { queue.notifyAll() }
        return granted
    }

    func unlockFlock(_ key: Key, owner: ObjectIdentifier) {
        let dropped = lock.withLock { () -> Bool in
            guard var list = flocks[key] else { return false }
            let before = list.count
            list.removeAll { $0.owner == owner }
            flocks[key] = list.isEmpty ? nil : list
            adjust(owner, by: list.count - before)
            return list.count != before
        }
        if dropped { queue.notifyAll() }
    }

    // MARK: - Release

    private func adjust(_ owner: ObjectIdentifier, by delta: Int) {
        let n = (held[owner] ?? 0) + delta
        held[owner] = n > 0 ? n : nil
    }

    private func holdsAny(_ owner: ObjectIdentifier) -> Bool { lock.withLock { held[owner] != nil } }

    /// A descriptor of `file` was closed in `table`: the process's record locks on the file go.
    func closed(_ file: FileDescription, in table: FDTable) {
        let owner = ObjectIdentifier(table)
        guard holdsAny(owner), let key = try? FileLocks.key(file) else { return }
        _ = setRecord(key, owner: owner, kind: nil, start: 0, end: Int64.max, pid: 0)
    }

    /// The last descriptor of `file` went away: its OFD and flock locks go.
    func released(_ file: FileDescription) {
        let owner = ObjectIdentifier(file)
        guard holdsAny(owner), let key = try? FileLocks.key(file) else { return }
        _ = setRecord(key, owner: owner, kind: nil, start: 0, end: Int64.max, pid: 0)
        unlockFlock(key, owner: owner)
    }
}
