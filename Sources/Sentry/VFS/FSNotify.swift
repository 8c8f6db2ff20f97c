// File-change notification (inotify's side in the VFS): the watches on inodes and the events that the
// syscall handlers report when they read, write, open, close, create, remove, rename or change a file.
//
// Cost when nothing is watched: every hook is `if FSNotify.active { ... }`, one relaxed atomic load of the
// number of watches in the whole Sentry. Everything else (the registry lock, stat for IN_ISDIR, the
// parent lookup for IN_EXCL_UNLINK) happens only while some watch exists.
//
// Watches are keyed by the identity of the Inode object, which is the file's identity in the tmpfs and
// overlay file systems (one object per file for the sandbox's life) and, on Gofer mounts, for as long as
// the dentry stays cached. Events about a file go to its own watches and, with its name, to its parent
// directory's (the parent the file was opened or walked through), parent first, as Linux orders them.
// Lock order: the registry lock is never held while an instance's lock is taken (events are collected,
// then queued).
import LinuxABI
import Synchronization

enum FSNotify {
    /// Watches that exist anywhere in this process: the hooks' only check when it is zero.
    static let watchCount = Atomic<Int>(0)
    @inline(__always) static var active: Bool { watchCount.load(ordering: .relaxed) != 0 }

    static let registry = WatchRegistry()

    // MARK: Hooks (call them behind `if FSNotify.active`)

    /// An event on an open file (read, write, open, close): to the file and its directory.
    static func file(_ file: FileDescription, _ mask: UInt32) {
        guard let d = file.dentry, file.flags & OpenFlags.O_PATH == 0 else { return }
        dentry(d, mask, isDirectory: file is DirectoryDescription)
    }

    /// An event on the file `d` names: to its parent directory's watches (with the name), then its own. A
    /// mount's root has no parent in its own file system, so it reports to itself only (as on Linux).
    static func dentry(_ d: Dentry, _ mask: UInt32, isDirectory: Bool? = nil) {
        let dir = isDirectory ?? ((try? d.inode.stat().isDirectory) ?? false)
        let bits = mask | (dir ? InotifyABI.IN_ISDIR : 0)
        if let parent = d.parent, d.mount?.root !== d {
            registry.deliver(to: parent.inode, InotifyEvent(mask: bits, name: d.name)) {
                // IN_EXCL_UNLINK: is the file still a child of that directory?
                (try? parent.inode.lookup(d.name, task: nil)) === d.inode
            }
        }
        registry.deliver(to: d.inode, InotifyEvent(mask: bits))
    }

    /// An event a directory reports about its entry `name` (IN_CREATE, IN_DELETE, IN_MOVED_*).
    static func child(of directory: Inode, name: String, _ mask: UInt32, isDirectory: Bool, cookie: UInt32 = 0) {
        registry.deliver(to: directory, InotifyEvent(mask: mask | (isDirectory ? InotifyABI.IN_ISDIR : 0), cookie: cookie, name: name))
    }

    /// An event only the file's own watches see (IN_ATTRIB for a link count, IN_MOVE_SELF).
    static func inode(_ inode: Inode, _ mask: UInt32, isDirectory: Bool = false) {
        registry.deliver(to: inode, InotifyEvent(mask: mask | (isDirectory ? InotifyABI.IN_ISDIR : 0)))
    }

    /// `name` (the file `removed`) left `directory`. `lastLink` says the file has no name left: its
    /// watches then see IN_DELETE_SELF and end, at once or, while it is still open, at its last close.
    static func removed(_ removed: Inode, name: String, from directory: Inode, isDirectory: Bool, lastLink: Bool, kernel: Kernel) {
        if !isDirectory { inode(removed, InotifyABI.IN_ATTRIB) }
        if isDirectory || lastLink {
            if !isDirectory && kernel.hasOpenDescription(of: removed) {
                registry.markDeleted(removed)
            } else {
                registry.deleteSelf(removed)
            }
        }
        child(of: directory, name: name, InotifyABI.IN_DELETE, isDirectory: isDirectory)
    }

