// An in-memory file system: directories, regular files and symlinks that live in Sentry memory.
import LinuxABI

final class TmpfsInode: Inode, @unchecked Sendable {
    let lock = Lock()
    var attributes: FileStat
    var entries: [String: TmpfsInode] = [:]
    var data: [UInt8] = []
    var target: String = ""
    static let device: UInt64 = 0x2d

    init(mode: UInt32) {
        let now = Timespec.now()
        attributes = FileStat(device: TmpfsInode.device, inode: Inode.allocateNumber(), mode: mode, nlink: 1,
                              atime: now, mtime: now, ctime: now)
    }

    static func directory(mode: UInt32) -> TmpfsInode { TmpfsInode(mode: FileMode.S_IFDIR | mode) }

    override func stat() throws(Errno) -> FileStat {
        lock.withLock {
            var a = attributes
            if a.isRegular { a.size = Int64(data.count); a.blocks = (a.size + 511) / 512 }
            if a.isSymlink { a.size = Int64(target.utf8.count) }
            if a.isDirectory { a.nlink = 2 + UInt64(entries.values.filter { $0.attributes.isDirectory }.count) }
            return a
        }
    }

    override var cacheable: Bool { false }

    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        try lock.withLock { () throws(Errno) -> Inode in
            guard attributes.isDirectory else { throw Errno.ENOTDIR }
            guard let e = entries[name] else { throw Errno.ENOENT }
            return e
        }
    }

    override func readDirectory(task: Task) throws(Errno) -> [DirEntry] {
        lock.withLock {
            entries.sorted { $0.key < $1.key }.map { DirEntry(name: $0.key, inode: $0.value.attributes.inode, type: DirentType.from(mode: $0.value.attributes.mode)) }
        }
    }

    override func readlink(task: Task) throws(Errno) -> String {
        guard attributes.isSymlink else { throw Errno.EINVAL }
        return target
    }

    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if attributes.isDirectory {
            if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EISDIR }
            return DirectoryDescription(flags: flags, dentry: dentry)
        }
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        if flags & OpenFlags.O_TRUNC != 0 && flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY {
            lock.withLock { data = [] }
        }
        return TmpfsFileDescription(inode: self, flags: flags, dentry: dentry)
    }

    /// Creates a child; EEXIST if the name is taken.
    func create(_ name: String, mode: UInt32) throws(Errno) -> TmpfsInode {
        try lock.withLock { () throws(Errno) -> TmpfsInode in
            guard entries[name] == nil else { throw Errno.EEXIST }
            let n = TmpfsInode(mode: mode)
            entries[name] = n
            attributes.mtime = Timespec.now()
            return n
        }
    }

    func remove(_ name: String, directory: Bool) throws(Errno) {
        try lock.withLock { () throws(Errno) in
            guard let e = entries[name] else { throw Errno.ENOENT }
            if directory {
                guard e.attributes.isDirectory else { throw Errno.ENOTDIR }
                guard e.entries.isEmpty else { throw Errno.ENOTEMPTY }
            } else if e.attributes.isDirectory { throw Errno.EISDIR }
            entries.removeValue(forKey: name)
        }
    }
}

final class TmpfsFileDescription: FileDescription, @unchecked Sendable {
    let inode: TmpfsInode
    init(inode: TmpfsInode, flags: Int, dentry: Dentry) {
        self.inode = inode
        super.init(flags: flags, dentry: dentry)
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readable else { throw Errno.EBADF }
        return lock.withLock {
            inode.lock.withLock {
                var pos = Int(at ?? offset)
                var total = 0
                for b in buffers where pos < inode.data.count {
                    let n = min(b.count, inode.data.count - pos)
                    inode.data.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
                    pos += n; total += n
                }
                if at == nil { offset = Int64(pos) }
                return total
            }
        }
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard writable else { throw Errno.EBADF }
        return lock.withLock {
            inode.lock.withLock {
                var pos = flags & OpenFlags.O_APPEND != 0 ? inode.data.count : Int(at ?? offset)
                var total = 0
                for b in buffers {
                    if inode.data.count < pos + b.count {
                        inode.data.append(contentsOf: [UInt8](repeating: 0, count: pos + b.count - inode.data.count))
                    }
                    inode.data.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: pos).copyMemory(from: b.baseAddress!, byteCount: b.count) }
                    pos += b.count; total += b.count
                }
                inode.attributes.mtime = Timespec.now()
                if at == nil { offset = Int64(pos) }
                return total
            }
        }
    }

    override func seek(_ off: Int64, whence: Int) throws(Errno) -> Int64 {
        try seekWithSize(off, whence: whence, size: Int64(inode.lock.withLock { inode.data.count }))
    }
}
