// Changes to the file tree: mkdir, mknod, unlink/rmdir, rename, link, symlink, chmod, chown, truncate,
// fallocate, utimes. Handlers check arguments, permissions and read-only mounts, then ask the parent
// directory's inode (tmpfs, the root overlay, or the Gofer when writing through) to make the change,
// and forget cached dentries of names that changed.
import GoferProtocol
import LinuxABI

/// Permission bits with a meaning of their own (<sys/stat.h>).
enum SpecialModeBits {
    static let setUID: UInt32 = 0o4000, setGID: UInt32 = 0o2000, sticky: UInt32 = 0o1000
}

extension Kernel {
    /// The directory and last name of a path that is about to gain or lose a name.
    func parentForChange(_ task: Task, dirfd: Int32, pathAddress: UInt64) throws(Errno) -> (Dentry, String) {
        let path = try task.mm.readString(pathAddress)
        return try resolveParent(task: task, path: path, start: try startDentry(task, dirfd, path: path))
    }

    /// May the task add or remove names in `directory`? (EROFS on a read-only mount, EACCES without w+x.)
    func checkDirectoryChange(_ task: Task, _ directory: Dentry) throws(Errno) {
        if directory.readOnly { throw Errno.EROFS }
        try checkAccess(task, try directory.inode.stat(), read: false, write: true, execute: true)
    }

    /// The owner of a new file: the fs uid, and the directory's group when it is set-gid.
    func newOwner(_ task: Task, in directory: Dentry) -> FileOwner {
        let c = task.credentials
        if let st = try? directory.inode.stat(), st.mode & SpecialModeBits.setGID != 0 { return FileOwner(uid: c.fsuid, gid: st.gid) }
        return FileOwner(uid: c.fsuid, gid: c.fsgid)
    }

    private func exists(_ parent: Dentry, _ name: String, _ task: Task) -> Bool { (try? parent.child(name, task: task)) != nil }

    func mkdir(_ task: Task, dirfd: Int32, pathAddress: UInt64, mode: UInt32) throws(Errno) -> Int {
        let (parent, name) = try parentForChange(task, dirfd: dirfd, pathAddress: pathAddress)
        guard !name.isEmpty, !exists(parent, name, task) else { throw Errno.EEXIST }
        try checkDirectoryChange(task, parent)
        try parent.inode.makeDirectory(name, mode: mode & 0o7777 & ~task.fs.umask, owner: newOwner(task, in: parent))
        if FSNotify.active { FSNotify.child(of: parent.inode, name: name, InotifyABI.IN_CREATE, isDirectory: true) }
        return 0
    }

    func mknod(_ task: Task, dirfd: Int32, pathAddress: UInt64, mode: UInt32) throws(Errno) -> Int {
        var type = mode & FileMode.S_IFMT
        if type == 0 { type = FileMode.S_IFREG }
        switch type {
        case FileMode.S_IFREG, FileMode.S_IFIFO: break
        // Devices are never made inside the sandbox; sockets come from bind(2), directories from mkdir.
        case FileMode.S_IFCHR, FileMode.S_IFBLK, FileMode.S_IFSOCK, FileMode.S_IFDIR: throw Errno.EPERM
        default: throw Errno.EINVAL
        }
        let (parent, name) = try parentForChange(task, dirfd: dirfd, pathAddress: pathAddress)
        guard !name.isEmpty, !exists(parent, name, task) else { throw Errno.EEXIST }
        try checkDirectoryChange(task, parent)
        try parent.inode.makeNode(name, mode: type | (mode & 0o7777 & ~task.fs.umask), owner: newOwner(task, in: parent))
        if FSNotify.active { FSNotify.child(of: parent.inode, name: name, InotifyABI.IN_CREATE, isDirectory: false) }
        return 0
    }

    func unlink(_ task: Task, dirfd: Int32, pathAddress: UInt64, directory: Bool) throws(Errno) -> Int {
        let (parent, name) = try parentForChange(task, dirfd: dirfd, pathAddress: pathAddress)
        guard !name.isEmpty else { throw directory ? Errno.EBUSY : Errno.EISDIR }
        let child = try parent.child(name, task: task)
        if child.mounted != nil { throw Errno.EBUSY }
        try checkDirectoryChange(task, parent)
        try checkSticky(task, parent, child)
        let links = FSNotify.active ? (try? child.inode.stat().nlink) : nil
        try parent.inode.remove(name, directory: directory)
        parent.invalidate(name)
        if FSNotify.active {
            FSNotify.removed(child.inode, name: name, from: parent.inode, isDirectory: directory, lastLink: (links ?? 1) <= 1, kernel: self)
        }
        return 0
    }

