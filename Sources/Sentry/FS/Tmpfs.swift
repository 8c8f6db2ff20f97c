// An in-memory file system: directories, regular files and symlinks that live in Sentry memory.
import LinuxABI

final class TmpfsInode: Inode, @unchecked Sendable {
    let lock = Lock()
    var attributes: FileStat
    var entries: [String: TmpfsInode] = [:]
    var data = FileData()
    var target: String = ""
    /// Extended attributes (XattrStore.swift), guarded by `lock`.
    var xattrs = XattrStore()
    static let device: UInt64 = 0x2d
    /// The budget of the tmpfs mount this file belongs to (nil: unlimited, e.g. the root overlay's upper layer).
    let volume: TmpfsVolume?
    /// Serializes renames, which lock two directories: without it two crossing renames could deadlock.
    private static let renameLock = Lock()

    /// `volume` must already have been charged for this inode (`TmpfsVolume.addInode`).
    init(mode: UInt32, owner: FileOwner = FileOwner(uid: 0, gid: 0), volume: TmpfsVolume? = nil) {
        let now = Timespec.now()
        attributes = FileStat(device: TmpfsInode.device, inode: Inode.allocateNumber(), mode: mode, nlink: 1,
                              uid: owner.uid, gid: owner.gid, atime: now, mtime: now, ctime: now)
        self.volume = volume
    }

    // The last reference gone (no name, no open file): its space and inode go back to the mount.
    deinit {
        volume?.shrink(from: data.count, to: 0)
        volume?.removeInode()
    }

    static func directory(mode: UInt32) -> TmpfsInode { TmpfsInode(mode: FileMode.S_IFDIR | mode) }

    /// The root directory of a tmpfs mount with its own limits.
    static func mountRoot(_ options: TmpfsOptions) -> TmpfsInode {
        let volume = TmpfsVolume(options)
        try? volume.addInode()  // the root counts, as on Linux; a limit of 0 is refused before this
        return TmpfsInode(mode: FileMode.S_IFDIR | (options.mode & 0o7777), owner: FileOwner(uid: options.uid, gid: options.gid),
                          volume: volume)
    }

