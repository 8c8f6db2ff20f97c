// Files by path: open, stat, readlink, access, getdents, cwd, and namespace changes.
import Glibc
import LinuxABI

/// An O_PATH descriptor: names a file, does no I/O.
final class PathDescription: FileDescription, @unchecked Sendable {
    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EBADF }
    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EBADF }
}

extension Kernel {
    /// The directory a *at() call starts from.
    func startDentry(_ task: Task, _ dirfd: Int32, path: String) throws(Errno) -> Dentry? {
        if path.hasPrefix("/") || dirfd == AtFlags.AT_FDCWD { return nil }
        let f = try task.fdTable.get(dirfd)
        guard let d = f.dentry else { throw Errno.ENOTDIR }
        guard try d.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        return d
    }

    /// Resolves a path argument of a *at() call with AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW handling.
    func resolveAt(_ task: Task, dirfd: Int32, pathAddress: UInt64, flags: Int, followDefault: Bool = true) throws(Errno) -> Dentry {
        let path = try task.mm.readString(pathAddress)
        if path.isEmpty {
            guard flags & AtFlags.AT_EMPTY_PATH != 0 else { throw Errno.ENOENT }
            if dirfd == AtFlags.AT_FDCWD { return task.fs.cwd }
            guard let d = try task.fdTable.get(dirfd).dentry else { throw Errno.EBADF }
            return d
        }
        let follow = followDefault && flags & AtFlags.AT_SYMLINK_NOFOLLOW == 0
        return try resolve(task: task, path: path, start: try startDentry(task, dirfd, path: path), follow: follow)
    }

