// Extended attributes: get/set/list/removexattr and their l* (no symlink following) and f* (descriptor)
// forms. Handlers check what Linux's VFS checks (name and size limits, flags, namespace rules, permissions,
// read-only mounts) and then ask the inode: tmpfs and the overlay's upper layer keep attributes in memory,
// Gofer files ask the Gofer, and file systems without attributes answer with the Inode defaults.
import GoferProtocol
import LinuxABI

/// The limits and flags of <linux/xattr.h>.
enum XattrABI {
    static let nameMax = 255
    static let sizeMax = 65536   // XATTR_SIZE_MAX
    static let listMax = 65536   // XATTR_LIST_MAX
    static let create = 1, replace = 2
}

/// How the file to operate on is named: by path (following a final symlink or not) or by descriptor.
private enum XattrTarget {
    case path(UInt64, follow: Bool)
    case descriptor(Int32)
}

extension SyscallTable {
    func registerXattrSyscalls() {
        let forms: [(Int, Int, Int, Int, Bool)] = [
            (SyscallNumber.getxattr, SyscallNumber.setxattr, SyscallNumber.listxattr, SyscallNumber.removexattr, true),
            (SyscallNumber.lgetxattr, SyscallNumber.lsetxattr, SyscallNumber.llistxattr, SyscallNumber.lremovexattr, false),
        ]
        for (get, set, list, remove, follow) in forms {
            register(get) { (t, a) throws(Errno) -> Int in try t.kernel.getXattr(t, .path(a.a0, follow: follow), a.a1, a.a2, a.a3) }
            register(set) { (t, a) throws(Errno) -> Int in try t.kernel.setXattr(t, .path(a.a0, follow: follow), a.a1, a.a2, a.a3, a.a4) }
            register(list) { (t, a) throws(Errno) -> Int in try t.kernel.listXattr(t, .path(a.a0, follow: follow), a.a1, a.a2) }
            register(remove) { (t, a) throws(Errno) -> Int in try t.kernel.removeXattr(t, .path(a.a0, follow: follow), a.a1) }
        }
        register(SyscallNumber.fgetxattr) { (t, a) throws(Errno) -> Int in try t.kernel.getXattr(t, .descriptor(a.int0), a.a1, a.a2, a.a3) }
        register(SyscallNumber.fsetxattr) { (t, a) throws(Errno) -> Int in try t.kernel.setXattr(t, .descriptor(a.int0), a.a1, a.a2, a.a3, a.a4) }
        register(SyscallNumber.flistxattr) { (t, a) throws(Errno) -> Int in try t.kernel.listXattr(t, .descriptor(a.int0), a.a1, a.a2) }
        register(SyscallNumber.fremovexattr) { (t, a) throws(Errno) -> Int in try t.kernel.removeXattr(t, .descriptor(a.int0), a.a1) }
    }
}

extension Kernel {
    private func xattrDentry(_ task: Task, _ target: XattrTarget) throws(Errno) -> Dentry {
        switch target {
        case let .path(address, follow):
            return try resolve(task: task, path: try task.mm.readString(address), follow: follow)
        case let .descriptor(fd):
            let file = try task.fdTable.get(fd)
            // An O_PATH descriptor names a file but does no operations on it; pipes, sockets and other
            // files without a name have no attributes to offer.
            guard file.flags & OpenFlags.O_PATH == 0 else { throw Errno.EBADF }
            guard let d = file.dentry else { throw Errno.EOPNOTSUPP }
            return d
        }
    }

    /// The attribute name at `address`: 1...255 bytes (ERANGE otherwise, as Linux).
    private func xattrName(_ task: Task, _ address: UInt64) throws(Errno) -> [UInt8] {
        let name: [UInt8]
        do throws(Errno) {
            name = try task.mm.readCString(address, max: XattrABI.nameMax + 1)
        } catch .ENAMETOOLONG {
            throw Errno.ERANGE
        }
        guard !name.isEmpty, name.count <= XattrABI.nameMax else { throw Errno.ERANGE }
        return name
    }