    /// A new inode of this file's mount, charged to its budget.
    private func newInode(mode: UInt32, owner: FileOwner) throws(Errno) -> TmpfsInode {
        try volume?.addInode()
        return TmpfsInode(mode: mode, owner: owner, volume: volume)
    }

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
        // FIFOs and sockets made here have no pipe behind them yet.
        guard attributes.isRegular else { throw Errno.ENXIO }
        if flags & OpenFlags.O_TRUNC != 0 && flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY {
            lock.withLock { if data.count > 0 { volume?.shrink(from: data.count, to: 0); data.truncate(to: 0); attributes.mtime = Timespec.now(); attributes.ctime = attributes.mtime } }
        }
        return TmpfsFileDescription(inode: self, flags: flags, dentry: dentry)
    }

    /// Adds `inode` as `name`; EEXIST if the name is taken.
    private func insert(_ name: String, _ inode: TmpfsInode) throws(Errno) {
        try lock.withLock { () throws(Errno) in
            guard attributes.isDirectory else { throw Errno.ENOTDIR }
            guard entries[name] == nil else { throw Errno.EEXIST }
            entries[name] = inode
            touch()
        }
    }

    /// mtime and ctime of a directory whose entries changed (lock held).
    private func touch() { attributes.mtime = Timespec.now(); attributes.ctime = attributes.mtime }

    /// Creates a child; EEXIST if the name is taken.
    func create(_ name: String, mode: UInt32, owner: FileOwner = FileOwner(uid: 0, gid: 0)) throws(Errno) -> TmpfsInode {
        let n = try newInode(mode: mode, owner: owner)
        try insert(name, n)
        return n
    }

    override func create(_ name: String, mode: UInt32, owner: FileOwner, flags: Int) throws(Errno) -> (Inode, Int32?) {
        (try create(name, mode: FileMode.S_IFREG | (mode & 0o7777), owner: owner), nil)
    }

    override func makeDirectory(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        _ = try create(name, mode: FileMode.S_IFDIR | (mode & 0o7777), owner: owner)
    }

    override func createTemporary(mode: UInt32, owner: FileOwner) throws(Errno) -> Inode {
        guard lock.withLock({ attributes.isDirectory }) else { throw Errno.ENOTDIR }
        let n = try newInode(mode: FileMode.S_IFREG | (mode & 0o7777), owner: owner)
        n.attributes.nlink = 0
        return n
    }

    override func makeNode(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        let type = mode & FileMode.S_IFMT
        // Regular files, FIFOs and socket inodes (unix-socket bind); device nodes are not the app's to make.
        guard type == FileMode.S_IFREG || type == FileMode.S_IFIFO || type == FileMode.S_IFSOCK else { throw Errno.EPERM }
        _ = try create(name, mode: mode, owner: owner)
    }

    override func makeSymlink(_ name: String, target: String, owner: FileOwner) throws(Errno) {
        let n = try newInode(mode: FileMode.S_IFLNK | 0o777, owner: owner)
        n.target = target
        try insert(name, n)
    }

    override func link(_ name: String, to file: Inode) throws(Errno) {
        guard let file = file as? TmpfsInode else { throw Errno.EXDEV }
        guard file !== self, !file.lock.withLock({ file.attributes.isDirectory }) else { throw Errno.EPERM }
        try insert(name, file)
        file.lock.withLock { file.attributes.nlink += 1; file.attributes.ctime = Timespec.now() }
    }

    /// Removes `name`; a directory must be empty. Returns the removed inode.
    @discardableResult
    func remove(_ name: String, directory: Bool, expecting: TmpfsInode? = nil) throws(Errno) -> TmpfsInode {
        let e = try lock.withLock { () throws(Errno) -> TmpfsInode in
            guard let e = entries[name] else { throw Errno.ENOENT }
            if let expecting, e !== expecting { throw Errno.ENOENT }
            let isDirectory = e.lock.withLock { e.attributes.isDirectory }
            if directory {
                guard isDirectory else { throw Errno.ENOTDIR }
                guard e.lock.withLock({ e.entries.isEmpty }) else { throw Errno.ENOTEMPTY }
            } else if isDirectory { throw Errno.EISDIR }
            entries.removeValue(forKey: name)
            touch()
            return e
        }
        e.lock.withLock { if e.attributes.nlink > 0 { e.attributes.nlink -= 1 }; e.attributes.ctime = Timespec.now() }
        return e
    }

    override func remove(_ name: String, directory: Bool) throws(Errno) {
        try remove(name, directory: directory, expecting: nil)
    }

    override func rename(_ name: String, to newDirectory: Inode, _ newName: String, flags: UInt32) throws(Errno) {
        guard let destination = newDirectory as? TmpfsInode else { throw Errno.EXDEV }
        try TmpfsInode.renameLock.withLock { () throws(Errno) in
            guard let source = lock.withLock({ entries[name] }) else { throw Errno.ENOENT }
            let existing = destination.lock.withLock { destination.entries[newName] }
            if source === existing { return }
            if let existing {
                try RenameRules.check(source: try source.stat(), target: try existing.stat(), flags: flags,
                                      targetEmpty: existing.lock.withLock { existing.entries.isEmpty })
            } else if flags & RenameRules.exchange != 0 {
                throw Errno.ENOENT
            }
            lock.withLock { entries.removeValue(forKey: name); touch() }
            destination.lock.withLock {
                destination.entries[newName] = source
                destination.touch()
            }
            if let existing {
                if flags & RenameRules.exchange != 0 {
                    lock.withLock { entries[name] = existing }
                } else {
                    existing.lock.withLock { if existing.attributes.nlink > 0 { existing.attributes.nlink -= 1 } }
                }
            }
        }
    }

    /// Writes `buffers` at `start` (lock held), charging growth to the mount. Past its limit only what fits
    /// is written and the short count returned, as Linux does; ENOSPC (EFBIG past the largest size) if
    /// nothing could be.
    func writeLocked(_ buffers: [UnsafeRawBufferPointer], at start: Int) throws(Errno) -> Int {
        guard start >= 0 else { throw Errno.EINVAL }
        var pos = start
        for b in buffers where b.count > 0 {
            let old = data.count
            if pos >= FileData.maxSize { break }
            let wanted = min(b.count, FileData.maxSize - pos)
            // What the mount lets this buffer grow the file to; nothing is charged for a write inside it.
            let fit = pos + wanted > old ? (volume?.grow(from: old, to: pos + wanted, partial: true) ?? pos + wanted) : old
            let n = max(0, min(wanted, fit - pos))
            let stored = n > 0 ? data.write(from: UnsafeRawBufferPointer(rebasing: b[0..<n]), at: pos) : 0
            // Give back what was charged but not stored (nothing fit, or memory ran out).
            volume?.shrink(from: max(fit, old), to: data.count)
            pos += stored
            if stored < b.count { break }
        }
        let total = pos - start
        if total == 0 && buffers.contains(where: { $0.count > 0 }) {
            throw start >= FileData.maxSize ? Errno.EFBIG : Errno.ENOSPC
        }
        if total > 0 { attributes.mtime = Timespec.now(); attributes.ctime = attributes.mtime }
        return total
    }

    override func setAttributes(_ c: AttributeChanges) throws(Errno) {
        try lock.withLock { () throws(Errno) in
            let old = data.count
            // A truncate or fallocate that grows the file is charged in full first, or refused (ENOSPC).
            if let volume, c.has(AttributeChanges.size), attributes.isRegular, c.size <= Int64(FileData.maxSize), Int(c.size) > old {
                guard volume.grow(from: old, to: Int(c.size), partial: false) == Int(c.size) else { throw Errno.ENOSPC }
                do throws(Errno) { try attributes.apply(c, data: data) } catch {
                    volume.shrink(from: Int(c.size), to: old)
                    throw error
                }
                return
            }
            try attributes.apply(c, data: data)
            volume?.shrink(from: old, to: data.count)
        }
    }

    override func getXattr(_ name: [UInt8]) throws(Errno) -> [UInt8] {
        try lock.withLock { () throws(Errno) -> [UInt8] in try xattrs.get(name) }
    }
    override func setXattr(_ name: [UInt8], value: [UInt8], flags: UInt32) throws(Errno) {
        try lock.withLock { () throws(Errno) in try xattrs.set(name, value, flags: flags); attributes.ctime = .now() }
    }
    override func listXattr() throws(Errno) -> [[UInt8]] { lock.withLock { xattrs.names } }
    override func removeXattr(_ name: [UInt8]) throws(Errno) {
        try lock.withLock { () throws(Errno) in try xattrs.remove(name); attributes.ctime = .now() }
    }
}