    /// In a sticky directory (/tmp) only the owner of the file or of the directory may remove it.
    private func checkSticky(_ task: Task, _ parent: Dentry, _ child: Dentry) throws(Errno) {
        let uid = task.credentials.fsuid
        guard uid != 0, let dir = try? parent.inode.stat(), dir.mode & SpecialModeBits.sticky != 0 else { return }
        if dir.uid != uid, (try? child.inode.stat().uid) != uid { throw Errno.EPERM }
    }

    func rename(_ task: Task, oldDirfd: Int32, oldPath: UInt64, newDirfd: Int32, newPath: UInt64, flags: UInt32) throws(Errno) -> Int {
        guard flags & ~(RenameRules.noReplace | RenameRules.exchange | RenameRules.whiteout) == 0,
              flags & (RenameRules.noReplace | RenameRules.exchange) != RenameRules.noReplace | RenameRules.exchange
        else { throw Errno.EINVAL }
        // Whiteouts are an overlayfs implementation detail the Sentry keeps to itself.
        if flags & RenameRules.whiteout != 0 { throw Errno.EINVAL }
        let (oldParent, oldName) = try parentForChange(task, dirfd: oldDirfd, pathAddress: oldPath)
        let (newParent, newName) = try parentForChange(task, dirfd: newDirfd, pathAddress: newPath)
        guard !oldName.isEmpty, !newName.isEmpty else { throw Errno.EBUSY }
        let source = try oldParent.child(oldName, task: task)
        let target = try? newParent.child(newName, task: task)
        if source.mounted != nil || target?.mounted != nil { throw Errno.EBUSY }
        guard oldParent.mountRoot === newParent.mountRoot else { throw Errno.EXDEV }
        try checkDirectoryChange(task, oldParent)
        try checkDirectoryChange(task, newParent)
        try checkSticky(task, oldParent, source)
        // A directory cannot move below itself (nor, when exchanging, the other way round).
        if try source.inode.stat().isDirectory, newParent.isDescendant(of: source) { throw Errno.EINVAL }
        if flags & RenameRules.exchange != 0, let target, try target.inode.stat().isDirectory,
           oldParent.isDescendant(of: target) { throw Errno.EINVAL }
        let replacedLinks = FSNotify.active ? target.flatMap { try? $0.inode.stat().nlink } : nil
        try oldParent.inode.rename(oldName, to: newParent.inode, newName, flags: flags)
        oldParent.invalidate(oldName)
        newParent.invalidate(newName)
        if FSNotify.active {
            FSNotify.renamed(source.inode, from: oldParent.inode, oldName, to: newParent.inode, newName, replaced: target?.inode,
                             replacedLastLink: (replacedLinks ?? 1) <= 1, exchange: flags & RenameRules.exchange != 0, kernel: self)
        }
        return 0
    }

    func link(_ task: Task, oldDirfd: Int32, oldPath: UInt64, newDirfd: Int32, newPath: UInt64, flags: Int) throws(Errno) -> Int {
        guard flags & ~(AtFlags.AT_SYMLINK_FOLLOW | AtFlags.AT_EMPTY_PATH) == 0 else { throw Errno.EINVAL }
        let followFlags = flags & AtFlags.AT_SYMLINK_FOLLOW != 0 ? 0 : AtFlags.AT_SYMLINK_NOFOLLOW
        // Linking a descriptor itself (AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH, as on Linux.
        if flags & AtFlags.AT_EMPTY_PATH != 0 && !task.hasCapability(Capability.CAP_DAC_READ_SEARCH) { throw Errno.ENOENT }
        let old = try resolveAt(task, dirfd: oldDirfd, pathAddress: oldPath, flags: followFlags | (flags & AtFlags.AT_EMPTY_PATH))
        let oldStat = try old.inode.stat()
        if oldStat.isDirectory { throw Errno.EPERM }
        // A file without a name comes back only if it is an O_TMPFILE file opened without O_EXCL.
        if oldStat.nlink == 0 && !TemporaryFiles.isLinkable(old.inode) { throw Errno.ENOENT }
        let (parent, name) = try parentForChange(task, dirfd: newDirfd, pathAddress: newPath)
        guard !name.isEmpty, !exists(parent, name, task) else { throw Errno.EEXIST }
        guard old.mountRoot === parent.mountRoot else { throw Errno.EXDEV }
        try checkDirectoryChange(task, parent)
        try parent.inode.link(name, to: old.inode)
        if oldStat.nlink == 0 { TemporaryFiles.linked(old.inode) }
        if FSNotify.active {
            FSNotify.inode(old.inode, InotifyABI.IN_ATTRIB)
            FSNotify.child(of: parent.inode, name: name, InotifyABI.IN_CREATE, isDirectory: false)
        }
        return 0
    }

