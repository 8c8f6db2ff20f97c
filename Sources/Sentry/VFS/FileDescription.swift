// Open files: a FileDescription is shared by every descriptor dup'ed or inherited from the same open.
import CLinux
import Glibc
import LinuxABI

/// An open file. Subclasses implement what their kind of file can do; the defaults are Linux's errnos
/// for files that cannot do it.
class FileDescription: @unchecked Sendable {
    /// open(2) status flags (O_APPEND, O_NONBLOCK, access mode, ...).
    var flags: Int
    let dentry: Dentry?
    let lock = Lock()
    var offset: Int64 = 0
    let references = ReferenceCount()

    init(flags: Int, dentry: Dentry?) {
        self.flags = flags; self.dentry = dentry
    }

    var readable: Bool { flags & OpenFlags.O_ACCMODE != OpenFlags.O_WRONLY && flags & OpenFlags.O_PATH == 0 }
    var writable: Bool { let m = flags & OpenFlags.O_ACCMODE; return (m == OpenFlags.O_WRONLY || m == OpenFlags.O_RDWR) && flags & OpenFlags.O_PATH == 0 }
    var nonBlocking: Bool { flags & OpenFlags.O_NONBLOCK != 0 }

    /// Reads into `buffers` at the description's offset (or `at` for pread); returns bytes read.
    func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }
    func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }
    func seek(_ offset: Int64, whence: Int) throws(Errno) -> Int64 { throw Errno.ESPIPE }
    func stat() throws(Errno) -> FileStat {
        if let d = dentry { return try d.inode.stat() }
        throw Errno.EBADF
    }
    /// Directory entries from index `from` on, for getdents64.
    func directoryEntries(task: Task) throws(Errno) -> [DirEntry] { throw Errno.ENOTDIR }
    func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int { throw Errno.ENOTTY }
    /// Readiness for poll: (readable, writable, hung up).
    func readiness() -> (Bool, Bool, Bool) { (true, true, false) }
    /// Called when the last descriptor referring to this description is closed. Overrides call
    /// `super.release()` (or `readinessQueue.notifyReleased(self)`) so epoll sets drop the file.
    func release() {
        if let q = FileDescription.readinessLock.withLock({ lazyReadinessQueue }) { q.notifyReleased(self) }
    }

    // MARK: Readiness for poll/select/epoll (IPC/Readiness.swift)

    /// The poll bits (POLLIN, POLLOUT, POLLHUP, ...) that hold now. `task` is the poller: a signalfd
    /// reports the poller's own pending signals.
    func pollEvents(task: Task?) -> UInt32 { FileDescription.pollEvents(fromTriple: readiness()) }
    /// Notified whenever `pollEvents` may have changed. Files whose state lives in a shared object (a pipe)
    /// return that object's queue.
    var readinessQueue: ReadinessQueue {
        FileDescription.readinessLock.withLock {
            if let q = lazyReadinessQueue { return q }
            let q = ReadinessQueue()
            lazyReadinessQueue = q
            return q
        }
    }
    /// True for files that cannot notify (host pipes and ttys): pollers re-check them on a short interval.
    var readinessNeedsRecheck: Bool { false }
    private var lazyReadinessQueue: ReadinessQueue?
    private static let readinessLock = Lock()
    /// The host descriptor behind this file, for mmap of file contents.
    var hostFD: Int32? { nil }
    /// Writes `bytes` at `offset` within the file's current size, for no particular task: the write-back of
    /// shared file mappings. Files that cannot be written that way return false.
    func writeBack(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Bool { false }

    deinit {}

    /// The usual seek for files whose size is known.
    func seekWithSize(_ off: Int64, whence: Int, size: Int64) throws(Errno) -> Int64 {
        try lock.withLock { () throws(Errno) -> Int64 in
            let base: Int64
            switch whence {
            case SeekWhence.SEEK_SET: base = 0
            case SeekWhence.SEEK_CUR: base = offset
            case SeekWhence.SEEK_END: base = size
            default: throw Errno.EINVAL
            }
            let (n, o) = base.addingReportingOverflow(off)
            guard !o, n >= 0 else { throw Errno.EINVAL }
            offset = n
            return n
        }
    }
}

/// A file backed by a host descriptor: regular files the Gofer donated (read and written with
/// pread/pwrite, no Gofer round trip), and the stdio descriptors the sandbox was given.
final class HostFileDescription: FileDescription, @unchecked Sendable {
    let fd: Int32
    let seekable: Bool
    let ownsFD: Bool
    /// Stdio files given to the sandbox share their offset with the world outside (a shell appending to a
    /// log): I/O goes through the host's file offset instead of the description's own.
    let usesHostOffset: Bool

