// mount(2) and umount2(2) inside the sandbox, for a container root holding CAP_SYS_ADMIN (EPERM for
// everyone else): new tmpfs, proc and sysfs mounts, bind mounts of the sandbox's own paths (MS_BIND,
// MS_REC), remounts (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC), propagation changes (accepted: the
// sandbox has one mount namespace), and unmounts with MNT_DETACH/MNT_FORCE/MNT_EXPIRE/UMOUNT_NOFOLLOW.
// Every mount lives in the Sentry's tree only: nothing here reaches the host.
import LinuxABI

extension Kernel {
    private static let propagationFlags = MountFlags.MS_SHARED | MountFlags.MS_PRIVATE | MountFlags.MS_SLAVE | MountFlags.MS_UNBINDABLE

    func mount(_ task: Task, source sourceAddress: UInt64, target targetAddress: UInt64, type typeAddress: UInt64,
               flags rawFlags: UInt64, data dataAddress: UInt64) throws(Errno) -> Int {
        guard task.hasCapability(Capability.CAP_SYS_ADMIN) else { throw Errno.EPERM }
        var flags = rawFlags
        // The pre-2.4 magic number in the top half of the flags is ignored.
        if flags & MountFlags.MS_MGC_MSK == MountFlags.MS_MGC_VAL { flags &= ~MountFlags.MS_MGC_MSK }
        let target = try resolve(task: task, path: try readPath(task, targetAddress), follow: true)
        if flags & MountFlags.MS_REMOUNT != 0 {
            guard let m = mountTable.mount(rootedAt: target) else { throw Errno.EINVAL }
            return try remount(m, flags: flags)
        }
        if flags & MountFlags.MS_BIND != 0 {
            let source = try resolve(task: task, path: try readPath(task, sourceAddress), follow: true)
            return try bind(source, on: target, recursive: flags & MountFlags.MS_REC != 0)
        }
        if flags & Kernel.propagationFlags != 0 {
            // One propagation type at a time, on a mount point; the sandbox has one namespace, so it is
            // accepted and changes nothing.
            guard (flags & Kernel.propagationFlags).nonzeroBitCount == 1,
                  flags & ~(Kernel.propagationFlags | MountFlags.MS_REC | MountFlags.MS_SILENT) == 0,
                  mountTable.mount(rootedAt: target) != nil else { throw Errno.EINVAL }
            return 0
        }
        // Moving a mount would re-parent dentries that open files and working directories hold.
        if flags & MountFlags.MS_MOVE != 0 { throw Errno.EINVAL }
        guard typeAddress != 0 else { throw Errno.EINVAL }
        let type = try task.mm.readString(typeAddress)
        let sourceName = sourceAddress == 0 ? "none" : try task.mm.readString(sourceAddress)
        let data = dataAddress == 0 ? "" : try task.mm.readString(dataAddress)
        let inode: Inode
        var superOptions = ""
        switch type {
        case "tmpfs":
            let options = try parseTmpfsOptions(data)
            inode = TmpfsInode.mountRoot(options)
            superOptions = options.shownOptions
        case "proc":
            inode = ProcRoot(kernel: self)
        case "sysfs":
            inode = SysFSRoot(kernel: self)
        default:
            throw Errno.ENODEV
        }
        guard try target.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        let m = mountTable.make(type: type, source: sourceName, readOnly: flags & MountFlags.MS_RDONLY != 0)
        m.superOptions = superOptions
        m.setFlags(flags)
        _ = attach(m, inode: inode, on: target)
        return 0
    }

    private func readPath(_ task: Task, _ address: UInt64) throws(Errno) -> String {
        guard address != 0 else { throw Errno.EFAULT }
        let path = try task.mm.readString(address)
        guard !path.isEmpty else { throw Errno.ENOENT }
        return path
    }

    /// MS_REMOUNT (with or without MS_BIND): the mount's flags become the ones given. Going read-only
    /// while a file of the mount is open for writing is EBUSY, as on Linux.
    private func remount(_ m: Mount, flags: UInt64) throws(Errno) -> Int {
        let readOnly = flags & MountFlags.MS_RDONLY != 0
        if readOnly && !m.readOnly && openDescriptions(in: m).contains(where: \.writable) { throw Errno.EBUSY }
        mountTable.lock.withLock {
            m.readOnly = readOnly
            m.setFlags(flags)
        }
        return 0
    }