    /// The last descriptor of an open file was closed: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE, and the
    /// IN_DELETE_SELF an unlinked file's watches were waiting for.
    static func released(_ file: FileDescription) {
        guard let d = file.dentry, file.flags & OpenFlags.O_PATH == 0 else { return }
        self.file(file, file.writable ? InotifyABI.IN_CLOSE_WRITE : InotifyABI.IN_CLOSE_NOWRITE)
        if registry.isMarkedDeleted(d.inode), let kernel = registry.kernel(watching: d.inode),
           !kernel.hasOpenDescription(of: d.inode) {
            registry.deleteSelf(d.inode)
        }
    }

    /// The file system of `mount` is gone: its watches see IN_UNMOUNT and end, newest file first (the
    /// order Linux walks a file system's inodes in).
    static func unmounted(_ mount: Mount) {
        var seen = Set<ObjectIdentifier>()
        let inodes = registry.watches(inMount: mount.root).map(\.inode).filter { seen.insert(ObjectIdentifier($0)).inserted }
        let ordered = inodes.map { ($0, try? $0.stat()) }.sorted { ($0.1?.inode ?? 0) > ($1.1?.inode ?? 0) }
        for (inode, st) in ordered {
            registry.endAll(on: inode, with: InotifyABI.IN_UNMOUNT | (st?.isDirectory == true ? InotifyABI.IN_ISDIR : 0))
        }
    }

    /// A cookie that ties an IN_MOVED_FROM to its IN_MOVED_TO.
    static func newCookie() -> UInt32 {
        let c = cookieCounter.add(1, ordering: .relaxed).newValue
        return c == 0 ? cookieCounter.add(1, ordering: .relaxed).newValue : c
    }
    private static let cookieCounter = Atomic<UInt32>(0)
}

/// One queued inotify event (the wd is filled in per watch).
struct InotifyEvent: Equatable {
    var wd: Int32 = 0
    var mask: UInt32
    var cookie: UInt32 = 0
    var name: String = ""

    /// `struct inotify_event` with the name NUL-padded to a multiple of 16 bytes, as Linux pads it.
    var encodedSize: Int {
        if name.isEmpty { return InotifyABI.eventHeaderSize }
        let n = name.utf8.count + 1
        return InotifyABI.eventHeaderSize + (n + 15) / 16 * 16
    }

    func encode(into out: inout [UInt8]) {
        let nameLength = encodedSize - InotifyABI.eventHeaderSize
        for v in [UInt32(bitPattern: wd), mask, cookie, UInt32(nameLength)] {
            out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8 & 0xff)); out.append(UInt8(v >> 16 & 0xff)); out.append(UInt8(v >> 24))
        }
        if nameLength > 0 {
            let bytes = Array(name.utf8)
            out += bytes
            out += [UInt8](repeating: 0, count: nameLength - bytes.count)
        }
    }
}

/// One watch: an instance's interest in an inode.
final class InotifyWatch: @unchecked Sendable {
    /// Strong: a watch that outlives its instance's close (a racing add) keeps it alive, never dangling.
    let instance: InotifyInstance
    let wd: Int32
    let inode: Inode
    /// The root of the mount the inode was found in: its unmount ends the watch (IN_UNMOUNT).
    let mountRoot: Dentry
    /// Event bits and IN_ONESHOT/IN_EXCL_UNLINK; guarded by the registry lock.
    var mask: UInt32
    init(instance: InotifyInstance, wd: Int32, inode: Inode, mountRoot: Dentry, mask: UInt32) {
        self.instance = instance; self.wd = wd; self.inode = inode; self.mountRoot = mountRoot; self.mask = mask
    }
}

/// Every watch, by watched inode.
final class WatchRegistry: @unchecked Sendable {
    private let lock = Lock()
    private var byInode: [ObjectIdentifier: [InotifyWatch]] = [:]
    /// Unlinked files that are still open: their watches get IN_DELETE_SELF at the last close.
    private var deletedWhileOpen: Set<ObjectIdentifier> = []

