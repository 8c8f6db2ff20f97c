// The file-system object model: an Inode is a file of some file system; a FileDescription is an open file.
import Glibc
import GoferProtocol
import LinuxABI

/// The owner a new file gets (the creating task's fs uid and gid, or the directory's gid when set-gid).
typealias FileOwner = GoferProtocol.FileOwner
/// A set of attribute changes (chmod, chown, truncate, utimes), shared with the Gofer protocol.
typealias AttributeChanges = GoferProtocol.AttributeChanges

/// Seconds and nanoseconds.
struct Timespec: Equatable {
    var sec: Int64 = 0
    var nsec: Int64 = 0
    static func now() -> Timespec {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timespec(sec: Int64(ts.tv_sec), nsec: Int64(ts.tv_nsec))
    }
}

/// What stat(2) reports about a file.
struct FileStat {
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var mode: UInt32 = 0
    var nlink: UInt64 = 1
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var rdev: UInt64 = 0
    var size: Int64 = 0
    var blockSize: Int64 = 4096
    var blocks: Int64 = 0
    var atime = Timespec(), mtime = Timespec(), ctime = Timespec()

    var isDirectory: Bool { mode & FileMode.S_IFMT == FileMode.S_IFDIR }
    var isSymlink: Bool { mode & FileMode.S_IFMT == FileMode.S_IFLNK }
    var isRegular: Bool { mode & FileMode.S_IFMT == FileMode.S_IFREG }

    /// The x86-64 `struct stat` (144 bytes).
    func encodeStat() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 144)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: device, toByteOffset: 0, as: UInt64.self)
            p.storeBytes(of: inode, toByteOffset: 8, as: UInt64.self)
            p.storeBytes(of: nlink, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: mode, toByteOffset: 24, as: UInt32.self)
            p.storeBytes(of: uid, toByteOffset: 28, as: UInt32.self)
            p.storeBytes(of: gid, toByteOffset: 32, as: UInt32.self)
            p.storeBytes(of: rdev, toByteOffset: 40, as: UInt64.self)
            p.storeBytes(of: size, toByteOffset: 48, as: Int64.self)
            p.storeBytes(of: blockSize, toByteOffset: 56, as: Int64.self)
            p.storeBytes(of: blocks, toByteOffset: 64, as: Int64.self)
            p.storeBytes(of: atime.sec, toByteOffset: 72, as: Int64.self)
            p.storeBytes(of: atime.nsec, toByteOffset: 80, as: Int64.self)
            p.storeBytes(of: mtime.sec, toByteOffset: 88, as: Int64.self)
            p.storeBytes(of: mtime.nsec, toByteOffset: 96, as: Int64.self)
            p.storeBytes(of: ctime.sec, toByteOffset: 104, as: Int64.self)
            p.storeBytes(of: ctime.nsec, toByteOffset: 112, as: Int64.self)
        }
        return b
    }

    /// The `struct statx` (256 bytes) with the basic fields.
    func encodeStatx() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 256)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: UInt32(0x7ff), toByteOffset: 0, as: UInt32.self)  // STATX_BASIC_STATS
            p.storeBytes(of: UInt32(truncatingIfNeeded: blockSize), toByteOffset: 4, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: nlink), toByteOffset: 16, as: UInt32.self)
            p.storeBytes(of: uid, toByteOffset: 20, as: UInt32.self)
            p.storeBytes(of: gid, toByteOffset: 24, as: UInt32.self)
            p.storeBytes(of: UInt16(truncatingIfNeeded: mode), toByteOffset: 28, as: UInt16.self)
            p.storeBytes(of: inode, toByteOffset: 32, as: UInt64.self)
            p.storeBytes(of: UInt64(bitPattern: size), toByteOffset: 40, as: UInt64.self)
            p.storeBytes(of: UInt64(bitPattern: blocks), toByteOffset: 48, as: UInt64.self)
            for (off, t) in [(64, atime), (96, ctime), (112, mtime)] {
                p.storeBytes(of: t.sec, toByteOffset: off, as: Int64.self)
                p.storeBytes(of: UInt32(truncatingIfNeeded: t.nsec), toByteOffset: off + 8, as: UInt32.self)
            }
            p.storeBytes(of: UInt32(truncatingIfNeeded: (rdev >> 8) & 0xfff), toByteOffset: 128, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: rdev & 0xff), toByteOffset: 132, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: (device >> 8) & 0xfff), toByteOffset: 136, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: device & 0xff), toByteOffset: 140, as: UInt32.self)
        }
        return b
    }
}

