// epoll(7): an interest list of (fd, file) entries that observe their files' readiness queues, and a
// ready list of entries that were notified. epoll_wait checks the ready list's entries against the files'
// current poll events; level-triggered entries stay listed while ready, edge-triggered ones until the
// next notification, one-shot ones are disabled after one report.
//
// Lock order: EpollFile.lock, then a watched file's own locks (pollEvents). Notifications arrive
// without the notifier's locks held, so an entry may take its epoll's lock.
import LinuxABI

/// One (fd, file) in an epoll interest list.
final class EpollEntry: ReadinessObserver, @unchecked Sendable {
    weak var epoll: EpollFile?
    let fd: Int32
    let file: FileDescription
    var events: UInt32
    var data: UInt64
    /// Set by a notification, cleared when the entry leaves the ready list.
    var onReadyList = false
    /// One-shot entries are disabled after reporting, until EPOLL_CTL_MOD re-arms them.
    var disabled = false
    /// Files the Sentry cannot be told about (host pipes/ttys) or whose readiness depends on the waiting
    /// task (signalfd) are looked at on every epoll_wait scan.
    let alwaysCheck: Bool

    init(epoll: EpollFile, fd: Int32, file: FileDescription, events: UInt32, data: UInt64) {
        self.epoll = epoll; self.fd = fd; self.file = file; self.events = events; self.data = data
        alwaysCheck = file.readinessNeedsRecheck || file is SignalFileDescription
    }

    var key: EpollFile.Key { EpollFile.Key(fd: fd, file: ObjectIdentifier(file)) }

    func readinessChanged(_ changed: UInt32) {
        guard let epoll else { return }
        let interesting = events | PollEvents.POLLERR | PollEvents.POLLHUP
        if changed != 0 && changed & interesting == 0 { return }
        epoll.entryNotified(self)
    }

    func descriptionReleased(_ released: FileDescription) {
        guard released === file, let epoll else { return }
        epoll.remove(self)
    }
}

final class EpollFile: FileDescription, @unchecked Sendable {
    struct Key: Hashable { let fd: Int32; let file: ObjectIdentifier }
    private var interest: [Key: EpollEntry] = [:]
    private var readyList: [EpollEntry] = []
    /// Notified when the ready list gains an entry: epoll_wait sleeps here, and pollers of this epoll file.
    private let queue = ReadinessQueue()
    let number = Inode.allocateNumber()
    /// The flags an entry may carry.
    static let validEvents: UInt32 = PollEvents.POLLIN | PollEvents.POLLPRI | PollEvents.POLLOUT | PollEvents.POLLERR
        | PollEvents.POLLHUP | PollEvents.POLLRDNORM | PollEvents.POLLRDBAND | PollEvents.POLLWRNORM
        | PollEvents.POLLWRBAND | PollEvents.POLLMSG | PollEvents.POLLRDHUP
        | EpollABI.EPOLLEXCLUSIVE | EpollABI.EPOLLWAKEUP | EpollABI.EPOLLONESHOT | EpollABI.EPOLLET

    init(flags: Int) { super.init(flags: OpenFlags.O_RDWR, dentry: nil) }

    override var readinessQueue: ReadinessQueue { queue }

    // MARK: epoll_ctl

    func add(fd: Int32, file: FileDescription, events: UInt32, data: UInt64) throws(Errno) {
        if let inner = file as? EpollFile {
            if events & EpollABI.EPOLLEXCLUSIVE != 0 { throw Errno.EINVAL }
            if inner === self || inner.watches(self, depth: 0) { throw Errno.ELOOP }
        }
        let entry = EpollEntry(epoll: self, fd: fd, file: file, events: events, data: data)
        try lock.withLock { () throws(Errno) in
            guard interest[entry.key] == nil else { throw Errno.EEXIST }
            interest[entry.key] = entry
        }
        file.readinessQueue.addObserver(entry)
        // Report a file that is ready already, like Linux does at insertion.
        entryNotified(entry)
    }

    func modify(fd: Int32, file: FileDescription, events: UInt32, data: UInt64) throws(Errno) {
        let entry = try lock.withLock { () throws(Errno) -> EpollEntry in
            guard let e = interest[Key(fd: fd, file: ObjectIdentifier(file))] else { throw Errno.ENOENT }
            // An exclusive entry cannot be modified, and MOD cannot make one exclusive.
            if e.events & EpollABI.EPOLLEXCLUSIVE != 0 { throw Errno.EINVAL }
            e.events = events
            e.data = data
            e.disabled = false
            return e
        }
        entryNotified(entry)
    }

