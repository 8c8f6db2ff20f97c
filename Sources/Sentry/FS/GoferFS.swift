// Files of the container's root, reached through the Gofer: namespace operations are Gofer requests;
// regular files are host descriptors the Gofer donates, read and written directly by the Sentry.
import Glibc
import GoferProtocol
import LinuxABI

final class GoferInode: Inode, @unchecked Sendable {
    unowned let kernel: Kernel
    let handle: FileHandle
    /// Whether the mount writes through to the Gofer (`--overlay2=none`). A read-only root never changes
    /// under us (exclusive access), so its attributes as of the walk stay true.
    let writable: Bool
    /// `--file-access=shared` (or a bind mount under `--file-access-mounts=shared`): the host may change
    /// the files too, so attributes are never kept and cached children are checked on every walk.
    let shared: Bool
    private let lock = Lock()
    private var cached: FileAttributes
    /// Set when the file may have changed behind the cached attributes (written through a donated
    /// descriptor, or a directory whose entries changed): stat asks the Gofer again.
    private var stale = false
    /// A regular file opened for writing: its size and times change with every write, so it is always
    /// asked for afresh.
    private var written = false

    init(kernel: Kernel, handle: FileHandle, attributes: FileAttributes, writable: Bool = false, shared: Bool = false) {
        self.kernel = kernel; self.handle = handle; self.cached = attributes; self.writable = writable
        self.shared = shared
    }
    deinit { kernel.gofer.close(handle) }

    var attributes: FileAttributes {
        // When writing through, a regular file may be written through any descriptor of it (another
        // dentry's, or a hard link's): its size and times are always asked for afresh.
        let (value, refresh) = lock.withLock { (cached, shared || stale || written || (writable && cached.isRegular)) }
        guard refresh, let fresh = try? kernel.gofer.attributes(handle) else { return value }
        lock.withLock { cached = fresh; stale = false }
        return fresh
    }

    private func update(_ a: FileAttributes) { lock.withLock { cached = a; stale = false } }
    private func changed() { lock.withLock { stale = true } }

    override func stat() throws(Errno) -> FileStat {
        let a = attributes
        return FileStat(device: a.dev, inode: a.inode, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid,
                        rdev: a.rdev, size: a.size, blockSize: a.blockSize, blocks: a.blocks,
                        atime: Timespec(sec: a.atime.seconds, nsec: a.atime.nanoseconds),
                        mtime: Timespec(sec: a.mtime.seconds, nsec: a.mtime.nanoseconds),
                        ctime: Timespec(sec: a.ctime.seconds, nsec: a.ctime.nanoseconds))
    }

    private var fileType: UInt32 { lock.withLock { cached.fileType } }

    private func child(_ c: WalkedComponent) -> GoferInode {
        GoferInode(kernel: kernel, handle: c.handle, attributes: c.attributes, writable: writable, shared: shared)
    }

    override var revalidatesChildren: Bool { shared }