    func openAt(_ task: Task, dirfd: Int32, pathAddress: UInt64, flags: Int, mode: UInt32, scope: ResolveScope = .none) throws(Errno) -> Int {
        let path = try task.mm.readString(pathAddress)
        guard !path.isEmpty else { throw Errno.ENOENT }
        let start = try startDentry(task, dirfd, path: path)
        let accessMode = flags & OpenFlags.O_ACCMODE
        let wantsWrite = accessMode == OpenFlags.O_WRONLY || accessMode == OpenFlags.O_RDWR || flags & OpenFlags.O_TRUNC != 0
        if flags & OpenFlags.O_TMPFILE & ~OpenFlags.O_DIRECTORY != 0 {
            return try openTemporary(task, start: start, path: path, flags: flags, mode: mode, scope: scope)
        }
        var dentry: Dentry
        if flags & OpenFlags.O_CREAT != 0 {
            let (parent, name) = try resolveParent(task: task, path: path, start: start, scope: scope)
            if name.isEmpty { throw Errno.EISDIR }
            if let existing = try? parent.child(name, task: task).top {
                if flags & OpenFlags.O_EXCL != 0 { throw Errno.EEXIST }
                dentry = existing
                if try existing.inode.stat().isSymlink {
                    if flags & OpenFlags.O_NOFOLLOW != 0 { throw Errno.ELOOP }
                    dentry = try resolve(task: task, path: path, start: start, follow: true, scope: scope)
                }
            } else {
                // A new file: its own permissions are not checked against the open (Linux does not either).
                try checkDirectoryChange(task, parent)
                let (inode, donated) = try parent.inode.create(name, mode: mode & 0o7777 & ~task.fs.umask,
                                                               owner: newOwner(task, in: parent), flags: flags)
                dentry = parent.created(name, inode: inode)
                let openFlags = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_CLOEXEC | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC)
                let file: FileDescription
                if let donated {
                    file = HostFileDescription(fd: donated, flags: openFlags, dentry: dentry, seekable: true)
                } else {
                    file = try dentry.inode.open(openFlags, dentry: dentry, task: task)
                }
                let fd = try task.fdTable.add(file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0)
                if FSNotify.active {
                    FSNotify.child(of: parent.inode, name: name, InotifyABI.IN_CREATE, isDirectory: false)
                    FSNotify.file(file, InotifyABI.IN_OPEN)
                }
                return Int(fd)
            }
        } else {
            dentry = try resolve(task: task, path: path, start: start, follow: flags & OpenFlags.O_NOFOLLOW == 0, scope: scope)
        }
        let st = try dentry.inode.stat()
        let file: FileDescription
        if flags & OpenFlags.O_PATH != 0 {
            if flags & OpenFlags.O_DIRECTORY != 0 && !st.isDirectory { throw Errno.ENOTDIR }
            file = PathDescription(flags: flags & (OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW), dentry: dentry)
        } else {
            if st.isSymlink { throw Errno.ELOOP }
            if flags & OpenFlags.O_DIRECTORY != 0 && !st.isDirectory { throw Errno.ENOTDIR }
            if wantsWrite && st.isDirectory { throw Errno.EISDIR }
            if wantsWrite && dentry.readOnly && (st.isRegular || st.isDirectory) { throw Errno.EROFS }
            // Devices do not open on a nodev mount (mount(2) MS_NODEV).
            let type = st.mode & FileMode.S_IFMT
            if (type == FileMode.S_IFCHR || type == FileMode.S_IFBLK) && dentry.mount?.noDev == true { throw Errno.EACCES }
            try checkAccess(task, st, read: accessMode != OpenFlags.O_WRONLY, write: wantsWrite, execute: false)
            // O_NOCTTY reaches the inode (a terminal decides whether it becomes the controlling one) but no
            // description keeps it, as in Linux.
            file = try dentry.inode.open(flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_CLOEXEC),
                                         dentry: dentry, task: task)
            file.flags &= ~OpenFlags.O_NOCTTY
        }
        let fd = try task.fdTable.add(file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0)
        if FSNotify.active {
            FSNotify.file(file, InotifyABI.IN_OPEN)
            // An O_TRUNC open of an existing file is a modification, reported after the open (as Linux does).
            if flags & OpenFlags.O_TRUNC != 0 && wantsWrite && st.isRegular { FSNotify.file(file, InotifyABI.IN_MODIFY) }
        }
        return Int(fd)
    }

    /// openat2(dirfd, path, how, size): struct open_how {u64 flags, mode, resolve}, checked strictly (unlike open,
    /// unknown bits are errors), then the ordinary open with the RESOLVE_* restrictions on the walk.
    func openat2(_ task: Task, dirfd: Int32, pathAddress: UInt64, howAddress: UInt64, size: UInt64) throws(Errno) -> Int {
        let knownSize = 24
        guard size >= UInt64(knownSize) else { throw Errno.EINVAL }
        guard size <= 4096 else { throw Errno.E2BIG }
        let bytes = try task.mm.copyIn(howAddress, Int(size))
        // A newer caller's larger struct is fine only if the fields we do not know are zero.
        guard bytes[knownSize...].allSatisfy({ $0 == 0 }) else { throw Errno.E2BIG }
        func field(_ i: Int) -> UInt64 { bytes[(i * 8)..<(i * 8 + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        let flags = field(0), mode = field(1), resolve = field(2)
        let validFlags = UInt64(OpenFlags.O_ACCMODE | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOCTTY
            | OpenFlags.O_TRUNC | OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_DSYNC | OpenFlags.O_ASYNC
            | OpenFlags.O_DIRECT | OpenFlags.O_LARGEFILE | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW
            | OpenFlags.O_NOATIME | OpenFlags.O_CLOEXEC | OpenFlags.O_SYNC | OpenFlags.O_PATH | OpenFlags.O_TMPFILE)
        guard flags & ~validFlags == 0, resolve & ~ResolveFlags.all == 0 else { throw Errno.EINVAL }
        let f = Int(flags)
        guard f & OpenFlags.O_ACCMODE != OpenFlags.O_ACCMODE else { throw Errno.EINVAL }
        let creates = f & OpenFlags.O_CREAT != 0 || f & OpenFlags.O_TMPFILE == OpenFlags.O_TMPFILE
        guard mode & ~0o7777 == 0, creates || mode == 0 else { throw Errno.EINVAL }
        if f & OpenFlags.O_PATH != 0 {
            let pathFlags = OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC
            guard f & ~pathFlags == 0 else { throw Errno.EINVAL }
        }
        let scopedBoth = ResolveFlags.RESOLVE_BENEATH | ResolveFlags.RESOLVE_IN_ROOT
        guard resolve & scopedBoth != scopedBoth else { throw Errno.EINVAL }
        // Every lookup here may ask the Gofer, so only opens that change nothing count as "cached".
        if resolve & ResolveFlags.RESOLVE_CACHED != 0 && (creates || f & OpenFlags.O_TRUNC != 0) { throw Errno.EAGAIN }
        var scope = ResolveScope(flags: resolve)
        if dirfd != AtFlags.AT_FDCWD {
            guard let d = try task.fdTable.get(dirfd).dentry else { throw Errno.EBADF }
            scope.base = d
        }
        return try openAt(task, dirfd: dirfd, pathAddress: pathAddress, flags: f, mode: UInt32(mode), scope: scope)
    }

    /// Unix permission check with the task's fs credentials; CAP_DAC_OVERRIDE passes all but
    /// execute-without-any-x, CAP_DAC_READ_SEARCH passes reading and searching directories.
    func checkAccess(_ task: Task, _ st: FileStat, read: Bool, write: Bool, execute: Bool) throws(Errno) {
        let c = task.credentials
        let bits: UInt32
        if st.uid == c.fsuid { bits = (st.mode >> 6) & 7 }
        else if st.gid == c.fsgid || c.groups.contains(st.gid) { bits = (st.mode >> 3) & 7 }
        else { bits = st.mode & 7 }
        if !((read && bits & 4 == 0) || (write && bits & 2 == 0) || (execute && bits & 1 == 0)) { return }
        if task.hasCapability(Capability.CAP_DAC_OVERRIDE) && (!execute || st.isDirectory || st.mode & 0o111 != 0) { return }
        if task.hasCapability(Capability.CAP_DAC_READ_SEARCH) && !write && (!execute || st.isDirectory) { return }
        throw Errno.EACCES
    }

    func getdents64(_ task: Task, fd: Int32, address: UInt64, count: Int) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        let entries = try file.directoryEntries(task: task)
        var out: [UInt8] = []
        var index = Int(file.lock.withLock { file.offset })
        while index < entries.count {
            let e = entries[index]
            let name = Array(e.name.utf8)
            let reclen = (19 + name.count + 1 + 7) & ~7
            if out.count + reclen > count { break }
            var rec = [UInt8](repeating: 0, count: reclen)
            rec.withUnsafeMutableBytes { p in
                p.storeBytes(of: e.inode, toByteOffset: 0, as: UInt64.self)
                p.storeBytes(of: Int64(index + 1), toByteOffset: 8, as: Int64.self)
                p.storeBytes(of: UInt16(reclen), toByteOffset: 16, as: UInt16.self)
                p.storeBytes(of: e.type, toByteOffset: 18, as: UInt8.self)
                for (i, c) in name.enumerated() { p.storeBytes(of: c, toByteOffset: 19 + i, as: UInt8.self) }
            }
            out += rec
            index += 1
        }
        if out.isEmpty && index < entries.count { throw Errno.EINVAL }
        try task.mm.copyOut(address, out)
        file.lock.withLock { file.offset = Int64(index) }
        if FSNotify.active { FSNotify.file(file, InotifyABI.IN_ACCESS) }
        return out.count
    }

    func statfsBytes(for dentry: Dentry) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 120)
        let magic: Int64
        switch dentry.inode {
        case is ProcRoot, is ProcessDirectory: magic = 0x9fa0
        case is TmpfsInode: magic = 0x0102_1994
        case is OverlayInode: magic = 0x794c_7630  // OVERLAYFS_SUPER_MAGIC
        default: magic = 0x0102_1997  // V9FS, as gVisor's gofer mounts report
        }
        var blocks: UInt64 = 1 << 24, free: UInt64 = 1 << 23, files: UInt64 = 1 << 20, freeFiles: UInt64 = 1 << 19
        // A tmpfs mount reports its own size= and nr_inodes= budget and what its files use of it.
        if let volume = (dentry.inode as? TmpfsInode)?.volume {
            let used = volume.usage
            blocks = volume.pageLimit ?? max(blocks, used.pages)
            free = blocks > used.pages ? blocks - used.pages : 0
            files = volume.inodeLimit ?? max(files, used.inodes)
            freeFiles = files > used.inodes ? files - used.inodes : 0
        }
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: magic, toByteOffset: 0, as: Int64.self)       // f_type
            p.storeBytes(of: Int64(4096), toByteOffset: 8, as: Int64.self) // f_bsize
            p.storeBytes(of: Int64(blocks), toByteOffset: 16, as: Int64.self) // f_blocks
            p.storeBytes(of: Int64(free), toByteOffset: 24, as: Int64.self)   // f_bfree
            p.storeBytes(of: Int64(free), toByteOffset: 32, as: Int64.self)   // f_bavail
            p.storeBytes(of: Int64(files), toByteOffset: 40, as: Int64.self)  // f_files
            p.storeBytes(of: Int64(freeFiles), toByteOffset: 48, as: Int64.self) // f_ffree
            p.storeBytes(of: Int64(255), toByteOffset: 64, as: Int64.self) // f_namelen
            p.storeBytes(of: Int64(4096), toByteOffset: 72, as: Int64.self) // f_frsize
            p.storeBytes(of: Int64(dentry.statfsFlags), toByteOffset: 80, as: Int64.self) // f_flags
        }
        return b
    }
}

