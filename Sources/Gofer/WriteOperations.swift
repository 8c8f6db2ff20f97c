// The Gofer's write operations. Every one acts relative to a held directory descriptor with a name the
// decoder validated (no '/', never "." or ".."), and never follows a symlink: new files are created
// with O_EXCL (which refuses an existing symlink), links and renames name directory entries, not what
// they point to, and attribute changes work on the held O_PATH descriptor or on a reopen whose identity
// is checked against it (ESTALE when the name now refers to another file). Only a writable Gofer gets here.
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

extension GoferServer {
    func executeWrite(_ request: GoferRequest, donating donated: inout Int32?) throws(Errno) -> GoferReply {
        switch request {
        case let .create(d, name, flags, mode, owner):
            let dir = try directory(d)
            let access = Int32(bitPattern: flags) & Int32(OpenFlags.O_ACCMODE)
            guard access != Int32(OpenFlags.O_ACCMODE) else { throw .EINVAL }
            let hostFlags = access | (Int32(bitPattern: flags) & Int32(OpenFlags.O_APPEND))
                | Int32(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_NOFOLLOW | OpenFlags.O_NOCTTY)
            let fd = try HostFile.openAt(dir.fd, name, flags: hostFlags, mode: mode)
            do throws(Errno) {
                let node = try adopt(dir, name, expecting: try HostFile.attributes(fd))
                let attributes = try settle(node, mode: mode, owner: owner)
                donated = fd
                return .created(.create, WalkedComponent(handle: insert(node), attributes: attributes))
            } catch {
                close(fd)
                throw error
            }
        case let .mkdir(d, name, mode, owner):
            let dir = try directory(d)
            try HostFile.check(HostFile.withCName(name) { mkdirat(dir.fd, $0, mode_t(mode)) })
            return try created(.mkdir, dir, name, mode: mode, owner: owner)
        case let .mknod(d, name, mode, owner):
            let dir = try directory(d)
            var type = mode & FileMode.S_IFMT
            if type == 0 { type = FileMode.S_IFREG }
            // Devices would be a way to the host's hardware; sockets are bound, not made.
            guard type == FileMode.S_IFREG || type == FileMode.S_IFIFO else { throw .EPERM }
            try HostFile.check(HostFile.withCName(name) { mknodat(dir.fd, $0, mode_t(type | (mode & 0o7777)), 0) })
            return try created(.mknod, dir, name, mode: mode & 0o7777, owner: owner)
        case let .symlink(d, name, target, owner):
            let dir = try directory(d)
            let rc = HostFile.withCName(target) { t in HostFile.withCName(name) { symlinkat(t, dir.fd, $0) } }
            try HostFile.check(rc)
            return try created(.symlink, dir, name, mode: nil, owner: owner)
        case let .link(f, d, name):
            let file = try lookup(f), dir = try directory(d)
            guard !file.isDirectory else { throw .EPERM }
            try link(file, into: dir, name)
            let node = try adopt(dir, name, expecting: try HostFile.attributes(file.fd))
            let attributes = try HostFile.attributes(node.fd)
            return .created(.link, WalkedComponent(handle: insert(node), attributes: attributes))
        case let .unlink(d, name, flags):
            let dir = try directory(d)
            try HostFile.check(HostFile.withCName(name) { unlinkat(dir.fd, $0, Int32(bitPattern: flags)) })
            return .done(.unlink)
        case let .rename(d, name, nd, newName, flags):
            let from = try directory(d), to = try directory(nd)
            let rc = HostFile.withCName(name) { old in
                HostFile.withCName(newName) { new in
                    clinux_syscall6(SyscallNumber.renameat2, Int(from.fd), Int(bitPattern: old), Int(to.fd),
                                    Int(bitPattern: new), Int(flags), 0)
                }
            }
            guard rc == 0 else { throw HostFile.lastError() }
            retarget(from, name, to, newName, exchange: flags & RenameFlags.exchange != 0)
            return .done(.rename)
        case let .setAttributes(h, changes):
            let node = try lookup(h)
            try change(node, changes)
            return .setAttributes(try HostFile.attributes(node.fd))
        default:
            throw .ENOSYS
        }
    }