    init(fd: Int32, flags: Int, dentry: Dentry?, seekable: Bool, ownsFD: Bool = true, usesHostOffset: Bool = false) {
        self.fd = fd; self.seekable = seekable; self.ownsFD = ownsFD; self.usesHostOffset = usesHostOffset
        super.init(flags: flags, dentry: dentry)
    }
    deinit { if ownsFD { close(fd) } }

    override var hostFD: Int32? { fd }

    /// A stdio descriptor handed to the sandbox (taken over, not duplicated): its access mode and
    /// O_APPEND come from the host file, and it shares the host's file offset. nil if it is not open.
    static func stdio(takingOver fd: Int32) -> HostFileDescription? {
        let access = Glibc.fcntl(fd, F_GETFL)
        guard access >= 0 else { return nil }
        var st = Glibc.stat()
        fstat(fd, &st)
        return HostFileDescription(fd: fd, flags: Int(access & (O_ACCMODE | O_APPEND)), dentry: nil,
                                   seekable: (st.st_mode & S_IFMT) == S_IFREG, usesHostOffset: true)
    }

    override func writeBack(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Bool {
        guard seekable, writable else { return false }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0, offset < Int64(st.st_size) else { return true }
        let count = min(bytes.count, Int(Int64(st.st_size) - offset))  // a mapping never extends the file
        var done = 0
        while done < count {
            let n = pwrite(fd, bytes.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    private func iovecs(_ buffers: [UnsafeMutableRawBufferPointer]) -> [iovec] {
        buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readable else { throw Errno.EBADF }
        var iov = iovecs(buffers)
        if !seekable {
            if at != nil { throw Errno.ESPIPE }
            return try task.blockingHostIO(fd: fd, forWrite: false, nonBlocking: nonBlocking) { Glibc.readv(fd, &iov, Int32(iov.count)) }
        }
        if let at {
            let n = preadv(fd, &iov, Int32(iov.count), off_t(at))
            if n < 0 { throw Errno(errno) }
            return n
        }
        if usesHostOffset {
            let n = Glibc.readv(fd, &iov, Int32(iov.count))
            if n < 0 { throw Errno(errno) }
            return n
        }
        return try lock.withLock { () throws(Errno) -> Int in
            let n = preadv(fd, &iov, Int32(iov.count), off_t(offset))
            if n < 0 { throw Errno(errno) }
            offset += Int64(n)
            return n
        }
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard writable else { throw Errno.EBADF }
        var iov = iovecs(buffers)
        if !seekable {
            if at != nil { throw Errno.ESPIPE }
            return try task.blockingHostIO(fd: fd, forWrite: true, nonBlocking: nonBlocking) { Glibc.writev(fd, &iov, Int32(iov.count)) }
        }
        if let at {
            let n = pwritev(fd, &iov, Int32(iov.count), off_t(at))
            if n < 0 { throw Errno(errno) }
            return n
        }
        if usesHostOffset {
            let n = Glibc.writev(fd, &iov, Int32(iov.count))
            if n < 0 { throw Errno(errno) }
            return n
        }
        return try lock.withLock { () throws(Errno) -> Int in
            if flags & OpenFlags.O_APPEND != 0 {
                var st = Glibc.stat()
                if fstat(fd, &st) == 0 { offset = Int64(st.st_size) }
            }
            let n = pwritev(fd, &iov, Int32(iov.count), off_t(offset))
            if n < 0 { throw Errno(errno) }
            offset += Int64(n)
            return n
        }
    }

    override func seek(_ off: Int64, whence: Int) throws(Errno) -> Int64 {
        guard seekable else { throw Errno.ESPIPE }
        if usesHostOffset {
            guard whence >= 0 && whence <= 4 else { throw Errno.EINVAL }
            let r = lseek(fd, off_t(off), Int32(whence))
            if r < 0 { throw Errno(errno) }
            return Int64(r)
        }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { throw Errno(errno) }
        return try seekWithSize(off, whence: whence, size: Int64(st.st_size))
    }

    override func stat() throws(Errno) -> FileStat {
        if let d = dentry { return try d.inode.stat() }
        var st = Glibc.stat()
        guard fstat(fd, &st) == 0 else { throw Errno(errno) }
        return FileStat(hostStat: st)
    }

    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        switch request {
        case IoctlRequests.TCGETS:
            var buf = [UInt8](repeating: 0, count: 60)  // struct termios (kernel layout)
            let r = buf.withUnsafeMutableBytes { clinuxIoctl(fd, request, UInt(bitPattern: $0.baseAddress)) }
            if r < 0 { throw Errno(errno) }
            try task.mm.copyOut(argument, Array(buf[0..<36]))
            return 0
        case IoctlRequests.TIOCGWINSZ:
            var ws = [UInt8](repeating: 0, count: 8)
            let r = ws.withUnsafeMutableBytes { clinuxIoctl(fd, request, UInt(bitPattern: $0.baseAddress)) }
            if r < 0 { throw Errno(errno) }
            try task.mm.copyOut(argument, ws)
            return 0
        case IoctlRequests.TIOCGPGRP:
            // The foreground group of the sandbox's terminal is the container's init group.
            var tty = termios()
            if tcgetattr(fd, &tty) != 0 { throw Errno.ENOTTY }
            try task.mm.write(argument, Int32(task.threadGroup.processGroupID))
            return 0
        case IoctlRequests.TIOCSPGRP:
            var tty = termios()
            if tcgetattr(fd, &tty) != 0 { throw Errno.ENOTTY }
            return 0
        default:
            throw Errno.ENOTTY
        }
    }

    override func readiness() -> (Bool, Bool, Bool) {
        var p = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
        _ = poll(&p, 1, 0)
        return (p.revents & Int16(POLLIN) != 0, p.revents & Int16(POLLOUT) != 0, p.revents & Int16(POLLHUP) != 0)
    }

    override func pollEvents(task: Task?) -> UInt32 {
        if seekable { return super.pollEvents(task: task) }
        var p = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT | POLLPRI) | Int16(PollEvents.POLLRDHUP), revents: 0)
        _ = poll(&p, 1, 0)
        return UInt32(UInt16(bitPattern: p.revents)) & ~PollEvents.POLLNVAL
    }
    /// The host does not tell the Sentry when a host pipe or tty becomes ready.
    override var readinessNeedsRecheck: Bool { !seekable }
}

func clinuxIoctl(_ fd: Int32, _ request: UInt64, _ arg: UInt) -> Int32 {
    clinux_ioctl(fd, UInt(request), UInt(arg))
}

extension FileStat {
    init(hostStat st: Glibc.stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: st.st_mode, nlink: UInt64(st.st_nlink),
                  uid: st.st_uid, gid: st.st_gid, rdev: UInt64(st.st_rdev), size: Int64(st.st_size),
                  blockSize: Int64(st.st_blksize), blocks: Int64(st.st_blocks),
                  atime: Timespec(sec: Int64(st.st_atim.tv_sec), nsec: Int64(st.st_atim.tv_nsec)),
                  mtime: Timespec(sec: Int64(st.st_mtim.tv_sec), nsec: Int64(st.st_mtim.tv_nsec)),
                  ctime: Timespec(sec: Int64(st.st_ctim.tv_sec), nsec: Int64(st.st_ctim.tv_nsec)))
    }
}

