// fcntl record locks (F_GETLK/F_SETLK/F_SETLKW and the F_OFD_* variants) and flock(2), enforced between
// the sandbox's processes by FileLocks.
import LinuxABI

/// Values of <fcntl.h> and <sys/file.h> used here.
enum LockABI {
    static let F_OFD_GETLK = 36, F_OFD_SETLK = 37, F_OFD_SETLKW = 38
    static let F_RDLCK: Int16 = 0, F_WRLCK: Int16 = 1, F_UNLCK: Int16 = 2
    static let LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8
    /// struct flock on x86-64: l_type, l_whence (shorts), l_start, l_len (at 8 and 16), l_pid (at 24).
    static let flockSize = 32
}

extension Kernel {
    /// F_GETLK, F_SETLK, F_SETLKW and their OFD forms on descriptor `fd`, with the struct flock at `address`.
    func recordLock(_ task: Task, fd: Int32, file: FileDescription, cmd: Int, address: UInt64) throws(Errno) -> Int {
        let ofd = cmd == LockABI.F_OFD_GETLK || cmd == LockABI.F_OFD_SETLK || cmd == LockABI.F_OFD_SETLKW
        let type = try task.mm.read(address, as: Int16.self)
        let whence = Int(try task.mm.read(address + 2, as: Int16.self))
        let start = try task.mm.read(address + 8, as: Int64.self)
        let length = try task.mm.read(address + 16, as: Int64.self)
        let lockPID = try task.mm.read(address + 24, as: Int32.self)
        if ofd && lockPID != 0 { throw Errno.EINVAL }  // OFD locks require l_pid 0
        guard file.dentry != nil else { throw Errno.EBADF }
        let kind: FileLocks.Kind?
        switch type {
        case LockABI.F_RDLCK: kind = .read
        case LockABI.F_WRLCK: kind = .write
        case LockABI.F_UNLCK: kind = nil
        default: throw Errno.EINVAL
        }
        let (first, last) = try lockRange(file, whence: whence, start: start, length: length)
        let key = try FileLocks.key(file)
        let owner = ofd ? ObjectIdentifier(file) : ObjectIdentifier(task.fdTable)
        let locks = FileLocks.shared

        if cmd == FcntlCommands.F_GETLK || cmd == LockABI.F_OFD_GETLK {
            guard let kind else { throw Errno.EINVAL }
            // No conflict: only l_type changes (to F_UNLCK); otherwise the conflicting lock, from SEEK_SET.
            guard let c = locks.conflict(key, owner: owner, kind: kind, start: first, end: last) else {
                try task.mm.write(address, LockABI.F_UNLCK)
                return 0
            }
            var out = [UInt8](repeating: 0, count: LockABI.flockSize)
            out.withUnsafeMutableBytes { p in
                p.storeBytes(of: c.kind.rawValue, toByteOffset: 0, as: Int16.self)
                p.storeBytes(of: c.start, toByteOffset: 8, as: Int64.self)
                p.storeBytes(of: c.end == Int64.max ? 0 : c.end - c.start + 1, toByteOffset: 16, as: Int64.self)
                p.storeBytes(of: c.pid, toByteOffset: 24, as: Int32.self)
            }
            try task.mm.copyOut(address, out)
            return 0
        }
        if kind == .read && !file.readable { throw Errno.EBADF }
        if kind == .write && !file.writable { throw Errno.EBADF }
        let pid = ofd ? -1 : Int32(task.threadGroup.pid)
        let wait = cmd == FcntlCommands.F_SETLKW || cmd == LockABI.F_OFD_SETLKW
        if locks.setRecord(key, owner: owner, kind: kind, start: first, end: last, pid: pid) { return 0 }
        guard wait else { throw Errno.EAGAIN }
        try task.block(on: [locks.queue]) { () throws(Errno) -> Bool in
            locks.setRecord(key, owner: owner, kind: kind, start: first, end: last, pid: pid)
        }
        return 0
    }

    /// The inclusive byte range a struct flock names (l_len 0: to the end of the file, whatever it becomes).
    private func lockRange(_ file: FileDescription, whence: Int, start: Int64, length: Int64) throws(Errno) -> (Int64, Int64) {
        let base: Int64
        switch whence {
        case SeekWhence.SEEK_SET: base = 0
        case SeekWhence.SEEK_CUR: base = file.lock.withLock { file.offset }
        case SeekWhence.SEEK_END: base = try file.stat().size
        default: throw Errno.EINVAL
        }
        let (from, o1) = base.addingReportingOverflow(start)
        guard !o1 else { throw Errno.EOVERFLOW }
        if length == 0 {
            guard from >= 0 else { throw Errno.EINVAL }
            return (from, Int64.max)
        }
        if length > 0 {
            let (end, o2) = from.addingReportingOverflow(length - 1)
            guard from >= 0, !o2 else { throw o2 ? Errno.EOVERFLOW : Errno.EINVAL }
            return (from, end)
        }
        // A negative length covers the bytes before `from`.
        let (first, o3) = from.addingReportingOverflow(length)
        guard !o3, first >= 0 else { throw Errno.EINVAL }
        return (first, from - 1)
    }

    func fileLock(_ task: Task, fd: Int32, operation: Int) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        guard file.flags & OpenFlags.O_PATH == 0 else { throw Errno.EBADF }
        let key = try FileLocks.key(file)
        let owner = ObjectIdentifier(file)
        let locks = FileLocks.shared
        let nonBlocking = operation & LockABI.LOCK_NB != 0
        switch operation & ~LockABI.LOCK_NB {
        case LockABI.LOCK_UN:
            locks.unlockFlock(key, owner: owner)
            return 0
        case LockABI.LOCK_SH, LockABI.LOCK_EX:
            let exclusive = operation & LockABI.LOCK_EX != 0
            if locks.setFlock(key, owner: owner, exclusive: exclusive) { return 0 }
            if nonBlocking { throw Errno.EAGAIN }  // EWOULDBLOCK
            try task.block(on: [locks.queue]) { () throws(Errno) -> Bool in locks.setFlock(key, owner: owner, exclusive: exclusive) }
            return 0
        default:
            throw Errno.EINVAL
        }
    }
}