    /// The instance's watch on `inode`, if any.
    func watch(of instance: InotifyInstance, on inode: Inode) -> InotifyWatch? {
        lock.withLock { byInode[ObjectIdentifier(inode)]?.first { $0.instance === instance } }
    }

    func add(_ w: InotifyWatch) {
        lock.withLock { byInode[ObjectIdentifier(w.inode), default: []].append(w) }
        FSNotify.watchCount.add(1, ordering: .relaxed)
    }

    func updateMask(_ w: InotifyWatch, _ body: (inout UInt32) -> Void) { lock.withLock { body(&w.mask) } }

    /// Takes the watch out of the registry; false if it was already gone.
    @discardableResult
    func remove(_ w: InotifyWatch) -> Bool {
        let removed = lock.withLock { () -> Bool in
            let key = ObjectIdentifier(w.inode)
            guard var list = byInode[key], let i = list.firstIndex(where: { $0 === w }) else { return false }
            list.remove(at: i)
            if list.isEmpty { byInode.removeValue(forKey: key); deletedWhileOpen.remove(key) } else { byInode[key] = list }
            return true
        }
        if removed { FSNotify.watchCount.subtract(1, ordering: .relaxed) }
        return removed
    }

    /// Queues `event` for every watch on `inode` that asked for it. `stillLinked` is asked (once) only
    /// when a watch has IN_EXCL_UNLINK.
    func deliver(to inode: Inode, _ event: InotifyEvent, stillLinked: (() -> Bool)? = nil) {
        let bits = event.mask & InotifyABI.IN_ALL_EVENTS
        var targets: [(InotifyWatch, Bool)] = []
        lock.withLock {
            guard let list = byInode[ObjectIdentifier(inode)] else { return }
            for w in list where w.mask & bits != 0 { targets.append((w, w.mask & InotifyABI.IN_ONESHOT != 0)) }
        }
        guard !targets.isEmpty else { return }
        var linked: Bool?
        for (w, oneshot) in targets {
            if stillLinked != nil && w.mask & InotifyABI.IN_EXCL_UNLINK != 0 {
                if linked == nil { linked = stillLinked?() ?? true }
                if linked == false { continue }
            }
            // A one-shot watch fires once: whoever removes it first queues the event and IN_IGNORED.
            if oneshot && !remove(w) { continue }
            var e = event
            e.wd = w.wd
            w.instance.enqueue(e)
            if oneshot { w.instance.watchEnded(w) }
        }
    }

    /// IN_DELETE_SELF then IN_IGNORED for every watch on `inode`, which end.
    func deleteSelf(_ inode: Inode) {
        deliver(to: inode, InotifyEvent(mask: InotifyABI.IN_DELETE_SELF))
        endAll(on: inode, with: nil)
    }

    /// Ends every watch on `inode`, queueing `event` (IN_UNMOUNT) before each IN_IGNORED.
    func endAll(on inode: Inode, with event: UInt32?) {
        let list = lock.withLock { byInode[ObjectIdentifier(inode)] ?? [] }
        for w in list where remove(w) {
            if let event { w.instance.enqueue(InotifyEvent(wd: w.wd, mask: event)) }
            w.instance.watchEnded(w)
        }
    }

    /// Watches on files of the mount whose root is `root` (for IN_UNMOUNT).
    func watches(inMount root: Dentry) -> [InotifyWatch] {
        lock.withLock { byInode.values.flatMap { $0.filter { $0.mountRoot === root } } }
    }

    func markDeleted(_ inode: Inode) { lock.withLock { _ = deletedWhileOpen.insert(ObjectIdentifier(inode)) } }
    func isMarkedDeleted(_ inode: Inode) -> Bool { lock.withLock { deletedWhileOpen.contains(ObjectIdentifier(inode)) } }
    func kernel(watching inode: Inode) -> Kernel? { lock.withLock { byInode[ObjectIdentifier(inode)]?.first?.instance.kernel } }
}

