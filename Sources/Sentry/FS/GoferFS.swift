// Files of the container's root, reached through the Gofer: namespace operations are Gofer requests;
// regular files are host descriptors the Gofer donates, read and written directly by the Sentry.
import GoferProtocol
import LinuxABI

final class GoferInode: Inode, @unchecked Sendable {
    unowned let kernel: Kernel
    let handle: FileHandle
    /// Attributes as of the walk; the root is read-only for now, so they stay true (exclusive access).
    let attributes: FileAttributes

    init(kernel: Kernel, handle: FileHandle, attributes: FileAttributes) {
        self.kernel = kernel; self.handle = handle; self.attributes = attributes
    }
    deinit { kernel.gofer.close(handle) }

    override func stat() throws(Errno) -> FileStat {
        let a = attributes
        return FileStat(device: a.dev, inode: a.inode, mode: a.mode, nlink: a.nlink, uid: a.uid, gid: a.gid,
                        rdev: a.rdev, size: a.size, blockSize: a.blockSize, blocks: a.blocks,
                        atime: Timespec(sec: a.atime.seconds, nsec: a.atime.nanoseconds),
                        mtime: Timespec(sec: a.mtime.seconds, nsec: a.mtime.nanoseconds),
                        ctime: Timespec(sec: a.ctime.seconds, nsec: a.ctime.nanoseconds))
    }

    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        guard attributes.isDirectory else { throw Errno.ENOTDIR }
        let (walked, failure) = try kernel.gofer.walk(handle, [name])
        guard let first = walked.first else { throw failure ?? Errno.ENOENT }
        return GoferInode(kernel: kernel, handle: first.handle, attributes: first.attributes)
    }

    override func readDirectory(task: Task) throws(Errno) -> [DirEntry] {
        try kernel.gofer.readDirectory(handle).map { DirEntry(name: String(decoding: $0.rawName, as: UTF8.self), inode: $0.inode, type: $0.type) }
    }

    override func readlink(task: Task) throws(Errno) -> String {
        guard attributes.isSymlink else { throw Errno.EINVAL }
        return try kernel.gofer.readlink(handle)
    }

    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        let type = attributes.fileType
        if type == FileMode.S_IFDIR {
            if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EISDIR }
            return DirectoryDescription(flags: flags, dentry: dentry)
        }
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        guard type == FileMode.S_IFREG else { throw Errno.ENXIO }
        let hostFlags = Int32(flags & OpenFlags.O_ACCMODE) | Int32(OpenFlags.O_CLOEXEC)
        let fd = try kernel.gofer.open(handle, flags: hostFlags)
        return HostFileDescription(fd: fd, flags: flags, dentry: dentry, seekable: true)
    }
}