/// A file whose whole content is produced when it is opened (proc files).
final class BufferFileDescription: FileDescription, @unchecked Sendable {
    let data: [UInt8]
    init(data: [UInt8], flags: Int, dentry: Dentry?) {
        self.data = data
        super.init(flags: flags, dentry: dentry)
    }
    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readable else { throw Errno.EBADF }
        return lock.withLock {
            var pos = Int(at ?? offset)
            var total = 0
            for b in buffers where pos < data.count {
                let n = min(b.count, data.count - pos)
                data.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
                pos += n; total += n
            }
            if at == nil { offset = Int64(pos) }
            return total
        }
    }
    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        throw writable ? Errno.EACCES : Errno.EBADF
    }
    override func seek(_ off: Int64, whence: Int) throws(Errno) -> Int64 {
        try seekWithSize(off, whence: whence, size: Int64(data.count))
    }
}

/// An open directory: its entries are read once, on the first getdents, and served by index.
final class DirectoryDescription: FileDescription, @unchecked Sendable {
    private var entries: [DirEntry]?
    override func directoryEntries(task: Task) throws(Errno) -> [DirEntry] {
        if let e = lock.withLock({ entries }) { return e }
        guard let d = dentry else { throw Errno.EBADF }
        var list = [DirEntry(name: ".", inode: (try? d.inode.stat().inode) ?? 0, type: DirentType.DT_DIR),
                    DirEntry(name: "..", inode: (try? (d.parent ?? d).inode.stat().inode) ?? 0, type: DirentType.DT_DIR)]
        list += try d.inode.readDirectory(task: task).filter { $0.name != "." && $0.name != ".." }
        lock.withLock { entries = list }
        return list
    }
    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EISDIR }
    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EBADF }
    override func seek(_ off: Int64, whence: Int) throws(Errno) -> Int64 {
        guard whence == SeekWhence.SEEK_SET, off >= 0 else { throw Errno.EINVAL }
        lock.withLock { offset = off; if off == 0 { entries = nil } }
        return off
    }
}