    /// Shared access: the cached child stays only while the Gofer still finds the same file under `name`
    /// (same device and inode); otherwise the fresh one replaces it, or ENOENT when it is gone.
    override func revalidate(_ name: String, cached: Inode, task: Task?) throws(Errno) -> Inode? {
        let (walked, failure) = try kernel.gofer.walk(handle, [name])
        guard let first = walked.first else { throw failure ?? Errno.ENOENT }
        if let old = cached as? GoferInode {
            let before = old.lock.withLock { old.cached }
            if before.inode == first.attributes.inode && before.dev == first.attributes.dev {
                kernel.gofer.close(first.handle)
                old.update(first.attributes)
                return nil
            }
        }
        return child(first)
    }

    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        guard fileType == FileMode.S_IFDIR else { throw Errno.ENOTDIR }
        let (walked, failure) = try kernel.gofer.walk(handle, [name])
        guard let first = walked.first else { throw failure ?? Errno.ENOENT }
        return child(first)
    }

    override func readDirectory(task: Task) throws(Errno) -> [DirEntry] { try listing() }

    /// The directory's entries ("." and ".." not included).
    func listing() throws(Errno) -> [DirEntry] {
        try kernel.gofer.readDirectory(handle).map { DirEntry(name: String(decoding: $0.rawName, as: UTF8.self), inode: $0.inode, type: $0.type) }
    }

    override func readlink(task: Task) throws(Errno) -> String { try linkTarget() }

    func linkTarget() throws(Errno) -> String {
        guard fileType == FileMode.S_IFLNK else { throw Errno.EINVAL }
        return try kernel.gofer.readlink(handle)
    }

    /// The whole content of a regular file (for an overlay copy-up), read through a donated descriptor.
    func contents() throws(Errno) -> [UInt8] {
        let fd = try kernel.gofer.open(handle, flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC))
        defer { _ = Glibc.close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.pread(fd, $0.baseAddress, $0.count, off_t(data.count)) }
            if n < 0 { throw Errno(Glibc.errno) }
            if n == 0 { return data }
            data += buffer[0..<n]
        }
    }

    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        let type = fileType
        if type == FileMode.S_IFDIR {
            if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EISDIR }
            return DirectoryDescription(flags: flags, dentry: dentry)
        }
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        guard type == FileMode.S_IFREG else { throw Errno.ENXIO }
        let access = flags & OpenFlags.O_ACCMODE
        let truncate = access != OpenFlags.O_RDONLY ? flags & OpenFlags.O_TRUNC : 0
        let fd = try kernel.gofer.open(handle, flags: Int32(access | truncate | OpenFlags.O_CLOEXEC))
        if access != OpenFlags.O_RDONLY { lock.withLock { written = true } }
        return HostFileDescription(fd: fd, flags: flags & ~OpenFlags.O_TRUNC, dentry: dentry, seekable: true)
    }

    // MARK: - Changes, written through to the Gofer

    override func create(_ name: String, mode: UInt32, owner: FileOwner, flags: Int) throws(Errno) -> (Inode, Int32?) {
        let access = flags & (OpenFlags.O_ACCMODE | OpenFlags.O_APPEND)
        let (c, fd) = try kernel.gofer.create(handle, Array(name.utf8), flags: Int32(access), mode: mode, owner: owner)
        changed()
        let inode = child(c)
        if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { inode.lock.withLock { inode.written = true } }
        return (inode, fd)
    }

    override func makeDirectory(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        _ = try kernel.gofer.mkdir(handle, Array(name.utf8), mode: mode, owner: owner)
        changed()
    }

    override func makeNode(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        _ = try kernel.gofer.mknod(handle, Array(name.utf8), mode: mode, owner: owner)
        changed()
    }

    override func makeSymlink(_ name: String, target: String, owner: FileOwner) throws(Errno) {
        _ = try kernel.gofer.symlink(handle, Array(name.utf8), target: Array(target.utf8), owner: owner)
        changed()
    }

    override func link(_ name: String, to file: Inode) throws(Errno) {
        guard let file = file as? GoferInode else { throw Errno.EXDEV }
        _ = try kernel.gofer.link(file.handle, handle, Array(name.utf8))
        changed(); file.changed()
    }

    override func remove(_ name: String, directory: Bool) throws(Errno) {
        try kernel.gofer.unlink(handle, Array(name.utf8), removeDirectory: directory)
        changed()
    }

    override func rename(_ name: String, to newDirectory: Inode, _ newName: String, flags: UInt32) throws(Errno) {
        guard let destination = newDirectory as? GoferInode else { throw Errno.EXDEV }
        try kernel.gofer.rename(handle, Array(name.utf8), to: destination.handle, Array(newName.utf8), flags: flags)
        changed(); destination.changed()
    }

    // Extended attributes on the Gofer's file; a Gofer too old for them (ENOSYS) has none to offer.
    override func getXattr(_ name: [UInt8]) throws(Errno) -> [UInt8] {
        do throws(Errno) { return try kernel.gofer.getXattr(handle, name) } catch .ENOSYS { throw Errno.EOPNOTSUPP }
    }
    override func setXattr(_ name: [UInt8], value: [UInt8], flags: UInt32) throws(Errno) {
        do throws(Errno) { try kernel.gofer.setXattr(handle, name, value: value, flags: flags) } catch .ENOSYS { throw Errno.EOPNOTSUPP }
    }
    override func listXattr() throws(Errno) -> [[UInt8]] {
        do throws(Errno) { return try kernel.gofer.listXattr(handle) } catch .ENOSYS { return [] }
    }
    override func removeXattr(_ name: [UInt8]) throws(Errno) {
        do throws(Errno) { try kernel.gofer.removeXattr(handle, name) } catch .ENOSYS { throw Errno.EOPNOTSUPP }
    }

    override func setAttributes(_ changes: AttributeChanges) throws(Errno) {
        update(try kernel.gofer.setAttributes(handle, changes))
    }
}
