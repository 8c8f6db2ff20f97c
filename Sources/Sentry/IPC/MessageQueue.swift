// POSIX message queues (mq_overview(7)): named queues of prioritized messages, opened as file descriptions.
// The names live in the IPC namespace, not in a mounted file system (the /dev/mqueue mount is empty).
// mq_notify supports SIGEV_SIGNAL and SIGEV_NONE; SIGEV_THREAD (a netlink socket underneath) gives ENOSYS.
import LinuxABI

final class PosixMessageQueue: @unchecked Sendable {
    let lock = Lock()
    /// Woken when a message arrives or leaves.
    let changed = WaitQueue()
    /// Pollers and epoll sets of every description of this queue.
    let readiness = ReadinessQueue()
    let maxMessages: Int
    let messageSize: Int
    let uid: UInt32, gid: UInt32
    let mode: UInt32
    // Guarded by `lock`: highest priority first, oldest first within a priority.
    var messages: [(priority: UInt32, data: [UInt8])] = []
    var bytes = 0
    /// Receivers sleeping on an empty queue: a message goes to them instead of to a notification.
    var waitingReceivers = 0
    /// The mq_notify registration: one process, told once when a message arrives in an empty queue.
    var notification: MessageQueueNotification?

    init(maxMessages: Int, messageSize: Int, mode: UInt32, creds: Credentials) {
        self.maxMessages = maxMessages; self.messageSize = messageSize
        self.mode = mode; self.uid = creds.euid; self.gid = creds.egid
    }

    /// Whether `creds` may open the queue with `want` (0o4 read, 0o2 write): file permission rules.
    func allows(_ creds: Credentials, _ want: UInt32) -> Bool {
        if creds.euid == 0 || want == 0 { return true }
        var granted = mode
        if creds.euid == uid { granted >>= 6 } else if creds.egid == gid || creds.groups.contains(gid) { granted >>= 3 }
        return granted & want == want
    }

    /// Call after a change, without `lock`.
    func notifyChanged() {
        changed.notifyAll()
        readiness.notify()
    }
}

struct MessageQueueNotification {
    weak var process: ThreadGroup?
    let notify: Int32
    let signal: Int32
    let value: UInt64
}

/// The names of the namespace's POSIX message queues.
final class MessageQueueRegistry: @unchecked Sendable {
    private let lock = Lock()
    /// fs.mqueue.* (linux.sysctl), set once at boot.
    var limits = MessageQueueLimits()
    private var byName: [String: PosixMessageQueue] = [:]

    /// Validates a queue name as the kernel sees it (the C library has stripped the leading '/').
    static func checkName(_ name: String) throws(Errno) {
        guard name.utf8.count <= MQueueABI.NAME_MAX else { throw Errno.ENAMETOOLONG }
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else { throw Errno.EACCES }
    }

    func open(name: String, flags: Int, mode: UInt32, attributes: (Int, Int)?, creds: Credentials) throws(Errno) -> PosixMessageQueue {
        try MessageQueueRegistry.checkName(name)
        let access = flags & OpenFlags.O_ACCMODE
        guard access != OpenFlags.O_ACCMODE else { throw Errno.EINVAL }
        let want: UInt32 = access == OpenFlags.O_RDONLY ? 0o4 : access == OpenFlags.O_WRONLY ? 0o2 : 0o6
        return try lock.withLock { () throws(Errno) -> PosixMessageQueue in
            if let q = byName[name] {
                guard flags & OpenFlags.O_CREAT == 0 || flags & OpenFlags.O_EXCL == 0 else { throw Errno.EEXIST }
                guard q.allows(creds, want) else { throw Errno.EACCES }
                return q
            }
            guard flags & OpenFlags.O_CREAT != 0 else { throw Errno.ENOENT }
            let privileged = creds.euid == 0
            var maxMessages = limits.defaultMessages, messageSize = limits.defaultSize
            if let (m, s) = attributes {
                guard m > 0, s > 0 else { throw Errno.EINVAL }
                guard m <= (privileged ? MQueueABI.hardMaxMessages : limits.maxMessages),
                      s <= (privileged ? MQueueABI.hardMaxMessageSize : limits.maxSize) else { throw Errno.EINVAL }
                maxMessages = m; messageSize = s
            }
            guard privileged || byName.count < limits.queues else { throw Errno.ENOSPC }
            let q = PosixMessageQueue(maxMessages: maxMessages, messageSize: messageSize, mode: mode & 0o777, creds: creds)
            byName[name] = q
            return q
        }
    }