/// One directory entry as getdents64 reports it.
struct DirEntry {
    var name: String
    var inode: UInt64
    var type: UInt8
}

/// A file of some file system. Subclasses override what their kind of file supports; the defaults
/// return the errno Linux returns for a file that does not support the operation.
class Inode: @unchecked Sendable {
    /// The Sentry-side inode numbers of synthetic file systems.
    nonisolated(unsafe) static var nextInodeNumber: UInt64 = 1000
    static let numberLock = Lock()
    static func allocateNumber() -> UInt64 { numberLock.withLock { nextInodeNumber += 1; return nextInodeNumber } }

    func stat() throws(Errno) -> FileStat { throw Errno.EIO }
    /// Whether lookups below this directory may be cached in the dentry tree.
    var cacheable: Bool { true }
    /// Whether a cached child must be checked with `revalidate` before each use (files shared with the host).
    var revalidatesChildren: Bool { false }
    /// nil if `cached` is still what `name` names; else the inode it names now (throws when it is gone).
    func revalidate(_ name: String, cached: Inode, task: Task?) throws(Errno) -> Inode? { nil }
    func lookup(_ name: String, task: Task?) throws(Errno) -> Inode { throw Errno.ENOTDIR }
    func readDirectory(task: Task) throws(Errno) -> [DirEntry] { throw Errno.ENOTDIR }
    func readlink(task: Task) throws(Errno) -> String { throw Errno.EINVAL }
    /// Opens the file; `flags` are the open(2) flags.
    func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription { throw Errno.ENXIO }
    /// For magic links such as /proc/self/fd/N and /proc/self/exe: the dentry they stand for, if any.
    func magicLinkTarget(task: Task) -> Dentry? { nil }

    // Changes. Directories implement the namespace operations, every file setAttributes; the defaults
    // are what Linux answers on a file system that cannot do them. Callers have checked permissions,
    // read-only mounts and that `name` is a valid new name.

    /// Creates and opens a regular file; returns it and, for host-backed files, the donated descriptor
    /// opened with the access mode of `flags` (otherwise the caller opens the inode).
    func create(_ name: String, mode: UInt32, owner: FileOwner, flags: Int) throws(Errno) -> (Inode, Int32?) { throw Errno.EPERM }
    func makeDirectory(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) { throw Errno.EPERM }
    /// An unnamed regular file in this directory (O_TMPFILE), with no link until linkat gives it one.
    func createTemporary(mode: UInt32, owner: FileOwner) throws(Errno) -> Inode { throw Errno.EOPNOTSUPP }
    /// A regular file or FIFO; `mode` includes the type.
    func makeNode(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) { throw Errno.EPERM }
    func makeSymlink(_ name: String, target: String, owner: FileOwner) throws(Errno) { throw Errno.EPERM }
    /// A new name for `file` in this directory (EXDEV when it belongs to another file system).
    func link(_ name: String, to file: Inode) throws(Errno) { throw Errno.EPERM }
    func remove(_ name: String, directory: Bool) throws(Errno) { throw Errno.EPERM }
    /// renameat2 within one file system (EXDEV otherwise); `flags` are RENAME_NOREPLACE/EXCHANGE.
    func rename(_ name: String, to newDirectory: Inode, _ newName: String, flags: UInt32) throws(Errno) { throw Errno.EPERM }
    func setAttributes(_ changes: AttributeChanges) throws(Errno) { throw Errno.EPERM }

    // Extended attributes (XattrSyscalls.swift has checked the name, size, namespace and permissions).
    // The defaults are a file system without attributes: set/get/remove EOPNOTSUPP, an empty list.
    func getXattr(_ name: [UInt8]) throws(Errno) -> [UInt8] { throw Errno.EOPNOTSUPP }
    /// `flags` are XATTR_CREATE (EEXIST if present) / XATTR_REPLACE (ENODATA if absent).
    func setXattr(_ name: [UInt8], value: [UInt8], flags: UInt32) throws(Errno) { throw Errno.EOPNOTSUPP }
    func listXattr() throws(Errno) -> [[UInt8]] { [] }
    func removeXattr(_ name: [UInt8]) throws(Errno) { throw Errno.EOPNOTSUPP }
}