    func symlink(_ task: Task, targetAddress: UInt64, dirfd: Int32, pathAddress: UInt64) throws(Errno) -> Int {
        let target = try task.mm.readString(targetAddress)
        guard !target.isEmpty else { throw Errno.ENOENT }
        let (parent, name) = try parentForChange(task, dirfd: dirfd, pathAddress: pathAddress)
        guard !name.isEmpty, !exists(parent, name, task) else { throw Errno.EEXIST }
        try checkDirectoryChange(task, parent)
        try parent.inode.makeSymlink(name, target: target, owner: newOwner(task, in: parent))
        if FSNotify.active { FSNotify.child(of: parent.inode, name: name, InotifyABI.IN_CREATE, isDirectory: false) }
        return 0
    }

    // MARK: - Attributes

    /// The file a chmod/chown/utimes names: by descriptor (`fd`), or by path.
    func changeTarget(_ task: Task, dirfd: Int32, pathAddress: UInt64?, flags: Int) throws(Errno) -> Dentry {
        guard let pathAddress else {
            guard let d = try task.fdTable.get(dirfd).dentry else { throw Errno.EBADF }
            return d
        }
        return try resolveAt(task, dirfd: dirfd, pathAddress: pathAddress, flags: flags)
    }

    func chmod(_ task: Task, _ d: Dentry, mode: UInt32) throws(Errno) -> Int {
        let st = try d.inode.stat()
        if d.readOnly { throw Errno.EROFS }
        let c = task.credentials
        if c.fsuid != st.uid && !task.hasCapability(Capability.CAP_FOWNER) { throw Errno.EPERM }
        var changes = AttributeChanges()
        changes.mask = AttributeChanges.mode
        changes.mode = mode & 0o7777
        // Only members of the file's group may leave it set-gid.
        if !task.hasCapability(Capability.CAP_FSETID) && st.gid != c.fsgid && !c.groups.contains(st.gid) { changes.mode &= ~SpecialModeBits.setGID }
        try d.inode.setAttributes(changes)
        if FSNotify.active { FSNotify.attributesChanged(d, changes) }
        return 0
    }

    func chown(_ task: Task, _ d: Dentry, uid rawUID: UInt32, gid rawGID: UInt32) throws(Errno) -> Int {
        let st = try d.inode.stat()
        if d.readOnly { throw Errno.EROFS }
        let c = task.credentials
        var changes = AttributeChanges()
        if rawUID != UInt32.max { changes.mask |= AttributeChanges.uid; changes.uid = rawUID }
        if rawGID != UInt32.max { changes.mask |= AttributeChanges.gid; changes.gid = rawGID }
        if !task.hasCapability(Capability.CAP_CHOWN) {
            // Unprivileged: the owner may only change the group, to one of its own.
            if changes.has(AttributeChanges.uid) && rawUID != st.uid { throw Errno.EPERM }
            if changes.has(AttributeChanges.gid) && rawGID != st.gid {
                guard st.uid == c.fsuid, rawGID == c.fsgid || c.groups.contains(rawGID) else { throw Errno.EPERM }
            }
            if changes.mask != 0 && st.uid != c.fsuid { throw Errno.EPERM }
        }
        if changes.mask == 0 { return 0 }
        // A change of owner drops set-uid (and set-gid on group-executable files), as Linux does.
        if !st.isDirectory && st.mode & (SpecialModeBits.setUID | SpecialModeBits.setGID) != 0 {
            var mode = st.mode & 0o7777 & ~SpecialModeBits.setUID
            if st.mode & 0o010 != 0 { mode &= ~SpecialModeBits.setGID }
            changes.mask |= AttributeChanges.mode
            changes.mode = mode
        }
        if st.isSymlink { changes.mask &= ~AttributeChanges.mode }
        try d.inode.setAttributes(changes)
        if FSNotify.active { FSNotify.attributesChanged(d, changes) }
        return 0
    }

