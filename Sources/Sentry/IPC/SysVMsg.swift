// System V message queues: typed messages, bounded by bytes, with blocking send and receive.
import LinuxABI

final class SysVMessageQueue: SysVObject, @unchecked Sendable {
    let id: Int32
    let lock = Lock()
    var perm: IPCPerm
    var removed = false
    /// Woken when a message arrives or leaves, and on removal.
    let changed = WaitQueue()
    // Guarded by `lock`.
    var messages: [(type: Int, text: [UInt8])] = []
    var bytes = 0
    var capacity = MsgABI.MSGMNB
    var stime: Int64 = 0, rtime: Int64 = 0, ctime: Int64
    var lastSender: Int32 = 0, lastReceiver: Int32 = 0

    init(id: Int32, perm: IPCPerm) {
        self.id = id; self.perm = perm; ctime = Kernel.ipcNow()
    }

    /// The index of the message msgrcv's `type` selects: 0 the first, >0 the first of that type (or, with
    /// MSG_EXCEPT, of another), <0 the first of the lowest type not above |type|.
    func select(type: Int, except: Bool) -> Int? {
        if type == 0 { return messages.isEmpty ? nil : 0 }
        if type > 0 { return messages.firstIndex { except ? $0.type != type : $0.type == type } }
        var best: Int?
        for (i, m) in messages.enumerated() where m.type <= -type {
            if best == nil || m.type < messages[best!].type { best = i }
        }
        return best
    }
}

extension Kernel {
    private var msq: SysVRegistry<SysVMessageQueue> { ipcNamespace.messageQueues }

    func msgget(_ task: Task, key: Int32, flags: Int) throws(Errno) -> Int {
        Int(try msq.getOrCreate(key: key, flags: flags, creds: task.credentials, check: { _ in },
                                make: { (id, perm) throws(Errno) in
            let q = SysVMessageQueue(id: id, perm: perm)
            q.capacity = sysctls.limit("kernel.msgmnb")  // msg_qbytes starts at kernel.msgmnb
            return q
        }))
    }

    /// Sleeps on a queue; blocked System V calls are never restarted after a handler (signal(7)).
    private func waitOn(_ task: Task, _ q: SysVMessageQueue, _ ready: () throws(Errno) -> Bool) throws(Errno) {
        do { try task.block(on: [q.changed], until: ready) } catch {
            throw error == .ERESTARTSYS ? Errno.ERESTARTNOHAND : error
        }
    }

    func msgsnd(_ task: Task, id: Int32, address: UInt64, size: Int, flags: Int) throws(Errno) -> Int {
        guard size >= 0, size <= sysctls.limit("kernel.msgmax") else { throw Errno.EINVAL }
        let q = try msq.get(id)
        let type: Int64 = try task.mm.read(address, as: Int64.self)
        guard type >= 1 else { throw Errno.EINVAL }
        let text = size == 0 ? [] : try task.mm.copyIn(address + 8, size)
        try q.lock.withLock { () throws(Errno) in
            guard q.perm.allows(task.credentials, 0o2) else { throw Errno.EACCES }
        }
        try waitOn(task, q) { () throws(Errno) -> Bool in
            try q.lock.withLock { () throws(Errno) -> Bool in
                guard !q.removed else { throw Errno.EIDRM }
                // Linux bounds both the bytes and the number of messages by msg_qbytes.
                guard q.bytes + size <= q.capacity, q.messages.count + 1 <= q.capacity else {
                    if flags & SysVIPCABI.IPC_NOWAIT != 0 { throw Errno.EAGAIN }
                    return false
                }
                q.messages.append((Int(type), text))
                q.bytes += size
                q.lastSender = task.threadGroup.pid
                q.stime = Kernel.ipcNow()
                return true
            }
        }
        q.changed.notifyAll()
        return 0
    }

    func msgrcv(_ task: Task, id: Int32, address: UInt64, size: Int, type: Int, flags: Int) throws(Errno) -> Int {
        guard size >= 0 else { throw Errno.EINVAL }
        if flags & MsgABI.MSG_COPY != 0 { throw Errno.ENOSYS }  // checkpoint/restore only
        let q = try msq.get(id)
        try q.lock.withLock { () throws(Errno) in
            guard q.perm.allows(task.credentials, 0o4) else { throw Errno.EACCES }
        }
        var received: (type: Int, text: [UInt8])?
        try waitOn(task, q) { () throws(Errno) -> Bool in
            try q.lock.withLock { () throws(Errno) -> Bool in
                guard !q.removed else { throw Errno.EIDRM }
                guard let i = q.select(type: type, except: flags & MsgABI.MSG_EXCEPT != 0) else {
                    if flags & SysVIPCABI.IPC_NOWAIT != 0 { throw Errno.ENOMSG }
                    return false
                }
                if q.messages[i].text.count > size && flags & MsgABI.MSG_NOERROR == 0 { throw Errno.E2BIG }
                let m = q.messages.remove(at: i)
                q.bytes -= m.text.count
                q.lastReceiver = task.threadGroup.pid
                q.rtime = Kernel.ipcNow()
                received = m
                return true
            }
        }
        q.changed.notifyAll()
        guard let m = received else { return 0 }
        let text = Array(m.text.prefix(size))
        // Like Linux, a message taken off the queue is lost if it cannot be copied out.
        try task.mm.write(address, Int64(m.type))
        if !text.isEmpty { try task.mm.copyOut(address + 8, text) }
        return text.count
    }

