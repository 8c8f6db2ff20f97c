// Building blocks for file systems whose files are computed by the Sentry (proc, dev).
import LinuxABI

/// A directory whose entries are computed at each lookup/listing.
class SyntheticDirectory: Inode, @unchecked Sendable {
    let number = Inode.allocateNumber()
    let mode: UInt32
    let device: UInt64
    init(mode: UInt32 = 0o555, device: UInt64) { self.mode = mode; self.device = device }

    /// name → inode, for the task looking.
    func children(task: Task?) -> [(String, Inode)] { [] }

    override var cacheable: Bool { false }
    override func stat() throws(Errno) -> FileStat {
        let t = Timespec.now()
        return FileStat(device: device, inode: number, mode: FileMode.S_IFDIR | mode, nlink: 2, atime: t, mtime: t, ctime: t)
    }
    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        guard let e = children(task: task).first(where: { $0.0 == name }) else { throw Errno.ENOENT }
        return e.1
    }
    override func readDirectory(task: Task) throws(Errno) -> [DirEntry] {
        children(task: task).map { (name, inode) in
            let st = try? inode.stat()
            return DirEntry(name: name, inode: st?.inode ?? 0, type: DirentType.from(mode: st?.mode ?? 0))
        }
    }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EISDIR }
        return DirectoryDescription(flags: flags, dentry: dentry)
    }
}

/// A directory with a fixed set of entries.
final class StaticDirectory: SyntheticDirectory, @unchecked Sendable {
    let entries: [(String, Inode)]
    init(device: UInt64, _ entries: [(String, Inode)]) { self.entries = entries; super.init(device: device) }
    override func children(task: Task?) -> [(String, Inode)] { entries }
}

/// A read-only file whose content is produced when it is opened.
final class SyntheticFile: Inode, @unchecked Sendable {
    let number = Inode.allocateNumber()
    let device: UInt64
    let mode: UInt32
    let content: (Task) -> [UInt8]
    init(device: UInt64, mode: UInt32 = 0o444, _ content: @escaping (Task) -> [UInt8]) {
        self.device = device; self.mode = mode; self.content = content
    }
    convenience init(device: UInt64, text: @escaping (Task) -> String) {
        self.init(device: device) { Array(text($0).utf8) }
    }
    override func stat() throws(Errno) -> FileStat {
        let t = Timespec.now()
        return FileStat(device: device, inode: number, mode: FileMode.S_IFREG | mode, nlink: 1, blockSize: 1024, atime: t, mtime: t, ctime: t)
    }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EACCES }
        return BufferFileDescription(data: content(task), flags: flags, dentry: dentry)
    }
}

/// A symlink; a "magic" one (proc's fd/N, exe, cwd) resolves straight to a dentry instead of a path.
final class SyntheticSymlink: Inode, @unchecked Sendable {
    let number = Inode.allocateNumber()
    let device: UInt64
    let target: (Task) -> String
    let magic: ((Task) -> Dentry?)?
    init(device: UInt64, target: @escaping (Task) -> String, magic: ((Task) -> Dentry?)? = nil) {
        self.device = device; self.target = target; self.magic = magic
    }
    override func stat() throws(Errno) -> FileStat {
        let t = Timespec.now()
        return FileStat(device: device, inode: number, mode: FileMode.S_IFLNK | 0o777, nlink: 1, atime: t, mtime: t, ctime: t)
    }
    override func readlink(task: Task) throws(Errno) -> String { target(task) }
    override func magicLinkTarget(task: Task) -> Dentry? { magic?(task) }
}