    func delete(fd: Int32, file: FileDescription) throws(Errno) {
        guard let e = lock.withLock({ interest[Key(fd: fd, file: ObjectIdentifier(file))] }) else { throw Errno.ENOENT }
        remove(e)
    }

    func remove(_ entry: EpollEntry) {
        entry.file.readinessQueue.removeObserver(entry)
        lock.withLock {
            if interest[entry.key] === entry { interest.removeValue(forKey: entry.key) }
            if entry.onReadyList { readyList.removeAll { $0 === entry }; entry.onReadyList = false }
        }
    }

    /// Whether `target` is reachable from this epoll through nested epoll files (loop check).
    private func watches(_ target: EpollFile, depth: Int) -> Bool {
        if depth > 5 { return true }  // Linux's EP_MAX_NESTS: deeper nesting is refused as a loop
        let inner = lock.withLock { interest.values.compactMap { $0.file as? EpollFile } }
        return inner.contains { $0 === target || $0.watches(target, depth: depth + 1) }
    }

    func entryNotified(_ entry: EpollEntry) {
        let live = lock.withLock { () -> Bool in
            guard interest[entry.key] === entry, !entry.disabled, !entry.alwaysCheck else { return false }
            if !entry.onReadyList {
                entry.onReadyList = true
                readyList.append(entry)
            }
            return true
        }
        // Wake waiters even when the entry was listed already: it may have been listed while not ready.
        if live { queue.notify(PollEvents.POLLIN) }
    }

    // MARK: epoll_wait

    /// Takes up to `max` ready events for `task`: (events, data) pairs. Without `consume` nothing changes
    /// (a poll of the epoll file itself).
    func harvest(max: Int, task: Task, consume: Bool = true) -> [(UInt32, UInt64)] {
        lock.withLock {
            var out: [(UInt32, UInt64)] = []
            var notReached: [EpollEntry] = [], requeue: [EpollEntry] = []
            let candidates = readyList + interest.values.filter { $0.alwaysCheck && !$0.disabled }
            for e in candidates {
                if out.count >= max {
                    if e.onReadyList { notReached.append(e) }
                    continue
                }
                let ready = e.file.pollEvents(task: task) & (e.events | PollEvents.POLLERR | PollEvents.POLLHUP)
                    & ~(EpollABI.EPOLLEXCLUSIVE | EpollABI.EPOLLWAKEUP | EpollABI.EPOLLONESHOT | EpollABI.EPOLLET)
                if !consume {
                    if e.onReadyList { notReached.append(e) }
                    if ready != 0 && !e.disabled { out.append((ready, e.data)) }
                    continue
                }
                if ready == 0 || e.disabled { e.onReadyList = false; continue }
                out.append((ready, e.data))
                if e.events & EpollABI.EPOLLONESHOT != 0 { e.disabled = true; e.onReadyList = false; continue }
                if e.events & EpollABI.EPOLLET != 0 { e.onReadyList = false; continue }
                // Level-triggered: looked at again next time, behind the entries not reached (round robin).
                if e.onReadyList { requeue.append(e) }
            }
            readyList = notReached + requeue
            return out
        }
    }

    /// epoll_wait: blocks until an event, the deadline (empty result) or a signal.
    func wait(task: Task, max: Int, deadline: UInt64?) throws(Errno) -> [(UInt32, UInt64)] {
        var result: [(UInt32, UInt64)] = []
        let recheck = lock.withLock { interest.values.contains { $0.file.readinessNeedsRecheck } }
        _ = try task.blockForReadiness(on: [queue.waiters], deadline: deadline, recheck: recheck) { () -> Bool in
            result = harvest(max: max, task: task)
            return !result.isEmpty
        }
        return result
    }

    /// An epoll file is readable when epoll_wait would report something (nested epoll, poll on epoll).
    override func pollEvents(task: Task?) -> UInt32 {
        guard let task else { return lock.withLock { readyList.isEmpty ? 0 : PollEvents.POLLIN | PollEvents.POLLRDNORM } }
        return harvest(max: 1, task: task, consume: false).isEmpty ? 0 : PollEvents.POLLIN | PollEvents.POLLRDNORM
    }

    override var readinessNeedsRecheck: Bool {
        lock.withLock { interest.values.contains { $0.file.readinessNeedsRecheck } }
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }
    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0d, inode: number, mode: 0o600, nlink: 1, blockSize: 4096)
    }

    override func release() {
        let all = lock.withLock { () -> [EpollEntry] in
            let a = Array(interest.values); interest = [:]; readyList = []; return a
        }
        for e in all { e.file.readinessQueue.removeObserver(e) }
        queue.notifyReleased(self)
    }
}
