// The sandbox's mount table: every mount (those made at boot from the config and those the app makes
// with mount(2)) with its flags, in the order they were made. /proc/[pid]/mounts and mountinfo are
// printed from it; dentries point at their mount, so a remount's flags apply at once everywhere.
import LinuxABI

/// One mounted file system (or bind of part of one) at one place in the tree.
final class Mount: @unchecked Sendable {
    let id: Int
    /// The file system's type and source as /proc/mounts shows them.
    let type: String
    let source: String
    /// The device minor mountinfo shows: shared by binds of one file system.
    let deviceMinor: Int
    /// The directory of the file system this mount shows ("/", or a bound subdirectory).
    let rootPath: String
    /// The mounted root, and the dentry it sits on (nil for "/"). Set once when attached, before the mount
    /// enters the table (so every mount in the table has its root).
    private(set) var root: Dentry!
    private(set) var base: Dentry?
    // Flags; changed under the table's lock, read without it (a stale read only races a remount).
    var readOnly: Bool
    var noSUID = false, noDev = false, noExec = false
    /// How access times are kept (relatime unless mount(2) says noatime or strictatime), and nodiratime.
    enum AtimePolicy { case relatime, noatime, strictatime }
    var atime = AtimePolicy.relatime
    var noDirAtime = false
    /// File-system options shown after the flags (e.g. "size=1024k,mode=755"); "" for boot mounts.
    var superOptions = ""
    /// MNT_EXPIRE marks a mount first, and unmounts it on the second call if still unused.
    var expiryMarked = false

    init(id: Int, type: String, source: String, deviceMinor: Int, rootPath: String, readOnly: Bool) {
        self.id = id; self.type = type; self.source = source; self.deviceMinor = deviceMinor
        self.rootPath = rootPath; self.readOnly = readOnly
    }

    func attach(root: Dentry, base: Dentry?) { self.root = root; self.base = base }

    /// The mount this one sits on (nil for "/").
    var parent: Mount? { base?.mount }

    /// mount(2)'s per-mount flags as the options column shows them.
    var flagOptions: String {
        let times: String
        switch atime {
        case .relatime: times = ",relatime"
        case .noatime: times = ",noatime"
        case .strictatime: times = ""
        }
        return (readOnly ? "ro" : "rw") + (noSUID ? ",nosuid" : "") + (noDev ? ",nodev" : "") + (noExec ? ",noexec" : "")
            + times + (noDirAtime ? ",nodiratime" : "")
    }
}

/// Every attached mount of the sandbox, by id (in mount order).
final class MountTable: @unchecked Sendable {
    let lock = Lock()
    private var mounts: [Mount] = []
    private var nextID = 1
    private var nextDevice = 21

    /// A new mount, to be attached and then inserted; `sameFileSystemAs` gives a bind the device of what
    /// it binds.
    func make(type: String, source: String, rootPath: String = "/", readOnly: Bool, sameFileSystemAs other: Mount? = nil) -> Mount {
        lock.withLock {
            let device = other?.deviceMinor ?? nextDevice
            if other == nil { nextDevice += 1 }
            let m = Mount(id: nextID, type: type, source: source, deviceMinor: device, rootPath: rootPath, readOnly: readOnly)
            nextID += 1
            return m
        }
    }

    /// Enters an attached mount into the table.
    func insert(_ m: Mount) { lock.withLock { mounts.append(m) } }

    func remove(_ m: Mount) { lock.withLock { mounts.removeAll { $0 === m } } }

    var all: [Mount] { lock.withLock { mounts } }

    /// The mount whose root is `d`, if `d` is a mount's root.
    func mount(rootedAt d: Dentry) -> Mount? { lock.withLock { mounts.first { $0.root === d } } }

    /// Mounts sitting on `m`, directly.
    func children(of m: Mount) -> [Mount] { lock.withLock { mounts.filter { $0.parent === m } } }

    /// `m` and every mount below it, parents before children.
    func subtree(of m: Mount) -> [Mount] {
        var out = [m]
        var i = 0
        while i < out.count { out += children(of: out[i]); i += 1 }
        return out
    }
}

extension Kernel {
    /// Puts `root` (a new mount's root dentry) on top of whatever is mounted at `base`, and keeps `base`
    /// and its ancestors in their parents' dentry caches so walks find the mount again (tmpfs and proc
    /// dentries are otherwise made afresh at each walk).
    func attach(_ mount: Mount, inode: Inode, on base: Dentry) -> Dentry {
        var top = base
        while let m = top.mounted { top = m }
        let root = Dentry(name: top.name, parent: top.parent, inode: inode, readOnly: mount.readOnly, mount: mount)
        mount.attach(root: root, base: top)
        var d = top
        while let p = d.parent { p.keep(d); d = p }
        top.mounted = root
        mountTable.insert(mount)
        return root
    }

    /// Takes `mount` off the tree (the dentry it sat on shows what is below again).
    func detachMount(_ mount: Mount) {
        guard let base = mount.base else { return }
        base.mounted = mount.root.mounted
        mountTable.remove(mount)
    }

    /// /proc/mounts and /proc/[pid]/mounts.
    func mountsText() -> String {
        mountTable.all.map { m in
            let super_ = m.superOptions.isEmpty ? "" : "," + m.superOptions
            return "\(m.source) \(m.root.path) \(m.type) \(m.flagOptions)\(super_) 0 0\n"
        }.joined()
    }

    /// /proc/[pid]/mountinfo.
    func mountInfoText() -> String {
        mountTable.all.map { m in
            let super_ = (m.readOnly ? "ro" : "rw") + (m.superOptions.isEmpty ? ",relatime" : "," + m.superOptions)
            return "\(m.id) \(m.parent?.id ?? 0) 0:\(m.deviceMinor) \(m.rootPath) \(m.root.path) \(m.flagOptions) - \(m.type) \(m.source) \(super_)\n"
        }.joined()
    }

    /// The type and source /proc/mounts shows for a mount of the config.
    static func describe(_ source: SentryMountSource) -> (type: String, source: String) {
        switch source {
        case .proc: return ("proc", "proc")
        case .dev: return ("devtmpfs", "none")
        case .tmpfs, .empty: return ("tmpfs", "none")
        case .gofer: return ("9p", "none")
        case .sysfs: return ("sysfs", "sysfs")
        }
    }
}

extension Dentry {
    /// statfs's f_flags for the mount this dentry is on: ST_VALID, ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC
    /// and the access-time policy (ST_NOATIME, ST_NODIRATIME, ST_RELATIME), as Linux reports them.
    var statfsFlags: Int {
        guard let m = mount else { return 0x20 | (readOnly ? 1 : 0) }
        var f = 0x20 | (m.readOnly ? 1 : 0) | (m.noSUID ? 2 : 0) | (m.noDev ? 4 : 0) | (m.noExec ? 8 : 0) | (m.noDirAtime ? 2048 : 0)
        switch m.atime {
        case .relatime: f |= 4096
        case .noatime: f |= 1024
        case .strictatime: break
        }
        return f
    }
}
