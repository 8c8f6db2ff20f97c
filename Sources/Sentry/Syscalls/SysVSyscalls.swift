// System V IPC (shm*, sem*, msg*) and POSIX message queues (mq_*). The objects live in IPC/SysV*.swift and
// IPC/MessageQueue.swift; handlers only decode arguments.
import LinuxABI

extension SyscallTable {
    func registerSysVSyscalls() {
        register(SyscallNumber.shmget) { (t, a) throws(Errno) -> Int in
            try t.kernel.shmget(t, key: a.int0, size: a.a1, flags: Int(a.int2))
        }
        register(SyscallNumber.shmat) { (t, a) throws(Errno) -> Int in
            try t.kernel.shmat(t, id: a.int0, address: a.a1, flags: Int(a.int2))
        }
        register(SyscallNumber.shmdt) { (t, a) throws(Errno) -> Int in try t.kernel.shmdt(t, address: a.a0) }
        register(SyscallNumber.shmctl) { (t, a) throws(Errno) -> Int in
            try t.kernel.shmctl(t, id: a.int0, command: a.int1, buffer: a.a2)
        }

        register(SyscallNumber.semget) { (t, a) throws(Errno) -> Int in
            try t.kernel.semget(t, key: a.int0, count: Int(a.int1), flags: Int(a.int2))
        }
        register(SyscallNumber.semop) { (t, a) throws(Errno) -> Int in
            try t.kernel.semop(t, id: a.int0, opsAddress: a.a1, count: Int(min(a.a2, 1 << 20)), timeout: nil)
        }
        register(SyscallNumber.semtimedop) { (t, a) throws(Errno) -> Int in
            let timeout = a.a3 == 0 ? nil : try t.kernel.readTimeValue(t, a.a3, microseconds: false)
            return try t.kernel.semop(t, id: a.int0, opsAddress: a.a1, count: Int(min(a.a2, 1 << 20)), timeout: timeout)
        }
        register(SyscallNumber.semctl) { (t, a) throws(Errno) -> Int in
            try t.kernel.semctl(t, id: a.int0, index: a.int1, command: a.int2, argument: a.a3)
        }

        register(SyscallNumber.msgget) { (t, a) throws(Errno) -> Int in
            try t.kernel.msgget(t, key: a.int0, flags: Int(a.int1))
        }
        register(SyscallNumber.msgsnd) { (t, a) throws(Errno) -> Int in
            try t.kernel.msgsnd(t, id: a.int0, address: a.a1, size: Int(Int64(bitPattern: a.a2).clamped(-1, Int64(Int32.max))),
                                flags: Int(a.int3))
        }
        register(SyscallNumber.msgrcv) { (t, a) throws(Errno) -> Int in
            try t.kernel.msgrcv(t, id: a.int0, address: a.a1, size: Int(Int64(bitPattern: a.a2).clamped(-1, Int64(Int32.max))),
                                type: Int(Int64(bitPattern: a.a3)), flags: Int(Int32(truncatingIfNeeded: a.a4)))
        }
        register(SyscallNumber.msgctl) { (t, a) throws(Errno) -> Int in
            try t.kernel.msgctl(t, id: a.int0, command: a.int1, buffer: a.a2)
        }

        register(SyscallNumber.mq_open) { (t, a) throws(Errno) -> Int in
            let name = try t.mm.readString(a.a0, max: MQueueABI.NAME_MAX + 2)
            let flags = Int(a.int1)
            var attributes: (Int, Int)?
            if flags & OpenFlags.O_CREAT != 0 && a.a3 != 0 {
                let maxMessages: Int64 = try t.mm.read(a.a3 + 8, as: Int64.self)
                let messageSize: Int64 = try t.mm.read(a.a3 + 16, as: Int64.self)
                attributes = (Int(clamping: maxMessages), Int(clamping: messageSize))
            }
            let mode = UInt32(truncatingIfNeeded: a.a2) & ~t.fs.umask
            let queue = try t.kernel.ipcNamespace.posixQueues.open(name: name, flags: flags, mode: mode,
                                                                   attributes: attributes, creds: t.credentials)
            let file = MessageQueueDescription(queue: queue, flags: flags)
            return Int(try t.fdTable.add(file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0))
        }
        register(SyscallNumber.mq_unlink) { (t, a) throws(Errno) -> Int in
            let name = try t.mm.readString(a.a0, max: MQueueABI.NAME_MAX + 2)
            try t.kernel.ipcNamespace.posixQueues.unlink(name: name, creds: t.credentials)
            return 0
        }
        register(SyscallNumber.mq_timedsend) { (t, a) throws(Errno) -> Int in
            let deadline = a.a4 == 0 ? nil : Int64(clamping: try t.kernel.readTimeValue(t, a.a4, microseconds: false))
            let d = try t.kernel.mqDescription(t, a.int0)
            guard a.a2 <= UInt64(d.queue.messageSize) else { throw Errno.EMSGSIZE }
            let data = a.a2 == 0 ? [] : try t.mm.copyIn(a.a1, Int(min(a.a2, 1 << 24)))
            try t.kernel.mqSend(t, fd: a.int0, data: data, priority: UInt32(truncatingIfNeeded: a.a3), deadline: deadline)
            return 0
        }
        register(SyscallNumber.mq_timedreceive) { (t, a) throws(Errno) -> Int in
            let deadline = a.a4 == 0 ? nil : Int64(clamping: try t.kernel.readTimeValue(t, a.a4, microseconds: false))
            let (data, priority) = try t.kernel.mqReceive(t, fd: a.int0, capacity: Int(min(a.a2, UInt64(Int32.max))), deadline: deadline)
            // Like Linux, a message taken off the queue is lost if it cannot be copied out.
            if !data.isEmpty { try t.mm.copyOut(a.a1, data) }
            if a.a3 != 0 { try t.mm.write(a.a3, priority) }
            return data.count
        }
        register(SyscallNumber.mq_getsetattr) { (t, a) throws(Errno) -> Int in
            let d = try t.kernel.mqDescription(t, a.int0)
            var newFlags: Int64?
            if a.a1 != 0 {
                let f: Int64 = try t.mm.read(a.a1, as: Int64.self)
                guard f & ~Int64(OpenFlags.O_NONBLOCK) == 0 else { throw Errno.EINVAL }
                newFlags = f
            }
            if a.a2 != 0 {
                var b = [UInt8](repeating: 0, count: MQueueABI.attrSize)
                let count = d.queue.lock.withLock { d.queue.messages.count }
                b.withUnsafeMutableBytes { p in
                    p.storeBytes(of: Int64(d.flags & OpenFlags.O_NONBLOCK), toByteOffset: 0, as: Int64.self)
                    p.storeBytes(of: Int64(d.queue.maxMessages), toByteOffset: 8, as: Int64.self)
                    p.storeBytes(of: Int64(d.queue.messageSize), toByteOffset: 16, as: Int64.self)
                    p.storeBytes(of: Int64(count), toByteOffset: 24, as: Int64.self)
                }
                try t.mm.copyOut(a.a2, b)
            }
            if let f = newFlags { d.lock.withLock { d.flags = (d.flags & ~OpenFlags.O_NONBLOCK) | Int(f) } }
            return 0
        }
        register(SyscallNumber.mq_notify) { (t, a) throws(Errno) -> Int in
            var event: (notify: Int32, signal: Int32, value: UInt64)?
            if a.a1 != 0 {
                let ev = try t.mm.copyIn(a.a1, SigEvent.size)
                event = ev.withUnsafeBytes { p in
                    (p.load(fromByteOffset: 12, as: Int32.self), p.load(fromByteOffset: 8, as: Int32.self),
                     p.load(fromByteOffset: 0, as: UInt64.self))
                }
            }
            try t.kernel.mqNotify(t, fd: a.int0, event: event)
            return 0
        }
    }
}

extension Int64 {
    fileprivate func clamped(_ lo: Int64, _ hi: Int64) -> Int64 { Swift.min(Swift.max(self, lo), hi) }
}