extension SyscallTable {
    func registerFileSyscalls() {
        register(SyscallNumber.open) { (t, a) throws(Errno) -> Int in try t.kernel.openAt(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: Int(a.int1), mode: UInt32(truncatingIfNeeded: a.a2)) }
        register(SyscallNumber.openat) { (t, a) throws(Errno) -> Int in try t.kernel.openAt(t, dirfd: a.int0, pathAddress: a.a1, flags: Int(a.int2), mode: UInt32(truncatingIfNeeded: a.a3)) }
        register(SyscallNumber.openat2) { (t, a) throws(Errno) -> Int in
            try t.kernel.openat2(t, dirfd: a.int0, pathAddress: a.a1, howAddress: a.a2, size: a.a3)
        }
        register(SyscallNumber.creat) { (t, a) throws(Errno) -> Int in
            try t.kernel.openAt(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, flags: OpenFlags.O_CREAT | OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, mode: UInt32(truncatingIfNeeded: a.a1))
        }
        register(SyscallNumber.close) { (t, a) throws(Errno) -> Int in try t.fdTable.remove(a.int0); return 0 }
        register(SyscallNumber.close_range) { (t, a) throws(Errno) -> Int in
            guard a.a0 <= a.a1 else { throw Errno.EINVAL }
            for fd in t.fdTable.numbers where UInt64(fd) >= a.a0 && UInt64(fd) <= a.a1 {
                if a.a2 & 4 != 0 { try? t.fdTable.setCloseOnExec(fd, true) } else { try? t.fdTable.remove(fd) }  // CLOSE_RANGE_CLOEXEC
            }
            return 0
        }
        register(SyscallNumber.stat) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolve(task: t, path: try t.mm.readString(a.a0), follow: true)
            try t.mm.copyOut(a.a1, try d.inode.stat().encodeStat()); return 0
        }
        register(SyscallNumber.lstat) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolve(task: t, path: try t.mm.readString(a.a0), follow: false)
            try t.mm.copyOut(a.a1, try d.inode.stat().encodeStat()); return 0
        }
        register(SyscallNumber.fstat) { (t, a) throws(Errno) -> Int in
            try t.mm.copyOut(a.a1, try t.fdTable.get(a.int0).stat().encodeStat()); return 0
        }
        register(SyscallNumber.newfstatat) { (t, a) throws(Errno) -> Int in
            let flags = Int(a.int3)
            guard flags & ~(AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH | AtFlags.AT_NO_AUTOMOUNT) == 0 else { throw Errno.EINVAL }
            let path = try t.mm.readString(a.a1)
            if path.isEmpty && flags & AtFlags.AT_EMPTY_PATH != 0 && a.int0 != AtFlags.AT_FDCWD {
                try t.mm.copyOut(a.a2, try t.fdTable.get(a.int0).stat().encodeStat()); return 0
            }
            let d = try t.kernel.resolveAt(t, dirfd: a.int0, pathAddress: a.a1, flags: flags)
            try t.mm.copyOut(a.a2, try d.inode.stat().encodeStat()); return 0
        }
        register(SyscallNumber.statx) { (t, a) throws(Errno) -> Int in
            let flags = Int(a.int2)
            let path = try t.mm.readString(a.a1)
            let st: FileStat
            if path.isEmpty && flags & AtFlags.AT_EMPTY_PATH != 0 && a.int0 != AtFlags.AT_FDCWD {
                st = try t.fdTable.get(a.int0).stat()
            } else {
                st = try t.kernel.resolveAt(t, dirfd: a.int0, pathAddress: a.a1, flags: flags).inode.stat()
            }
            try t.mm.copyOut(a.a4, st.encodeStatx()); return 0
        }
        register(SyscallNumber.readlink) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolve(task: t, path: try t.mm.readString(a.a0), follow: false)
            return try t.kernel.copyLink(t, d, a.a1, Int(a.int2))
        }
        register(SyscallNumber.readlinkat) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolveAt(t, dirfd: a.int0, pathAddress: a.a1, flags: AtFlags.AT_EMPTY_PATH, followDefault: false)
            return try t.kernel.copyLink(t, d, a.a2, Int(a.int3))
        }
        register(SyscallNumber.access) { (t, a) throws(Errno) -> Int in try t.kernel.access(t, dirfd: AtFlags.AT_FDCWD, pathAddress: a.a0, mode: Int(a.int1), flags: 0) }
        register(SyscallNumber.faccessat) { (t, a) throws(Errno) -> Int in try t.kernel.access(t, dirfd: a.int0, pathAddress: a.a1, mode: Int(a.int2), flags: 0) }
        register(SyscallNumber.faccessat2) { (t, a) throws(Errno) -> Int in try t.kernel.access(t, dirfd: a.int0, pathAddress: a.a1, mode: Int(a.int2), flags: Int(a.int3)) }
        register(SyscallNumber.getdents64) { (t, a) throws(Errno) -> Int in try t.kernel.getdents64(t, fd: a.int0, address: a.a1, count: Int(a.int2)) }
        register(SyscallNumber.getcwd) { (t, a) throws(Errno) -> Int in
            var b = Array(t.fs.cwd.path.utf8); b.append(0)
            guard UInt64(b.count) <= a.a1 else { throw Errno.ERANGE }
            try t.mm.copyOut(a.a0, b); return b.count
        }
        register(SyscallNumber.chdir) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolve(task: t, path: try t.mm.readString(a.a0), follow: true)
            let st = try d.inode.stat()
            guard st.isDirectory else { throw Errno.ENOTDIR }
            try t.kernel.checkAccess(t, st, read: false, write: false, execute: true)
            t.fs.cwd = d; return 0
        }
        register(SyscallNumber.fchdir) { (t, a) throws(Errno) -> Int in
            guard let d = try t.fdTable.get(a.int0).dentry else { throw Errno.ENOTDIR }
            guard try d.inode.stat().isDirectory else { throw Errno.ENOTDIR }
            t.fs.cwd = d; return 0
        }
        register(SyscallNumber.statfs) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.resolve(task: t, path: try t.mm.readString(a.a0), follow: true)
            try t.mm.copyOut(a.a1, t.kernel.statfsBytes(for: d)); return 0
        }
        register(SyscallNumber.fstatfs) { (t, a) throws(Errno) -> Int in
            guard let d = try t.fdTable.get(a.int0).dentry else { throw Errno.EINVAL }
            try t.mm.copyOut(a.a1, t.kernel.statfsBytes(for: d)); return 0
        }
        registerFileChangeSyscalls()
        registerXattrSyscalls()  // XattrSyscalls.swift
    }
}