    /// mq_unlink: the name goes now, the queue when its last description is closed. The queue directory is
    /// sticky, so only the owner (or root) may remove a name.
    func unlink(name: String, creds: Credentials) throws(Errno) {
        try MessageQueueRegistry.checkName(name)
        try lock.withLock { () throws(Errno) in
            guard let q = byName[name] else { throw Errno.ENOENT }
            guard creds.euid == 0 || creds.euid == q.uid else { throw Errno.EACCES }
            byName.removeValue(forKey: name)
        }
    }
}

/// A descriptor returned by mq_open. Reading it gives the queue's status line, as on Linux.
final class MessageQueueDescription: FileDescription, @unchecked Sendable {
    let queue: PosixMessageQueue

    init(queue: PosixMessageQueue, flags: Int) {
        self.queue = queue
        super.init(flags: flags & (OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK), dentry: nil)
    }

    /// The queue's own access checks use the open mode; reading the status line is always allowed.
    var canSend: Bool { let m = flags & OpenFlags.O_ACCMODE; return m == OpenFlags.O_WRONLY || m == OpenFlags.O_RDWR }
    var canReceive: Bool { let m = flags & OpenFlags.O_ACCMODE; return m == OpenFlags.O_RDONLY || m == OpenFlags.O_RDWR }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        let size = queue.lock.withLock { queue.bytes }
        let line = Array("QSIZE:\(pad(size, 10)) NOTIFY:\(pad(0, 5)) SIGNO:\(pad(0, 5)) NOTIFY_PID:\(pad(0, 6))\n".utf8)
        return lock.withLock { () -> Int in
            var pos = Int(at ?? offset), done = 0
            for b in buffers where pos < line.count {
                let n = min(b.count, line.count - pos)
                line.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + pos, byteCount: n) }
                pos += n; done += n
            }
            if at == nil { offset += Int64(done) }
            return done
        }
    }

    private func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s + String(repeating: " ", count: max(0, width - s.count))
    }

    override func stat() throws(Errno) -> FileStat {
        var st = FileStat()
        st.mode = FileMode.S_IFREG | queue.mode
        st.uid = queue.uid; st.gid = queue.gid
        st.size = Int64(queue.lock.withLock { queue.bytes })
        return st
    }

    override func readiness() -> (Bool, Bool, Bool) {
        queue.lock.withLock { (!queue.messages.isEmpty, queue.messages.count < queue.maxMessages, false) }
    }

    override var readinessQueue: ReadinessQueue { queue.readiness }

    override func release() { queue.readiness.notifyReleased(self) }
}

extension Kernel {
    /// Sleeps on a queue until `ready` or the absolute CLOCK_REALTIME `deadline` (nanoseconds).
    private func waitOn(_ task: Task, _ q: PosixMessageQueue, realtimeDeadline: Int64?, _ ready: () throws(Errno) -> Bool) throws(Errno) {
        var deadline: UInt64?
        if let d = realtimeDeadline {
            let left = d - (try clockNanoseconds(task, ClockIDs.CLOCK_REALTIME))
            deadline = monotonicNanoseconds() &+ UInt64(max(0, left))
        }
        try task.block(on: [q.changed], deadline: deadline, until: ready)
    }

    func mqDescription(_ task: Task, _ fd: Int32) throws(Errno) -> MessageQueueDescription {
        guard let d = try task.fdTable.get(fd) as? MessageQueueDescription else { throw Errno.EBADF }
        return d
    }

