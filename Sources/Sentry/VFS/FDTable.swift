// A process's descriptor table: numbers → open file descriptions, with close-on-exec bits.
import LinuxABI

final class FDTable: @unchecked Sendable {
    struct Entry {
        var file: FileDescription
        var closeOnExec: Bool
    }
    private let lock = Lock()
    private var entries: [Int32: Entry] = [:]
    var limit: Int32 = 1024
    /// Tasks using this table (threads share it with CLONE_FILES); the files close when the last one goes.
    private var users = 0

    init() {}

    func addUser() { lock.withLock { users += 1 } }

    func dropUser() {
        let last = lock.withLock { () -> Bool in users -= 1; return users <= 0 }
        if last { closeAll() }
    }

    func get(_ fd: Int32) throws(Errno) -> FileDescription {
        guard let e = lock.withLock({ entries[fd] }) else { throw Errno.EBADF }
        return e.file
    }

    func entry(_ fd: Int32) -> Entry? { lock.withLock { entries[fd] } }

    /// Installs `file` at the lowest free number ≥ `minimum`.
    func add(_ file: FileDescription, closeOnExec: Bool = false, minimum: Int32 = 0) throws(Errno) -> Int32 {
        try lock.withLock { () throws(Errno) -> Int32 in
            var fd = minimum
            while entries[fd] != nil { fd += 1 }
            guard fd < limit else { throw Errno.EMFILE }
            file.references.add()
            entries[fd] = Entry(file: file, closeOnExec: closeOnExec)
            return fd
        }
    }

    /// Installs `file` at exactly `fd`, closing what was there.
    func set(_ fd: Int32, _ file: FileDescription, closeOnExec: Bool) throws(Errno) {
        guard fd >= 0, fd < limit else { throw Errno.EBADF }
        file.references.add()
        let old = lock.withLock { () -> Entry? in
            let o = entries[fd]
            entries[fd] = Entry(file: file, closeOnExec: closeOnExec)
            return o
        }
        if let old { releaseIfLast(old.file) }
    }

    func remove(_ fd: Int32) throws(Errno) {
        guard let old = lock.withLock({ entries.removeValue(forKey: fd) }) else { throw Errno.EBADF }
        releaseIfLast(old.file)
    }

    func setCloseOnExec(_ fd: Int32, _ value: Bool) throws(Errno) {
        try lock.withLock { () throws(Errno) in
            guard entries[fd] != nil else { throw Errno.EBADF }
            entries[fd]!.closeOnExec = value
        }
    }

    /// A copy for fork: the same descriptions, shared.
    func fork() -> FDTable {
        let t = FDTable()
        lock.withLock { t.entries = entries; t.limit = limit }
        for (_, e) in t.entries { e.file.references.add() }
        return t
    }

    func closeOnExec() {
        let closed = lock.withLock { () -> [Entry] in
            let c = entries.filter { $0.value.closeOnExec }
            for k in c.keys { entries.removeValue(forKey: k) }
            return Array(c.values)
        }
        for e in closed { releaseIfLast(e.file) }
    }

    func closeAll() {
        let all = lock.withLock { () -> [Entry] in let a = Array(entries.values); entries = [:]; return a }
        for e in all { releaseIfLast(e.file) }
    }

    var numbers: [Int32] { lock.withLock { entries.keys.sorted() } }

    private func releaseIfLast(_ file: FileDescription) {
        // Any close drops the process's record locks on the file; the last one its OFD and flock locks.
        FileLocks.shared.closed(file, in: self)
        if file.references.drop() {
            FileLocks.shared.released(file)
            if FSNotify.active { FSNotify.released(file) }
            file.release()
        }
    }
}

/// How many descriptor-table slots refer to a description (dup, fork): `release()` runs at zero.
final class ReferenceCount: @unchecked Sendable {
    private let lock = Lock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    /// Returns true when the last reference went away.
    func drop() -> Bool { lock.withLock { count -= 1; return count <= 0 } }
}