    /// MS_BIND: `source` (a directory or file of the sandbox's tree) also shows at `target`, with the
    /// flags of the mount it came from; MS_REC brings the mounts below `source` along.
    func bind(_ source: Dentry, on target: Dentry, recursive: Bool) throws(Errno) -> Int {
        let sourceIsDirectory = try source.inode.stat().isDirectory
        guard sourceIsDirectory == (try target.inode.stat().isDirectory) else { throw Errno.ENOTDIR }
        guard let from = source.mount else { throw Errno.EINVAL }
        // The mounts below the source, taken before the copy is attached (a copy never copies itself, even
        // when the target lies below the source), in mount order so parents come before children.
        let prefix = source.path == "/" ? "/" : source.path + "/"
        let below = recursive ? mountTable.subtree(of: from).dropFirst().filter { $0.root.path.hasPrefix(prefix) } : []
        let copy = clone(from, at: source)
        _ = attach(copy, inode: source.inode, on: target)
        // Each one onto the same place in the copy.
        for sub in below {
            let path = sub.root.path
            var d = copy.root!
            for name in path.dropFirst(prefix.count).split(separator: "/") {
                guard let next = try? d.top.childForMount(String(name)) else { d = copy.root; break }
                d = next
            }
            if d === copy.root { continue }
            _ = attach(clone(sub, at: sub.root), inode: sub.root.inode, on: d)
        }
        return 0
    }

    /// A new mount showing `dentry` (a directory or file of mount `m`) with m's file system and flags.
    private func clone(_ m: Mount, at dentry: Dentry) -> Mount {
        let rootPath = m.root.path == "/" ? dentry.path : String(dentry.path.dropFirst(m.root.path.count))
        let joined = m.rootPath == "/" ? (rootPath.isEmpty ? "/" : rootPath) : m.rootPath + rootPath
        let copy = mountTable.make(type: m.type, source: m.source, rootPath: joined, readOnly: m.readOnly, sameFileSystemAs: m)
        mountTable.lock.withLock {
            copy.noSUID = m.noSUID; copy.noDev = m.noDev; copy.noExec = m.noExec; copy.atime = m.atime
            copy.superOptions = m.superOptions
        }
        return copy
    }

    func umount(_ task: Task, target targetAddress: UInt64, flags: Int) throws(Errno) -> Int {
        guard task.hasCapability(Capability.CAP_SYS_ADMIN) else { throw Errno.EPERM }
        let known = MountFlags.MNT_FORCE | MountFlags.MNT_DETACH | MountFlags.MNT_EXPIRE | MountFlags.UMOUNT_NOFOLLOW
        guard flags & ~known == 0 else { throw Errno.EINVAL }
        if flags & MountFlags.MNT_EXPIRE != 0 && flags & (MountFlags.MNT_FORCE | MountFlags.MNT_DETACH) != 0 { throw Errno.EINVAL }
        let target = try resolve(task: task, path: try readPath(task, targetAddress), follow: flags & MountFlags.UMOUNT_NOFOLLOW == 0)
        guard let m = mountTable.mount(rootedAt: target) else { throw Errno.EINVAL }
        // The root of the sandbox stays.
        guard m.base != nil else { throw flags & MountFlags.MNT_DETACH != 0 ? Errno.EINVAL : Errno.EBUSY }
        let detach = flags & MountFlags.MNT_DETACH != 0
        if !detach && isBusy(m) {
            m.expiryMarked = false
            throw Errno.EBUSY
        }
        // MNT_EXPIRE: the first call only marks the mount; a second finds it still unused and unmounts it.
        if flags & MountFlags.MNT_EXPIRE != 0 && !m.expiryMarked {
            m.expiryMarked = true
            throw Errno.EAGAIN
        }
        // A lazy unmount takes the mounts below along; open files keep working on the detached tree.
        let gone = detach ? mountTable.subtree(of: m) : [m]
        if FSNotify.active { for g in gone { FSNotify.unmounted(g) } }
        detachMount(m)
        for g in gone.dropFirst() { mountTable.remove(g) }
        return 0
    }

    /// A mount is busy while mounts sit on it, a task works or is rooted in it, or a file of it is open.
    private func isBusy(_ m: Mount) -> Bool {
        if !mountTable.children(of: m).isEmpty { return true }
        let tasks: [Task] = taskLock.withLock { groups.values.flatMap { $0.tasks } }
        if tasks.contains(where: { $0.fs.cwd.mount === m || $0.fs.root.mount === m }) { return true }
        return !openDescriptions(in: m).isEmpty
    }

    /// The open files (of every process) whose dentry belongs to mount `m`.
    private func openDescriptions(in m: Mount) -> [FileDescription] {
        let tables: [FDTable] = taskLock.withLock {
            var seen = Set<ObjectIdentifier>()
            return groups.values.flatMap { $0.tasks.map(\.fdTable) }.filter { seen.insert(ObjectIdentifier($0)).inserted }
        }
        var out: [FileDescription] = []
        for table in tables {
            for fd in table.numbers {
                if let f = table.entry(fd)?.file, f.dentry?.mount === m { out.append(f) }
            }
        }
        return out
    }
}