    func mqSend(_ task: Task, fd: Int32, data: [UInt8], priority: UInt32, deadline: Int64?) throws(Errno) {
        let d = try mqDescription(task, fd)
        guard d.canSend else { throw Errno.EBADF }
        let q = d.queue
        guard data.count <= q.messageSize else { throw Errno.EMSGSIZE }
        guard priority < MQueueABI.MQ_PRIO_MAX else { throw Errno.EINVAL }
        var notify: MessageQueueNotification?
        try waitOn(task, q, realtimeDeadline: deadline) { () throws(Errno) -> Bool in
            try q.lock.withLock { () throws(Errno) -> Bool in
                guard q.messages.count < q.maxMessages else {
                    if d.nonBlocking { throw Errno.EAGAIN }
                    return false
                }
                let i = q.messages.firstIndex { $0.priority < priority } ?? q.messages.count
                q.messages.insert((priority, data), at: i)
                q.bytes += data.count
                if q.messages.count == 1 && q.waitingReceivers == 0, let n = q.notification {
                    q.notification = nil  // one notification per registration
                    notify = n
                }
                return true
            }
        }
        q.notifyChanged()
        if let n = notify, n.notify == SigEvent.SIGEV_SIGNAL, let g = n.process {
            var s = PendingSignal(signal: n.signal, code: SignalCodes.SI_MESGQ, senderPID: task.threadGroup.pid,
                                  senderUID: task.credentials.uid)
            s.value = n.value
            sendSignal(to: g, s)
        }
    }

    func mqReceive(_ task: Task, fd: Int32, capacity: Int, deadline: Int64?) throws(Errno) -> (data: [UInt8], priority: UInt32) {
        let d = try mqDescription(task, fd)
        guard d.canReceive else { throw Errno.EBADF }
        let q = d.queue
        guard capacity >= q.messageSize else { throw Errno.EMSGSIZE }
        var message: (priority: UInt32, data: [UInt8])?
        var waiting = false
        defer { if waiting { q.lock.withLock { q.waitingReceivers -= 1 } } }
        try waitOn(task, q, realtimeDeadline: deadline) { () throws(Errno) -> Bool in
            try q.lock.withLock { () throws(Errno) -> Bool in
                guard !q.messages.isEmpty else {
                    if d.nonBlocking { throw Errno.EAGAIN }
                    if !waiting { waiting = true; q.waitingReceivers += 1 }
                    return false
                }
                message = q.messages.removeFirst()
                q.bytes -= message!.data.count
                return true
            }
        }
        q.notifyChanged()
        guard let m = message else { throw Errno.EAGAIN }
        return (m.data, m.priority)
    }
}

extension Kernel {
    /// mq_notify: registers the calling process (nil `event` unregisters it). EBUSY when another process
    /// holds the registration.
    func mqNotify(_ task: Task, fd: Int32, event: (notify: Int32, signal: Int32, value: UInt64)?) throws(Errno) {
        let q = try mqDescription(task, fd).queue
        let me = task.threadGroup
        guard let event else {
            q.lock.withLock { if q.notification?.process === me { q.notification = nil } }
            return
        }
        switch event.notify {
        case SigEvent.SIGEV_NONE: break
        case SigEvent.SIGEV_SIGNAL: guard Signal(event.signal).isValid else { throw Errno.EINVAL }
        case SigEvent.SIGEV_THREAD: throw Errno.ENOSYS  // the C library's netlink-socket protocol
        default: throw Errno.EINVAL
        }
        try q.lock.withLock { () throws(Errno) in
            if let n = q.notification, let owner = n.process, owner !== me, owner.zombieStatus == nil { throw Errno.EBUSY }
            q.notification = MessageQueueNotification(process: me, notify: event.notify, signal: event.signal, value: event.value)
        }
    }
}

/// The POSIX message queue limits of the IPC namespace (fs.mqueue.*).
struct MessageQueueLimits {
    var defaultMessages = MQueueABI.defaultMaxMessages, defaultSize = MQueueABI.defaultMessageSize
    var maxMessages = MQueueABI.maxMessages, maxSize = MQueueABI.maxMessageSize
    var queues = MQueueABI.queuesMax
}
