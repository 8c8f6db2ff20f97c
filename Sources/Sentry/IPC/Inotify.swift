// inotify(7): an inotify instance is a file description holding a queue of events about the inodes it
// watches (VFS/FSNotify.swift delivers them). read(2) returns whole events, poll/epoll see POLLIN while
// the queue is not empty, FIONREAD gives the bytes queued.
import LinuxABI

final class InotifyInstance: FileDescription, @unchecked Sendable {
    unowned let kernel: Kernel
    /// The real uid that made it: the per-user instance and watch limits count against it.
    let owner: UInt32
    let number = Inode.allocateNumber()
    // Guarded by `lock` (FileDescription's).
    private var queue: [InotifyEvent] = []
    private var queueHead = 0
    private var queuedBytes = 0
    private var watches: [Int32: InotifyWatch] = [:]
    private var nextWD: Int32 = 1
    private var closed = false

    init(kernel: Kernel, owner: UInt32, flags: Int) {
        self.kernel = kernel; self.owner = owner
        super.init(flags: OpenFlags.O_RDONLY | flags, dentry: nil)
    }

    private var queuedCount: Int { queue.count - queueHead }

    // MARK: Watches

    /// inotify_add_watch on a resolved file: a new watch, or the existing one with its mask replaced
    /// (or extended with IN_MASK_ADD). Returns the watch descriptor.
    func addWatch(on dentry: Dentry, mask: UInt32) throws(Errno) -> Int32 {
        let inode = dentry.inode
        let kept = mask & ~(InotifyABI.IN_MASK_ADD | InotifyABI.IN_MASK_CREATE | InotifyABI.IN_DONT_FOLLOW | InotifyABI.IN_ONLYDIR)
        if let existing = FSNotify.registry.watch(of: self, on: inode) {
            if mask & InotifyABI.IN_MASK_CREATE != 0 { throw Errno.EEXIST }
            FSNotify.registry.updateMask(existing) { m in m = mask & InotifyABI.IN_MASK_ADD != 0 ? m | kept : kept }
            return existing.wd
        }
        let watch = try lock.withLock { () throws(Errno) -> InotifyWatch in
            guard !closed else { throw Errno.EBADF }
            guard kernel.inotifyLimits.addWatch(owner: owner) else { throw Errno.ENOSPC }
            // Descriptors are handed out in increasing order, not reused at once (as Linux's cyclic ids).
            while watches[nextWD] != nil { nextWD = nextWD == Int32.max ? 1 : nextWD + 1 }
            let w = InotifyWatch(instance: self, wd: nextWD, inode: inode, mountRoot: dentry.mountRoot, mask: kept)
            nextWD = nextWD == Int32.max ? 1 : nextWD + 1
            watches[w.wd] = w
            return w
        }
        FSNotify.registry.add(watch)
        // A close that raced with this add has dropped the instance's watches already: drop this one too.
        if lock.withLock({ closed }), FSNotify.registry.remove(watch) { kernel.inotifyLimits.removeWatch(owner: owner) }
        return watch.wd
    }

    /// inotify_rm_watch: ends the watch with IN_IGNORED.
    func removeWatch(_ wd: Int32) throws(Errno) {
        guard let w = lock.withLock({ watches[wd] }), FSNotify.registry.remove(w) else { throw Errno.EINVAL }
        watchEnded(w)
    }

    /// A watch is gone (removed, one-shot fired, file deleted, unmounted): IN_IGNORED tells the app.
    func watchEnded(_ w: InotifyWatch) {
        let known = lock.withLock { () -> Bool in
            guard watches[w.wd] === w else { return false }
            watches.removeValue(forKey: w.wd)
            return true
        }
        guard known else { return }
        kernel.inotifyLimits.removeWatch(owner: owner)
        enqueue(InotifyEvent(wd: w.wd, mask: InotifyABI.IN_IGNORED))
    }

    // MARK: The queue

    /// Queues an event, unless it repeats the last unread one, and wakes readers. Past the queue limit
    /// one IN_Q_OVERFLOW (wd -1) is queued and later events are lost until the app reads.
    func enqueue(_ event: InotifyEvent) {
        let added = lock.withLock { () -> Bool in
            if closed { return false }
            if queuedCount > 0, queue[queue.count - 1] == event { return false }
            var e = event
            if queuedCount >= InotifyABI.maxQueuedEvents {
                if queue.last?.mask == InotifyABI.IN_Q_OVERFLOW { return false }
                e = InotifyEvent(wd: -1, mask: InotifyABI.IN_Q_OVERFLOW)
            }
            queue.append(e)
            queuedBytes += e.encodedSize
            return true
        }
        if added { readinessQueue.notify(PollEvents.POLLIN) }
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        let room = buffers.reduce(0) { $0 + $1.count }
        var out: [UInt8] = []
        try task.block(on: [readinessQueue.waiters]) { () throws(Errno) -> Bool in
            try lock.withLock { () throws(Errno) -> Bool in
                if queuedCount == 0 {
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
                // Whole events only; a buffer too small for the first one is EINVAL.
                while queueHead < queue.count, out.count + queue[queueHead].encodedSize <= room {
                    queue[queueHead].encode(into: &out)
                    queuedBytes -= queue[queueHead].encodedSize
                    queueHead += 1
                }
                if out.isEmpty { throw Errno.EINVAL }
                if queueHead == queue.count || queueHead > 4096 { queue.removeFirst(queueHead); queueHead = 0 }
                return true
            }
        }
        var done = 0
        for b in buffers where done < out.count {
            let n = min(b.count, out.count - done)
            out.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + done, byteCount: n) }
            done += n
        }
        return done
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EBADF }

    override func pollEvents(task: Task?) -> UInt32 {
        lock.withLock { queuedCount > 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0 }
    }

    override func readiness() -> (Bool, Bool, Bool) { (lock.withLock { queuedCount > 0 }, false, false) }

    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        guard request == IoctlRequests.FIONREAD else { throw Errno.ENOTTY }
        try task.mm.write(argument, Int32(clamping: lock.withLock { queuedBytes }))
        return 0
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0d, inode: number, mode: 0o600, nlink: 1, blockSize: 4096)
    }

    /// The last descriptor is gone: the watches end without events.
    override func release() {
        let all = lock.withLock { () -> [InotifyWatch] in
            closed = true
            let a = Array(watches.values)
            watches = [:]; queue = []; queueHead = 0; queuedBytes = 0
            return a
        }
        for w in all where FSNotify.registry.remove(w) { kernel.inotifyLimits.removeWatch(owner: owner) }
        kernel.inotifyLimits.removeInstance(owner: owner)
        super.release()
    }
}