extension Kernel {
    /// Whether any process of the sandbox holds an open description of `inode` (a rare question: asked
    /// only for a watched file losing its last name, and at the close of such a file).
    func hasOpenDescription(of inode: Inode) -> Bool {
        let tables: [FDTable] = taskLock.withLock {
            var seen = Set<ObjectIdentifier>()
            var out: [FDTable] = []
            for g in groups.values { for t in g.tasks where seen.insert(ObjectIdentifier(t.fdTable)).inserted { out.append(t.fdTable) } }
            return out
        }
        for table in tables {
            for fd in table.numbers {
                if let f = table.entry(fd)?.file, f.flags & OpenFlags.O_PATH == 0, f.dentry?.inode === inode { return true }
            }
        }
        return false
    }
}

extension FSNotify {
    /// chmod/chown/truncate/utimes: IN_ATTRIB for owner, mode or both times, IN_MODIFY for the size or
    /// the modification time alone, IN_ACCESS for the access time alone (Linux's mapping).
    static func attributesChanged(_ d: Dentry, _ c: AttributeChanges) {
        var mask: UInt32 = 0
        if c.mask & (AttributeChanges.uid | AttributeChanges.gid | AttributeChanges.mode) != 0 { mask |= InotifyABI.IN_ATTRIB }
        if c.has(AttributeChanges.size) { mask |= InotifyABI.IN_MODIFY }
        let atime = c.mask & (AttributeChanges.atime | AttributeChanges.atimeNow) != 0
        let mtime = c.mask & (AttributeChanges.mtime | AttributeChanges.mtimeNow) != 0
        if atime && mtime { mask |= InotifyABI.IN_ATTRIB } else if atime { mask |= InotifyABI.IN_ACCESS } else if mtime { mask |= InotifyABI.IN_MODIFY }
        if mask != 0 { dentry(d, mask) }
    }

    /// A rename: IN_MOVED_FROM and IN_MOVED_TO with one cookie, IN_ATTRIB on a replaced file, IN_MOVE_SELF
    /// on the moved one, then IN_DELETE_SELF when that was the replaced file's last name (Linux's order).
    /// An exchange moves both files.
    static func renamed(_ source: Inode, from oldDirectory: Inode, _ oldName: String, to newDirectory: Inode, _ newName: String,
                        replaced: Inode?, replacedLastLink: Bool, exchange: Bool, kernel: Kernel) {
        let sourceIsDirectory = (try? source.stat().isDirectory) ?? false
        let cookie = newCookie()
        child(of: oldDirectory, name: oldName, InotifyABI.IN_MOVED_FROM, isDirectory: sourceIsDirectory, cookie: cookie)
        child(of: newDirectory, name: newName, InotifyABI.IN_MOVED_TO, isDirectory: sourceIsDirectory, cookie: cookie)
        guard let replaced, replaced !== source else { inode(source, InotifyABI.IN_MOVE_SELF); return }
        let replacedIsDirectory = (try? replaced.stat().isDirectory) ?? false
        if !exchange && !replacedIsDirectory { inode(replaced, InotifyABI.IN_ATTRIB) }
        inode(source, InotifyABI.IN_MOVE_SELF)
        if exchange {
            let back = newCookie()
            child(of: newDirectory, name: newName, InotifyABI.IN_MOVED_FROM, isDirectory: replacedIsDirectory, cookie: back)
            child(of: oldDirectory, name: oldName, InotifyABI.IN_MOVED_TO, isDirectory: replacedIsDirectory, cookie: back)
            inode(replaced, InotifyABI.IN_MOVE_SELF)
            return
        }
        if replacedIsDirectory || replacedLastLink {
            if !replacedIsDirectory && kernel.hasOpenDescription(of: replaced) { registry.markDeleted(replaced) } else { registry.deleteSelf(replaced) }
        }
    }
}