    /// A handle that must be a directory (ENOTDIR otherwise).
    private func directory(_ handle: FileHandle) throws(Errno) -> Node {
        let node = try lookup(handle)
        guard node.isDirectory else { throw .ENOTDIR }
        return node
    }

    /// The reply of mkdir/mknod/symlink: a handle to the new file, with its mode and owner as asked.
    private func created(_ op: GoferOperation, _ dir: Node, _ name: [UInt8], mode: UInt32?, owner: FileOwner) throws(Errno) -> GoferReply {
        let node = try adopt(dir, name, expecting: nil)
        let attributes = try settle(node, mode: mode, owner: owner)
        return .created(op, WalkedComponent(handle: insert(node), attributes: attributes))
    }

    /// Opens the new entry as a handle (O_PATH|O_NOFOLLOW) and, when `expected` is given, checks that it
    /// is that file: a name swapped in between is refused with ESTALE.
    private func adopt(_ dir: Node, _ name: [UInt8], expecting expected: FileAttributes?) throws(Errno) -> Node {
        let fd = try HostFile.openAt(dir.fd, name, flags: Int32(OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW))
        do throws(Errno) {
            let attributes = try HostFile.attributes(fd)
            if let expected, expected.dev != attributes.dev || expected.inode != attributes.inode { throw .ESTALE }
            return Node(fd: fd, parent: dir, name: name, attributes: attributes)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Gives a new file the owner and exact permission bits asked for (the host umask must not apply).
    private func settle(_ node: Node, mode: UInt32?, owner: FileOwner) throws(Errno) -> FileAttributes {
        var attributes = try HostFile.attributes(node.fd)
        var changes = AttributeChanges()
        if attributes.uid != owner.uid { changes.mask |= AttributeChanges.uid; changes.uid = owner.uid }
        if attributes.gid != owner.gid { changes.mask |= AttributeChanges.gid; changes.gid = owner.gid }
        if let mode, attributes.mode & 0o7777 != mode { changes.mask |= AttributeChanges.mode; changes.mode = mode }
        if changes.mask != 0 {
            try change(node, changes)
            attributes = try HostFile.attributes(node.fd)
        }
        return attributes
    }

    /// A hard link to exactly the held file: linkat(AT_EMPTY_PATH) on its O_PATH descriptor; where that
    /// is not permitted, through its parent and name, undone unless the new name is the same file.
    private func link(_ file: Node, into dir: Node, _ name: [UInt8]) throws(Errno) {
        let direct = HostFile.withCName(name) { linkat(file.fd, "", dir.fd, $0, Int32(AtFlags.AT_EMPTY_PATH)) }
        if direct == 0 { return }
        let error = HostFile.lastError()
        guard error == .ENOENT || error == .EPERM, let parent = file.parent else { throw error }
        let rc = HostFile.withCName(file.name) { old in HostFile.withCName(name) { linkat(parent.fd, old, dir.fd, $0, 0) } }
        try HostFile.check(rc)
        var st = stat()
        let same = HostFile.withCName(name) { fstatat(dir.fd, $0, &st, AT_SYMLINK_NOFOLLOW) } == 0
            && UInt64(st.st_dev) == file.dev && UInt64(st.st_ino) == file.inode
        if !same {
            _ = HostFile.withCName(name) { unlinkat(dir.fd, $0, 0) }
            throw .ESTALE
        }
    }

    /// Keeps held handles' parent and name true after a rename through this Gofer.
    private func retarget(_ from: Node, _ name: [UInt8], _ to: Node, _ newName: [UInt8], exchange: Bool) {
        for node in handles.values {
            guard let parent = node.parent else { continue }
            if parent === from && node.name == name {
                node.parent = to; node.name = newName
            } else if parent === to && node.name == newName {
                if exchange { node.parent = from; node.name = name }
            }
        }
    }

    /// Applies a setattr: owner first (chown clears set-id bits, as on Linux), then mode, size, times.
    func change(_ node: Node, _ c: AttributeChanges) throws(Errno) {
        let isSymlink = node.fileType == FileMode.S_IFLNK
        if c.has(AttributeChanges.uid) || c.has(AttributeChanges.gid) {
            let uid = c.has(AttributeChanges.uid) ? c.uid : UInt32.max
            let gid = c.has(AttributeChanges.gid) ? c.gid : UInt32.max
            // AT_EMPTY_PATH on the O_PATH descriptor: the held file itself, symlinks not followed.
            try HostFile.check(fchownat(node.fd, "", uid, gid, Int32(AtFlags.AT_EMPTY_PATH)))
        }
        if c.has(AttributeChanges.mode) {
            guard !isSymlink else { throw .EOPNOTSUPP }
            let fd = try reopen(node, write: false)
            defer { close(fd) }
            try HostFile.check(fchmod(fd, mode_t(c.mode)))
        }
        if c.has(AttributeChanges.size) {
            guard !node.isDirectory else { throw .EISDIR }
            guard node.fileType == FileMode.S_IFREG else { throw .EINVAL }
            let fd = try reopen(node, write: true)
            defer { close(fd) }
            try HostFile.check(ftruncate(fd, off_t(c.size)))
        }
        let timeBits = AttributeChanges.atime | AttributeChanges.mtime | AttributeChanges.atimeNow | AttributeChanges.mtimeNow
        if c.mask & timeBits != 0 {
            func spec(_ set: UInt32, _ now: UInt32, _ t: FileTime) -> timespec {
                if c.has(now) { return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 1 /* UTIME_NOW */) }
                if c.has(set) { return timespec(tv_sec: Int(t.seconds), tv_nsec: Int(t.nanoseconds)) }
                return timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2 /* UTIME_OMIT */)
            }
            let times = [spec(AttributeChanges.atime, AttributeChanges.atimeNow, c.atime),
                         spec(AttributeChanges.mtime, AttributeChanges.mtimeNow, c.mtime)]
            if isSymlink {
                // A symlink cannot be opened; its name is checked to still be the held file first.
                guard let parent = node.parent else { throw .ESTALE }
                var st = stat()
                try HostFile.check(HostFile.withCName(node.name) { fstatat(parent.fd, $0, &st, AT_SYMLINK_NOFOLLOW) })
                guard UInt64(st.st_dev) == node.dev, UInt64(st.st_ino) == node.inode else { throw .ESTALE }
                try HostFile.check(HostFile.withCName(node.name) { utimensat(parent.fd, $0, times, AT_SYMLINK_NOFOLLOW) })
            } else {
                let fd = try reopen(node, write: false)
                defer { close(fd) }
                try HostFile.check(futimens(fd, times))
            }
        }
    }

    /// A readable (or writable) descriptor of the held file: a directory through its own descriptor,
    /// anything else through parent and name without following symlinks and without blocking on a FIFO,
    /// checked to be the same inode (ESTALE if the name was replaced).
    private func reopen(_ node: Node, write: Bool) throws(Errno) -> Int32 {
        if node.isDirectory {
            return try HostFile.openAt(node.fd, [0x2E], flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY))
        }
        guard let parent = node.parent else { throw .ESTALE }
        let flags = (write ? Int32(OpenFlags.O_WRONLY) : Int32(OpenFlags.O_RDONLY))
            | Int32(OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY)
        let fd: Int32
        do throws(Errno) {
            fd = try HostFile.openAt(parent.fd, node.name, flags: flags)
        } catch .ENOENT, .ELOOP {
            throw .ESTALE
        }
        do throws(Errno) {
            let now = try HostFile.attributes(fd)
            guard now.dev == node.dev, now.inode == node.inode else { throw .ESTALE }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