/// Linux's rules for a rename whose target exists, shared by the in-memory file systems.
enum RenameRules {
    static let noReplace: UInt32 = 1, exchange: UInt32 = 2, whiteout: UInt32 = 4

    static func check(source: FileStat, target: FileStat, flags: UInt32, targetEmpty: Bool) throws(Errno) {
        if flags & noReplace != 0 { throw Errno.EEXIST }
        if flags & exchange != 0 { return }
        if source.isDirectory && !target.isDirectory { throw Errno.ENOTDIR }
        if !source.isDirectory && target.isDirectory { throw Errno.EISDIR }
        if target.isDirectory && !targetEmpty { throw Errno.ENOTEMPTY }
    }
}

extension FileStat {
    /// Applies a setattr to attributes kept in memory; `data` is the file's content (resized by size).
    mutating func apply(_ c: AttributeChanges, data: FileData) throws(Errno) {
        if c.has(AttributeChanges.size) {
            guard !isDirectory else { throw Errno.EISDIR }
            guard isRegular else { throw Errno.EINVAL }
            // The upper layer lives in Sentry memory: refuse sizes that could not be held there.
            guard c.size <= Int64(FileData.maxSize) else { throw Errno.EFBIG }
            data.truncate(to: Int(c.size))
        }
        let now = Timespec.now()
        if c.has(AttributeChanges.uid) { uid = c.uid }
        if c.has(AttributeChanges.gid) { gid = c.gid }
        if c.has(AttributeChanges.mode) { mode = (mode & FileMode.S_IFMT) | (c.mode & 0o7777) }
        if c.has(AttributeChanges.atime) { atime = Timespec(sec: c.atime.seconds, nsec: c.atime.nanoseconds) }
        if c.has(AttributeChanges.atimeNow) { atime = now }
        if c.has(AttributeChanges.mtime) { mtime = Timespec(sec: c.mtime.seconds, nsec: c.mtime.nanoseconds) }
        if c.has(AttributeChanges.mtimeNow) || c.has(AttributeChanges.size) { mtime = now }
        ctime = now
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
                for b in buffers {
                    let n = inode.data.read(into: b, at: pos)
                    pos += n; total += n
                    if n < b.count { break }
                }
                if at == nil { offset = Int64(pos) }
                return total
            }
        }
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard writable else { throw Errno.EBADF }
        return try lock.withLock { () throws(Errno) -> Int in
            try inode.lock.withLock { () throws(Errno) -> Int in
                let start = flags & OpenFlags.O_APPEND != 0 ? inode.data.count : Int(at ?? offset)
                let total = try inode.writeLocked(buffers.map { UnsafeRawBufferPointer($0) }, at: start)
                if at == nil { offset = Int64(start + total) }
                return total
            }
        }
    }

    override func seek(_ off: Int64, whence: Int) throws(Errno) -> Int64 {
        try seekWithSize(off, whence: whence, size: Int64(inode.lock.withLock { inode.data.count }))
    }

    override func writeBack(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Bool {
        guard writable else { return false }
        inode.lock.withLock {
            guard offset >= 0, offset < Int64(inode.data.count) else { return }
            let n = min(bytes.count, inode.data.count - Int(offset))  // a mapping never extends the file
            _ = inode.data.write(from: UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: Int(offset))
        }
        return true
    }
}