    func msgctl(_ task: Task, id: Int32, command: Int32, buffer: UInt64) throws(Errno) -> Int {
        let creds = task.credentials
        let cmd = ipcCommand(command)
        switch cmd {
        case SysVIPCABI.IPC_INFO, MsgABI.MSG_INFO:
            // struct msginfo: msgpool, msgmap, msgmax, msgmnb, msgmni, msgssz, msgtql, msgseg.
            let queues = msq.all
            let inUse = cmd == MsgABI.MSG_INFO
            let messages = queues.reduce(0) { n, q in n + q.lock.withLock { q.messages.count } }
            let bytes = queues.reduce(0) { n, q in n + q.lock.withLock { q.bytes } }
            // The limits are linux.sysctl's (kernel.msgmax, msgmnb, msgmni), Linux's defaults otherwise.
            let (msgmax, msgmnb, msgmni) = (sysctls.limit("kernel.msgmax"), sysctls.limit("kernel.msgmnb"), sysctls.limit("kernel.msgmni"))
            let fields: [Int32] = [inUse ? Int32(queues.count) : Int32(clamping: msgmni * msgmnb / 1024),
                                   inUse ? Int32(messages) : Int32(clamping: msgmnb), Int32(clamping: msgmax), Int32(clamping: msgmnb),
                                   Int32(clamping: msgmni), 16, inUse ? Int32(clamping: bytes) : Int32(clamping: msgmnb), 0xffff]
            var b = [UInt8](repeating: 0, count: 32)
            b.withUnsafeMutableBytes { p in for (i, f) in fields.enumerated() { p.storeBytes(of: f, toByteOffset: i * 4, as: Int32.self) } }
            try task.mm.copyOut(buffer, b)
            return Int(msq.highestIndex)
        case SysVIPCABI.IPC_STAT, MsgABI.MSG_STAT, MsgABI.MSG_STAT_ANY:
            let byIndex = cmd != SysVIPCABI.IPC_STAT
            let q = byIndex ? try msq.get(index: id) : try msq.get(id)
            var b = [UInt8](repeating: 0, count: MsgABI.dsSize)
            try q.lock.withLock { () throws(Errno) in
                if cmd != MsgABI.MSG_STAT_ANY { guard q.perm.allows(creds, 0o4) else { throw Errno.EACCES } }
                b.withUnsafeMutableBytes { p in
                    q.perm.encode(into: p)
                    p.storeBytes(of: q.stime, toByteOffset: 48, as: Int64.self)
                    p.storeBytes(of: q.rtime, toByteOffset: 56, as: Int64.self)
                    p.storeBytes(of: q.ctime, toByteOffset: 64, as: Int64.self)
                    p.storeBytes(of: UInt64(q.bytes), toByteOffset: 72, as: UInt64.self)
                    p.storeBytes(of: UInt64(q.messages.count), toByteOffset: 80, as: UInt64.self)
                    p.storeBytes(of: UInt64(q.capacity), toByteOffset: 88, as: UInt64.self)
                    p.storeBytes(of: q.lastSender, toByteOffset: 96, as: Int32.self)
                    p.storeBytes(of: q.lastReceiver, toByteOffset: 100, as: Int32.self)
                }
            }
            try task.mm.copyOut(buffer, b)
            return byIndex ? Int(q.id) : 0
        case SysVIPCABI.IPC_SET:
            let q = try msq.get(id)
            let b = try task.mm.copyIn(buffer, MsgABI.dsSize)
            let capacity = b.withUnsafeBytes { Int(clamping: $0.load(fromByteOffset: 88, as: UInt64.self)) }
            try q.lock.withLock { () throws(Errno) in
                guard q.perm.canChange(creds) else { throw Errno.EPERM }
                // Raising msg_qbytes past the default needs privilege (CAP_SYS_RESOURCE).
                guard capacity <= sysctls.limit("kernel.msgmnb") || capacity <= q.capacity || creds.euid == 0 else { throw Errno.EPERM }
                b.withUnsafeBytes { q.perm.update(from: $0) }
                q.capacity = capacity
                q.ctime = Kernel.ipcNow()
            }
            q.changed.notifyAll()  // a larger queue may let senders through
            return 0
        case SysVIPCABI.IPC_RMID:
            let q = try msq.get(id)
            try q.lock.withLock { () throws(Errno) in
                guard q.perm.canChange(creds) else { throw Errno.EPERM }
                q.removed = true
                q.messages = []; q.bytes = 0
            }
            msq.remove(q)
            q.changed.notifyAll()
            return 0
        default:
            throw Errno.EINVAL
        }
    }
}