extension Mount {
    /// MS_NOSUID, MS_NODEV, MS_NOEXEC and the atime flags of a mount(2) call (lock held or unshared).
    func setFlags(_ flags: UInt64) {
        noSUID = flags & MountFlags.MS_NOSUID != 0
        noDev = flags & MountFlags.MS_NODEV != 0
        noExec = flags & MountFlags.MS_NOEXEC != 0
        if flags & MountFlags.MS_NOATIME != 0 { atime = .noatime }
        else if flags & MountFlags.MS_STRICTATIME != 0 { atime = .strictatime }
        else { atime = .relatime }
        noDirAtime = flags & MountFlags.MS_NODIRATIME != 0
    }
}

extension SyscallTable {
    func registerMountSyscalls() {
        register(SyscallNumber.mount) { (t, a) throws(Errno) -> Int in
            try t.kernel.mount(t, source: a.a0, target: a.a1, type: a.a2, flags: a.a3, data: a.a4)
        }
        register(SyscallNumber.umount2) { (t, a) throws(Errno) -> Int in try t.kernel.umount(t, target: a.a0, flags: Int(a.int1)) }
    }
}

extension Kernel {
    /// tmpfs(5)'s mount data: size= (bytes with k/m/g suffixes, or N% of the sandbox's memory),
    /// nr_blocks=, nr_inodes=, mode= (octal), uid=, gid=; huge=, mpol=, noswap, inode32/64 and the generic
    /// words (ro, rw, sync, ...) are accepted without effect. Anything else is EINVAL, as tmpfs says.
    func parseTmpfsOptions(_ data: String) throws(Errno) -> TmpfsOptions {
        var options = TmpfsOptions()
        for option in data.split(separator: ",") {
            let parts = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : nil
            switch (key, value) {
            case ("size", let v?):
                if v.hasSuffix("%") {
                    guard let p = UInt64(v.dropLast()) else { throw Errno.EINVAL }
                    let memory = memoryFigures().0
                    options.sizeLimit = p == 0 ? nil : memory / 100 * p + memory % 100 * p / 100
                } else {
                    guard let n = Kernel.scaledNumber(v) else { throw Errno.EINVAL }
                    options.sizeLimit = n == 0 ? nil : n
                }
            case ("nr_blocks", let v?):
                guard let n = Kernel.scaledNumber(v), n <= UInt64.max / 4096 else { throw Errno.EINVAL }
                options.sizeLimit = n == 0 ? nil : n * 4096
            case ("nr_inodes", let v?):
                guard let n = Kernel.scaledNumber(v) else { throw Errno.EINVAL }
                options.inodeLimit = n == 0 ? nil : n
            case ("mode", let v?):
                guard let m = UInt32(v, radix: 8), m <= 0o7777 else { throw Errno.EINVAL }
                options.mode = m
            case ("uid", let v?):
                guard let id = UInt32(v), id != UInt32.max else { throw Errno.EINVAL }
                options.uid = id
            case ("gid", let v?):
                guard let id = UInt32(v), id != UInt32.max else { throw Errno.EINVAL }
                options.gid = id
            case ("huge", let v?):
                guard ["never", "always", "within_size", "advise", "deny", "force"].contains(v) else { throw Errno.EINVAL }
            case ("mpol", _?): break
            case ("noswap", nil), ("inode32", nil), ("inode64", nil), ("ro", nil), ("rw", nil), ("sync", nil), ("async", nil),
                 ("dirsync", nil), ("lazytime", nil), ("nolazytime", nil), ("silent", nil), ("mand", nil), ("nomand", nil): break
            default: throw Errno.EINVAL
            }
        }
        return options
    }

    /// A number with an optional k, m, g, t, p or e suffix (powers of 1024), or nil.
    static func scaledNumber(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift: UInt64 = 0
        if let last = digits.last, let i = "kmgtpe".firstIndex(of: Character(last.lowercased())) {
            shift = UInt64("kmgtpe".distance(from: "kmgtpe".startIndex, to: i) + 1) * 10
            digits = digits.dropLast()
        }
        guard let n = UInt64(digits) else { return nil }
        let (v, overflow) = n.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : v
    }
}

extension TmpfsOptions {
    /// What /proc/mounts shows after the flags: the limits and the root's mode and owner where they
    /// differ from tmpfs's defaults (sizes in whole pages, as kibibytes).
    var shownOptions: String {
        var parts: [String] = []
        if let sizeLimit { parts.append("size=\((sizeLimit + 4095) / 4096 * 4)k") }
        if let inodeLimit { parts.append("nr_inodes=\(inodeLimit)") }
        if mode != 0o1777 {
            let octal = String(mode, radix: 8)
            parts.append("mode=" + String(repeating: "0", count: max(0, 3 - octal.count)) + octal)
        }
        if uid != 0 { parts.append("uid=\(uid)") }
        if gid != 0 { parts.append("gid=\(gid)") }
        return parts.joined(separator: ",")
    }
}