/// /proc/sys/fs/inotify's per-user limits (max_user_instances, max_user_watches), per sandbox.
final class InotifyLimits: @unchecked Sendable {
    private let lock = Lock()
    private var instances: [UInt32: Int] = [:]
    private var watches: [UInt32: Int] = [:]

    func addInstance(owner: UInt32) -> Bool {
        lock.withLock {
            guard instances[owner, default: 0] < InotifyABI.maxUserInstances else { return false }
            instances[owner, default: 0] += 1
            return true
        }
    }
    func removeInstance(owner: UInt32) { lock.withLock { instances[owner, default: 1] -= 1 } }
    func addWatch(owner: UInt32) -> Bool {
        lock.withLock {
            guard watches[owner, default: 0] < InotifyABI.maxUserWatches else { return false }
            watches[owner, default: 0] += 1
            return true
        }
    }
    func removeWatch(owner: UInt32) { lock.withLock { watches[owner, default: 1] -= 1 } }
}

extension Kernel {
    func inotifyInit(_ task: Task, flags: Int) throws(Errno) -> Int {
        guard flags & ~(InotifyABI.IN_NONBLOCK | InotifyABI.IN_CLOEXEC) == 0 else { throw Errno.EINVAL }
        let owner = task.credentials.uid
        guard inotifyLimits.addInstance(owner: owner) else { throw Errno.EMFILE }
        let instance = InotifyInstance(kernel: self, owner: owner, flags: flags & InotifyABI.IN_NONBLOCK)
        do {
            return Int(try task.fdTable.add(instance, closeOnExec: flags & InotifyABI.IN_CLOEXEC != 0))
        } catch {
            inotifyLimits.removeInstance(owner: owner)
            throw error
        }
    }

    func inotifyAddWatch(_ task: Task, fd: Int32, pathAddress: UInt64, mask: UInt32) throws(Errno) -> Int {
        guard mask & (InotifyABI.IN_MASK_ADD | InotifyABI.IN_MASK_CREATE) != InotifyABI.IN_MASK_ADD | InotifyABI.IN_MASK_CREATE,
              mask & InotifyABI.IN_ALL_EVENTS != 0 else { throw Errno.EINVAL }
        guard let instance = try task.fdTable.get(fd) as? InotifyInstance else { throw Errno.EINVAL }
        let path = try task.mm.readString(pathAddress)
        guard !path.isEmpty else { throw Errno.ENOENT }
        let dentry = try resolve(task: task, path: path, follow: mask & InotifyABI.IN_DONT_FOLLOW == 0)
        let st = try dentry.inode.stat()
        if mask & InotifyABI.IN_ONLYDIR != 0 && !st.isDirectory { throw Errno.ENOTDIR }
        try checkAccess(task, st, read: true, write: false, execute: false)
        return Int(try instance.addWatch(on: dentry, mask: mask))
    }

    func inotifyRemoveWatch(_ task: Task, fd: Int32, wd: Int32) throws(Errno) -> Int {
        guard let instance = try task.fdTable.get(fd) as? InotifyInstance else { throw Errno.EINVAL }
        try instance.removeWatch(wd)
        return 0
    }
}

extension SyscallTable {
    func registerInotifySyscalls() {
        register(SyscallNumber.inotify_init) { (t, _) throws(Errno) -> Int in try t.kernel.inotifyInit(t, flags: 0) }
        register(SyscallNumber.inotify_init1) { (t, a) throws(Errno) -> Int in try t.kernel.inotifyInit(t, flags: Int(a.int0)) }
        register(SyscallNumber.inotify_add_watch) { (t, a) throws(Errno) -> Int in
            try t.kernel.inotifyAddWatch(t, fd: a.int0, pathAddress: a.a1, mask: UInt32(truncatingIfNeeded: a.a2))
        }
        register(SyscallNumber.inotify_rm_watch) { (t, a) throws(Errno) -> Int in
            try t.kernel.inotifyRemoveWatch(t, fd: a.int0, wd: a.int1)
        }
    }
}