    func truncate(_ task: Task, _ d: Dentry, length: Int64) throws(Errno) -> Int {
        guard length >= 0 else { throw Errno.EINVAL }
        let st = try d.inode.stat()
        if st.isDirectory { throw Errno.EISDIR }
        guard st.isRegular else { throw Errno.EINVAL }
        if d.readOnly { throw Errno.EROFS }
        try checkAccess(task, st, read: false, write: true, execute: false)
        return try resize(d, length)
    }

    func ftruncate(_ task: Task, fd: Int32, length: Int64) throws(Errno) -> Int {
        guard length >= 0 else { throw Errno.EINVAL }
        let file = try task.fdTable.get(fd)
        guard file.writable, let d = file.dentry, try d.inode.stat().isRegular else { throw Errno.EINVAL }
        return try resize(d, length)
    }

    private func resize(_ d: Dentry, _ length: Int64) throws(Errno) -> Int {
        var changes = AttributeChanges()
        changes.mask = AttributeChanges.size
        changes.size = length
        try d.inode.setAttributes(changes)
        if FSNotify.active { FSNotify.attributesChanged(d, changes) }
        return 0
    }

    /// fallocate: mode 0 extends the size (space is not reserved ahead); KEEP_SIZE is accepted as a no-op.
    func fallocate(_ task: Task, fd: Int32, mode: Int, offset: Int64, length: Int64) throws(Errno) -> Int {
        guard offset >= 0, length > 0 else { throw Errno.EINVAL }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow else { throw Errno.EFBIG }
        let file = try task.fdTable.get(fd)
        guard file.writable else { throw Errno.EBADF }
        guard let d = file.dentry else { throw Errno.ESPIPE }
        let st = try d.inode.stat()
        if st.isDirectory { throw Errno.EISDIR }
        guard st.isRegular else { throw Errno.ENODEV }
        let keepSize = 1  // FALLOC_FL_KEEP_SIZE
        guard mode == 0 || mode == keepSize else { throw Errno.EOPNOTSUPP }
        if mode == 0 && end > st.size { return try resize(d, end) }
        return 0
    }

    /// What utimensat and its older relatives ask: each time is "now", "leave" (nil) or a value.
    enum TimeRequest: Equatable { case now, omit, set(FileTime) }

    func setTimes(_ task: Task, _ d: Dentry, atime: TimeRequest, mtime: TimeRequest) throws(Errno) -> Int {
        if atime == .omit && mtime == .omit { return 0 }
        let st = try d.inode.stat()
        if d.readOnly { throw Errno.EROFS }
        let c = task.credentials
        if c.fsuid != st.uid && !task.hasCapability(Capability.CAP_FOWNER) {
            // Anyone who may write the file may set its times to now; explicit times need ownership.
            let explicit = [atime, mtime].contains { if case .set = $0 { return true } else { return false } }
            if explicit { throw Errno.EPERM }
            try checkAccess(task, st, read: false, write: true, execute: false)
        }
        var changes = AttributeChanges()
        switch atime {
        case .now: changes.mask |= AttributeChanges.atimeNow
        case .omit: break
        case let .set(t): changes.mask |= AttributeChanges.atime; changes.atime = t
        }
        switch mtime {
        case .now: changes.mask |= AttributeChanges.mtimeNow
        case .omit: break
        case let .set(t): changes.mask |= AttributeChanges.mtime; changes.mtime = t
        }
        try d.inode.setAttributes(changes)
        if FSNotify.active { FSNotify.attributesChanged(d, changes) }
        return 0
    }

    /// Two struct timespec (utimensat) or timeval (utimes) at `address`; NULL means both "now".
    func readTimes(_ task: Task, _ address: UInt64, microseconds: Bool) throws(Errno) -> (TimeRequest, TimeRequest) {
        guard address != 0 else { return (.now, .now) }
        var result: [TimeRequest] = []
        for i in 0..<2 {
            let seconds = try task.mm.read(address + UInt64(16 * i), as: Int64.self)
            let fraction = try task.mm.read(address + UInt64(16 * i + 8), as: Int64.self)
            if microseconds {
                guard fraction >= 0, fraction < 1_000_000 else { throw Errno.EINVAL }
                result.append(.set(FileTime(seconds: seconds, nanoseconds: fraction * 1000)))
            } else if fraction == (1 << 30) - 1 {  // UTIME_NOW
                result.append(.now)
            } else if fraction == (1 << 30) - 2 {  // UTIME_OMIT
                result.append(.omit)
            } else {
                guard fraction >= 0, fraction < 1_000_000_000 else { throw Errno.EINVAL }
                result.append(.set(FileTime(seconds: seconds, nanoseconds: fraction)))
            }
        }
        return (result[0], result[1])
    }
}