extension Kernel {
    func copyLink(_ task: Task, _ d: Dentry, _ buf: UInt64, _ size: Int) throws(Errno) -> Int {
        guard size > 0 else { throw Errno.EINVAL }
        guard try d.inode.stat().isSymlink else { throw Errno.EINVAL }
        let target = Array(try d.inode.readlink(task: task).utf8.prefix(size))
        try task.mm.copyOut(buf, target)
        return target.count
    }

    func access(_ task: Task, dirfd: Int32, pathAddress: UInt64, mode: Int, flags: Int) throws(Errno) -> Int {
        guard mode & ~7 == 0 else { throw Errno.EINVAL }
        guard flags & ~(AtFlags.AT_EACCESS | AtFlags.AT_SYMLINK_NOFOLLOW | AtFlags.AT_EMPTY_PATH) == 0 else { throw Errno.EINVAL }
        let d = try resolveAt(task, dirfd: dirfd, pathAddress: pathAddress, flags: flags)
        let st = try d.inode.stat()
        if mode & 2 != 0 && d.readOnly && !(st.mode & FileMode.S_IFMT == FileMode.S_IFCHR) { throw Errno.EROFS }
        try checkAccess(task, st, read: mode & 4 != 0, write: mode & 2 != 0, execute: mode & 1 != 0)
        return 0
    }
}