/// A dentry: a name in the tree of files the sandbox sees. Mounted file systems hang off their mount point.
final class Dentry: @unchecked Sendable {
    let name: String
    /// The parent; the root of the whole tree is its own parent (kept nil here and treated as such).
    let parent: Dentry?
    let inode: Inode
    /// The mount this dentry belongs to (its parent's unless it is a mount's root): read-only, nosuid,
    /// nodev and noexec are the mount's, so a remount applies to every dentry at once.
    let mount: Mount?
    /// A mount on top of this dentry: walks that reach it continue at the mounted root. Guarded by
    /// `lock`, since mount(2) and umount2(2) change it while other tasks walk.
    var mounted: Dentry? {
        get { lock.withLock { mountedRoot } }
        set { lock.withLock { mountedRoot = newValue } }
    }
    var readOnly: Bool { mount?.readOnly ?? ownReadOnly }
    private let ownReadOnly: Bool
    private var mountedRoot: Dentry?
    private var children: [String: Dentry] = [:]
    private let lock = Lock()

    init(name: String, parent: Dentry?, inode: Inode, readOnly: Bool, mount: Mount? = nil) {
        self.name = name; self.parent = parent; self.inode = inode; self.ownReadOnly = readOnly
        self.mount = mount ?? parent?.mount
    }

    /// The child called `name`, looked up (and cached where the file system allows) on first use.
    func child(_ name: String, task: Task?) throws(Errno) -> Dentry {
        var fresh: Inode?
        if let c = lock.withLock({ children[name] }) {
            // A mount point is the Sentry's own: it stays whatever the host did under it.
            guard self.inode.revalidatesChildren, c.mounted == nil else { return c }
            do throws(Errno) {
                guard let replacement = try self.inode.revalidate(name, cached: c.inode, task: task) else { return c }
                fresh = replacement
            } catch {
                lock.withLock { if children[name] === c { children.removeValue(forKey: name) } }
                throw error
            }
            lock.withLock { if children[name] === c { children.removeValue(forKey: name) } }
        }
        let inode: Inode
        if let fresh { inode = fresh } else { inode = try self.inode.lookup(name, task: task) }
        let d = Dentry(name: name, parent: self, inode: inode, readOnly: readOnly)
        if self.inode.cacheable {
            return lock.withLock { if let c = children[name] { return c }; children[name] = d; return d }
        }
        return d
    }

    func childForMount(_ name: String) throws(Errno) -> Dentry { try child(name, task: nil) }

    /// The dentry of a file just created as `name`, holding the inode the file system returned (so
    /// state that inode carries, such as a donated descriptor's writes, is what later walks see).
    func created(_ name: String, inode: Inode) -> Dentry {
        let d = Dentry(name: name, parent: self, inode: inode, readOnly: readOnly)
        guard self.inode.cacheable else { return d }
        return lock.withLock { if let c = children[name] { return c }; children[name] = d; return d }
    }

    /// Forgets the cached child `name` after it was removed or renamed, so the next walk asks the file
    /// system again. A child with a mount on it stays (mount points are the Sentry's, not the file's).
    func invalidate(_ name: String) {
        lock.withLock {
            if let c = children[name], c.mounted == nil { children.removeValue(forKey: name) }
        }
    }

    /// The root of the mount this dentry belongs to: renames and links never cross it (EXDEV).
    var mountRoot: Dentry {
        var d = self
        while let p = d.parent {
            // A mount's root has its mount point's parent as parent, but is not that parent's child.
            if let base = p.lock.withLock({ p.children[d.name] }), base !== d {
                var m = base.mounted
                while let cur = m {
                    if cur === d { return d }
                    m = cur.mounted
                }
            }
            d = p
        }
        return d
    }

    /// Whether `other` is this dentry or one of its ancestors (a directory renamed into itself).
    func isDescendant(of other: Dentry) -> Bool {
        var d: Dentry? = self
        while let cur = d {
            if cur === other { return true }
            d = cur.parent
        }
        return false
    }

    /// Keeps `child` in this directory's cache (a mount point and the directories above it), even on file
    /// systems whose dentries are otherwise made afresh at each walk.
    func keep(_ child: Dentry) {
        lock.withLock { if children[child.name] !== child { children[child.name] = child } }
    }

    /// Adds a child that exists only in the Sentry's view (a mount point missing from the image).
    func addSynthetic(_ name: String, inode: Inode) -> Dentry {
        let d = Dentry(name: name, parent: self, inode: inode, readOnly: readOnly)
        lock.withLock { children[name] = d }
        return d
    }

    /// Follows mounts stacked on this dentry.
    var top: Dentry {
        var d = self
        while let m = d.mounted { d = m }
        return d
    }

    /// The absolute path of this dentry in the sandbox.
    var path: String {
        var parts: [String] = []
        var d: Dentry? = self
        while let cur = d, let p = cur.parent { parts.append(cur.name); d = p }
        return "/" + parts.reversed().joined(separator: "/")
    }
}