extension SyscallTable {
    func registerFileChangeSyscalls() {
        register(SyscallNumber.mkdir) { (t, a) throws(Errno) -> Int in try t.kernel.mkdir(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, mode: UInt32(truncatingIfNeeded: a.a1)) }
        register(SyscallNumber.mkdirat) { (t, a) throws(Errno) -> Int in try t.kernel.mkdir(t, dirfd: a.int0, pathAddress: a.a1, mode: UInt32(truncatingIfNeeded: a.a2)) }
        register(SyscallNumber.mknod) { (t, a) throws(Errno) -> Int in try t.kernel.mknod(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, mode: UInt32(truncatingIfNeeded: a.a1)) }
        register(SyscallNumber.mknodat) { (t, a) throws(Errno) -> Int in try t.kernel.mknod(t, dirfd: a.int0, pathAddress: a.a1, mode: UInt32(truncatingIfNeeded: a.a2)) }
        register(SyscallNumber.unlink) { (t, a) throws(Errno) -> Int in try t.kernel.unlink(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, directory: false) }
        register(SyscallNumber.rmdir) { (t, a) throws(Errno) -> Int in try t.kernel.unlink(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, directory: true) }
        register(SyscallNumber.unlinkat) { (t, a) throws(Errno) -> Int in
            guard a.a2 & ~UInt64(AtFlags.AT_REMOVEDIR) == 0 else { throw Errno.EINVAL }
            return try t.kernel.unlink(t, dirfd: a.int0, pathAddress: a.a1, directory: a.a2 & UInt64(AtFlags.AT_REMOVEDIR) != 0)
        }
        register(SyscallNumber.rename) { (t, a) throws(Errno) -> Int in
            try t.kernel.rename(t, oldDirfd: AtFlags.AT_FDCWD, oldPath: a.a0, newDirfd: AtFlags.AT_FDCWD, newPath: a.a1, flags: 0)
        }
        register(SyscallNumber.renameat) { (t, a) throws(Errno) -> Int in
            try t.kernel.rename(t, oldDirfd: a.int0, oldPath: a.a1, newDirfd: a.int2, newPath: a.a3, flags: 0)
        }
        register(SyscallNumber.renameat2) { (t, a) throws(Errno) -> Int in
            try t.kernel.rename(t, oldDirfd: a.int0, oldPath: a.a1, newDirfd: a.int2, newPath: a.a3, flags: UInt32(truncatingIfNeeded: a.a4))
        }
        register(SyscallNumber.link) { (t, a) throws(Errno) -> Int in
            try t.kernel.link(t, oldDirfd: AtFlags.AT_FDCWD, oldPath: a.a0, newDirfd: AtFlags.AT_FDCWD, newPath: a.a1, flags: 0)
        }
        register(SyscallNumber.linkat) { (t, a) throws(Errno) -> Int in
            try t.kernel.link(t, oldDirfd: a.int0, oldPath: a.a1, newDirfd: a.int2, newPath: a.a3, flags: Int(truncatingIfNeeded: a.a4))
        }
        register(SyscallNumber.symlink) { (t, a) throws(Errno) -> Int in try t.kernel.symlink(t, targetAddress: a.a0, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a1) }
        register(SyscallNumber.symlinkat) { (t, a) throws(Errno) -> Int in try t.kernel.symlink(t, targetAddress: a.a0, dirfd: a.int1, pathAddress: a.a2) }

        register(SyscallNumber.chmod) { (t, a) throws(Errno) -> Int in
            try t.kernel.chmod(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: 0), mode: UInt32(truncatingIfNeeded: a.a1))
        }
        register(SyscallNumber.fchmod) { (t, a) throws(Errno) -> Int in
            try t.kernel.chmod(t, try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: nil, flags: 0), mode: UInt32(truncatingIfNeeded: a.a1))
        }
        register(SyscallNumber.fchmodat) { (t, a) throws(Errno) -> Int in
            try t.kernel.chmod(t, try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: a.a1, flags: 0), mode: UInt32(truncatingIfNeeded: a.a2))
        }
        register(SyscallNumber.chown) { (t, a) throws(Errno) -> Int in
            try t.kernel.chown(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: 0), uid: UInt32(truncatingIfNeeded: a.a1), gid: UInt32(truncatingIfNeeded: a.a2))
        }
        register(SyscallNumber.lchown) { (t, a) throws(Errno) -> Int in
            try t.kernel.chown(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: AtFlags.AT_SYMLINK_NOFOLLOW), uid: UInt32(truncatingIfNeeded: a.a1), gid: UInt32(truncatingIfNeeded: a.a2))
        }
        register(SyscallNumber.fchown) { (t, a) throws(Errno) -> Int in
            try t.kernel.chown(t, try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: nil, flags: 0), uid: UInt32(truncatingIfNeeded: a.a1), gid: UInt32(truncatingIfNeeded: a.a2))
        }
        register(SyscallNumber.fchownat) { (t, a) throws(Errno) -> Int in
            let flags = Int(truncatingIfNeeded: a.a4)
            guard flags & ~(AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH) == 0 else { throw Errno.EINVAL }
            return try t.kernel.chown(t, try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: a.a1, flags: flags), uid: UInt32(truncatingIfNeeded: a.a2), gid: UInt32(truncatingIfNeeded: a.a3))
        }
        register(SyscallNumber.truncate) { (t, a) throws(Errno) -> Int in
            try t.kernel.truncate(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: 0), length: Int64(bitPattern: a.a1))
        }
        register(SyscallNumber.ftruncate) { (t, a) throws(Errno) -> Int in try t.kernel.ftruncate(t, fd: a.int0, length: Int64(bitPattern: a.a1)) }
        register(SyscallNumber.fallocate) { (t, a) throws(Errno) -> Int in
            try t.kernel.fallocate(t, fd: a.int0, mode: Int(a.int1), offset: Int64(bitPattern: a.a2), length: Int64(bitPattern: a.a3))
        }
        register(SyscallNumber.utimensat) { (t, a) throws(Errno) -> Int in
            let flags = Int(truncatingIfNeeded: a.a3)
            guard flags & ~(AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH) == 0 else { throw Errno.EINVAL }
            let (atime, mtime) = try t.kernel.readTimes(t, a.a2, microseconds: false)
            // A NULL path names the descriptor itself (the futimens case).
            if a.a1 == 0 && a.int0 == AtFlags.AT_FDCWD { throw Errno.EFAULT }
            let d = try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: a.a1 == 0 ? nil : a.a1, flags: flags)
            return try t.kernel.setTimes(t, d, atime: atime, mtime: mtime)
        }
        register(SyscallNumber.utimes) { (t, a) throws(Errno) -> Int in
            let (atime, mtime) = try t.kernel.readTimes(t, a.a1, microseconds: true)
            return try t.kernel.setTimes(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: 0), atime: atime, mtime: mtime)
        }
        register(SyscallNumber.futimesat) { (t, a) throws(Errno) -> Int in
            let (atime, mtime) = try t.kernel.readTimes(t, a.a2, microseconds: true)
            return try t.kernel.setTimes(t, try t.kernel.changeTarget(t, dirfd: a.int0, pathAddress: a.a1, flags: 0), atime: atime, mtime: mtime)
        }
        register(SyscallNumber.copy_file_range) { (t, a) throws(Errno) -> Int in
            try t.kernel.copyFileRange(t, input: a.int0, inputOffset: a.a1, output: a.int2, outputOffset: a.a3,
                                       length: Int(min(a.a4, 0x7fff_f000)), flags: a.a5)
        }
        register(SyscallNumber.utime) { (t, a) throws(Errno) -> Int in
            var times: (Kernel.TimeRequest, Kernel.TimeRequest) = (.now, .now)
            if a.a1 != 0 {  // struct utimbuf { time_t actime, modtime; }
                let at = try t.mm.read(a.a1, as: Int64.self), mt = try t.mm.read(a.a1 + 8, as: Int64.self)
                times = (.set(FileTime(seconds: at, nanoseconds: 0)), .set(FileTime(seconds: mt, nanoseconds: 0)))
            }
            return try t.kernel.setTimes(t, try t.kernel.changeTarget(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: 0), atime: times.0, mtime: times.1)
        }
    }
}