    /// What Linux's VFS allows before the file system is asked (xattr_permission): trusted.* needs
    /// CAP_SYS_ADMIN, user.* exists only on regular files and directories (and a sticky directory's
    /// belong to its owner), security.* is written only with CAP_SYS_ADMIN; user.* and unknown names
    /// need the file's read or write permission. Then: namespaces not served are EOPNOTSUPP.
    private func checkXattrAccess(_ task: Task, _ d: Dentry, _ name: [UInt8], write: Bool) throws(Errno) {
        let st = try d.inode.stat()
        if XattrWire.name(name, isIn: "trusted.") {
            guard task.hasCapability(Capability.CAP_SYS_ADMIN) else { throw write ? Errno.EPERM : Errno.ENODATA }
        } else if XattrWire.name(name, isIn: "security.") {
            if write && !task.hasCapability(Capability.CAP_SYS_ADMIN) { throw Errno.EPERM }
        } else {
            if XattrWire.name(name, isIn: "user.") {
                guard st.isRegular || st.isDirectory else { throw write ? Errno.EPERM : Errno.ENODATA }
                if write, st.isDirectory, st.mode & SpecialModeBits.sticky != 0, st.uid != task.credentials.fsuid,
                   !task.hasCapability(Capability.CAP_FOWNER) {
                    throw Errno.EPERM
                }
            }
            try checkAccess(task, st, read: !write, write: write, execute: false)
        }
        if let e = XattrWire.nameError(name) { throw e }
    }

    fileprivate func getXattr(_ task: Task, _ target: XattrTarget, _ nameAddress: UInt64, _ buffer: UInt64, _ size: UInt64) throws(Errno) -> Int {
        let name = try xattrName(task, nameAddress)
        let d = try xattrDentry(task, target)
        try checkXattrAccess(task, d, name, write: false)
        let value = try d.inode.getXattr(name)
        guard value.count <= XattrABI.sizeMax else { throw Errno.E2BIG }
        if size == 0 { return value.count }
        guard UInt64(value.count) <= size else { throw Errno.ERANGE }
        try task.mm.copyOut(buffer, value)
        return value.count
    }

    fileprivate func setXattr(_ task: Task, _ target: XattrTarget, _ nameAddress: UInt64, _ valueAddress: UInt64,
                              _ size: UInt64, _ rawFlags: UInt64) throws(Errno) -> Int {
        guard rawFlags & ~UInt64(XattrABI.create | XattrABI.replace) == 0 else { throw Errno.EINVAL }
        let name = try xattrName(task, nameAddress)
        guard size <= UInt64(XattrABI.sizeMax) else { throw Errno.E2BIG }
        let value = size > 0 ? try task.mm.copyIn(valueAddress, Int(size)) : []
        let d = try xattrDentry(task, target)
        if d.readOnly { throw Errno.EROFS }
        try checkXattrAccess(task, d, name, write: true)
        // Over the Gofer a value has to fit one message: larger ones are refused like a full file system.
        if d.inode is GoferInode, value.count > XattrWire.maxValueSize { throw Errno.E2BIG }
        try d.inode.setXattr(name, value: value, flags: UInt32(rawFlags))
        return 0
    }

    fileprivate func listXattr(_ task: Task, _ target: XattrTarget, _ buffer: UInt64, _ size: UInt64) throws(Errno) -> Int {
        let d = try xattrDentry(task, target)
        // trusted.* names are invisible without CAP_SYS_ADMIN.
        let privileged = task.hasCapability(Capability.CAP_SYS_ADMIN)
        var list: [UInt8] = []
        for name in try d.inode.listXattr() where privileged || !XattrWire.name(name, isIn: "trusted.") {
            list += name; list.append(0)
        }
        guard list.count <= XattrABI.listMax else { throw Errno.E2BIG }
        if size == 0 { return list.count }
        guard UInt64(list.count) <= size else { throw Errno.ERANGE }
        try task.mm.copyOut(buffer, list)
        return list.count
    }

    fileprivate func removeXattr(_ task: Task, _ target: XattrTarget, _ nameAddress: UInt64) throws(Errno) -> Int {
        let name = try xattrName(task, nameAddress)
        let d = try xattrDentry(task, target)
        if d.readOnly { throw Errno.EROFS }
        try checkXattrAccess(task, d, name, write: true)
        try d.inode.removeXattr(name)
        return 0
    }
}
