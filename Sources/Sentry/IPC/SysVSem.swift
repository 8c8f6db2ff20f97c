// System V semaphores: sets of counters changed atomically by semop, with sleeping until an operation can
// proceed, and SEM_UNDO adjustments that are applied when a process ends.
import LinuxABI

/// One operation of a semop call (struct sembuf).
struct SemaphoreOperation {
    var index: Int
    var delta: Int
    var flags: Int
}

final class SemaphoreSet: SysVObject, @unchecked Sendable {
    let id: Int32
    let lock = Lock()
    var perm: IPCPerm
    var removed = false
    /// Woken on every change of a value and on removal.
    let changed = WaitQueue()
    // Guarded by `lock`.
    var values: [Int]
    var lastPIDs: [Int32]
    /// Callers sleeping until a semaphore grows (ncnt) or becomes zero (zcnt).
    var waitingForIncrease: [Int]
    var waitingForZero: [Int]
    var otime: Int64 = 0, ctime: Int64
    /// SEM_UNDO adjustments per process, applied (added) when it ends.
    private var undo: [ObjectIdentifier: [Int]] = [:]

    init(id: Int32, perm: IPCPerm, count: Int) {
        self.id = id; self.perm = perm
        values = Array(repeating: 0, count: count)
        lastPIDs = Array(repeating: 0, count: count)
        waitingForIncrease = Array(repeating: 0, count: count)
        waitingForZero = Array(repeating: 0, count: count)
        ctime = Kernel.ipcNow()
    }

    var count: Int { values.count }

    enum Outcome { case done, blockedForIncrease(Int), blockedForZero(Int) }

    /// Applies all operations or none. Caller holds `lock`. Throws EAGAIN when one would block with
    /// IPC_NOWAIT, ERANGE when a value would pass SEMVMX.
    func tryApply(_ ops: [SemaphoreOperation], pid: Int32, process: ObjectIdentifier) throws(Errno) -> Outcome {
        var v = values
        for op in ops {
            let cur = v[op.index]
            if op.delta > 0 {
                guard cur + op.delta <= SemABI.SEMVMX else { throw Errno.ERANGE }
                v[op.index] = cur + op.delta
            } else if op.delta < 0 {
                if cur + op.delta < 0 {
                    if op.flags & SysVIPCABI.IPC_NOWAIT != 0 { throw Errno.EAGAIN }
                    return .blockedForIncrease(op.index)
                }
                v[op.index] = cur + op.delta
            } else if cur != 0 {
                if op.flags & SysVIPCABI.IPC_NOWAIT != 0 { throw Errno.EAGAIN }
                return .blockedForZero(op.index)
            }
        }
        var adjustments = undo[process] ?? []
        for op in ops where op.flags & SemABI.SEM_UNDO != 0 && op.delta != 0 {
            if adjustments.isEmpty { adjustments = Array(repeating: 0, count: count) }
            adjustments[op.index] -= op.delta
            guard abs(adjustments[op.index]) <= SemABI.SEMVMX else { throw Errno.ERANGE }
        }
        if !adjustments.isEmpty { undo[process] = adjustments }
        values = v
        for op in ops { lastPIDs[op.index] = pid }
        otime = Kernel.ipcNow()
        return .done
    }

    /// SETVAL and SETALL cancel the adjustments of the semaphores they set, in every process.
    func clearUndo(index: Int?) {
        for key in undo.keys {
            if let index { undo[key]?[index] = 0 } else { undo[key] = nil }
        }
    }

    /// A process ended: add its adjustments back, clamped to the valid range as Linux does.
    func applyUndo(for g: ThreadGroup) {
        let changed = lock.withLock { () -> Bool in
            guard !removed, let adj = undo.removeValue(forKey: ObjectIdentifier(g)) else { return false }
            for (i, a) in adj.enumerated() where a != 0 {
                values[i] = min(SemABI.SEMVMX, max(0, values[i] + a))
                lastPIDs[i] = g.pid
            }
            return true
        }
        if changed { self.changed.notifyAll() }
    }
}

extension Kernel {
    private var sem: SysVRegistry<SemaphoreSet> { ipcNamespace.semaphores }

    func semget(_ task: Task, key: Int32, count: Int, flags: Int) throws(Errno) -> Int {
        guard count >= 0, count <= sysctls.semaphoreLimits.semmsl else { throw Errno.EINVAL }
        return Int(try sem.getOrCreate(key: key, flags: flags, creds: task.credentials, check: { (s) throws(Errno) in
            guard count <= s.count else { throw Errno.EINVAL }
        }, make: { (id, perm) throws(Errno) -> SemaphoreSet in
            guard count > 0 else { throw Errno.EINVAL }
            return SemaphoreSet(id: id, perm: perm, count: count)
        }))
    }

    /// semop/semtimedop: `timeout` is relative (nanoseconds); a timeout gives EAGAIN.
    func semop(_ task: Task, id: Int32, opsAddress: UInt64, count: Int, timeout: UInt64?) throws(Errno) -> Int {
        guard count >= 1 else { throw Errno.EINVAL }
        guard count <= sysctls.semaphoreLimits.semopm else { throw Errno.E2BIG }
        let raw = try task.mm.copyIn(opsAddress, count * SemABI.sembufSize)
        let ops: [SemaphoreOperation] = raw.withUnsafeBytes { p in
            (0..<count).map { i in
                SemaphoreOperation(index: Int(p.load(fromByteOffset: i * 6, as: UInt16.self)),
                                   delta: Int(p.load(fromByteOffset: i * 6 + 2, as: Int16.self)),
                                   flags: Int(UInt16(bitPattern: p.load(fromByteOffset: i * 6 + 4, as: Int16.self))))
            }
        }
        let s = try sem.get(id)
        let alters = ops.contains { $0.delta != 0 }
        try s.lock.withLock { () throws(Errno) in
            guard !s.removed else { throw Errno.EIDRM }
            guard ops.allSatisfy({ $0.index < s.count }) else { throw Errno.EFBIG }
            guard s.perm.allows(task.credentials, alters ? 0o2 : 0o4) else { throw Errno.EACCES }
        }
        let deadline = timeout.map { monotonicNanoseconds() &+ $0 }
        let pid = task.threadGroup.pid
        let process = ObjectIdentifier(task.threadGroup)
        // While sleeping, count the caller in semncnt/semzcnt of the semaphore it waits for.
        var counted: SemaphoreSet.Outcome?
        func track(_ o: SemaphoreSet.Outcome?, _ delta: Int) {
            switch o {
            case .blockedForIncrease(let i): s.waitingForIncrease[i] += delta
            case .blockedForZero(let i): s.waitingForZero[i] += delta
            default: break
            }
        }
        defer { s.lock.withLock { track(counted, -1) } }
        do {
            try task.block(on: [s.changed], deadline: deadline) { () throws(Errno) -> Bool in
                try s.lock.withLock { () throws(Errno) -> Bool in
                    guard !s.removed else { throw Errno.EIDRM }
                    let outcome = try s.tryApply(ops, pid: pid, process: process)
                    track(counted, -1)
                    if case .done = outcome { counted = nil; return true }
                    counted = outcome
                    track(counted, 1)
                    return false
                }
            }
        } catch {
            if error == .ETIMEDOUT { throw Errno.EAGAIN }
            // Never restarted after a handler, whatever SA_RESTART says (signal(7)).
            if error == .ERESTARTSYS { throw Errno.ERESTARTNOHAND }
            throw error
        }
        s.changed.notifyAll()
        return 0
    }

    func semctl(_ task: Task, id: Int32, index: Int32, command: Int32, argument: UInt64) throws(Errno) -> Int {
        let creds = task.credentials
        let cmd = ipcCommand(command)
        switch cmd {
        case SysVIPCABI.IPC_INFO, SemABI.SEM_INFO:
            // struct seminfo: semmap, semmni, semmns, semmnu, semmsl, semopm, semume, semusz, semvmx, semaem.
            let inUse = cmd == SemABI.SEM_INFO
            let limits = sysctls.semaphoreLimits  // kernel.sem
            let fields: [Int32] = [32000, Int32(clamping: limits.semmni), Int32(clamping: limits.semmns), 32000,
                                   Int32(clamping: limits.semmsl), Int32(clamping: limits.semopm), Int32(clamping: limits.semopm), inUse ? Int32(sem.count) : 20,
                                   Int32(SemABI.SEMVMX), inUse ? Int32(sem.all.reduce(0) { $0 + $1.count }) : Int32(SemABI.SEMVMX)]
            var b = [UInt8](repeating: 0, count: 40)
            b.withUnsafeMutableBytes { p in for (i, f) in fields.enumerated() { p.storeBytes(of: f, toByteOffset: i * 4, as: Int32.self) } }
            try task.mm.copyOut(argument, b)
            return Int(sem.highestIndex)
        case SysVIPCABI.IPC_STAT, SemABI.SEM_STAT, SemABI.SEM_STAT_ANY:
            let byIndex = cmd != SysVIPCABI.IPC_STAT
            let s = byIndex ? try sem.get(index: id) : try sem.get(id)
            let (perm, otime, ctime, n) = s.lock.withLock { (s.perm, s.otime, s.ctime, s.count) }
            if cmd != SemABI.SEM_STAT_ANY { guard perm.allows(creds, 0o4) else { throw Errno.EACCES } }
            var b = [UInt8](repeating: 0, count: SemABI.dsSize)
            b.withUnsafeMutableBytes { p in
                perm.encode(into: p)
                p.storeBytes(of: otime, toByteOffset: 48, as: Int64.self)
                p.storeBytes(of: ctime, toByteOffset: 64, as: Int64.self)
                p.storeBytes(of: UInt64(n), toByteOffset: 80, as: UInt64.self)
            }
            try task.mm.copyOut(argument, b)
            return byIndex ? Int(s.id) : 0
        default: break
        }
        let s = try sem.get(id)
        switch cmd {
        case SysVIPCABI.IPC_RMID:
            try s.lock.withLock { () throws(Errno) in
                guard s.perm.canChange(creds) else { throw Errno.EPERM }
                s.removed = true
            }
            sem.remove(s)
            s.changed.notifyAll()
            return 0
        case SysVIPCABI.IPC_SET:
            let b = try task.mm.copyIn(argument, SysVIPCABI.permSize)
            try s.lock.withLock { () throws(Errno) in
                guard s.perm.canChange(creds) else { throw Errno.EPERM }
                b.withUnsafeBytes { s.perm.update(from: $0) }
                s.ctime = Kernel.ipcNow()
            }
            return 0
        case SemABI.GETVAL, SemABI.GETPID, SemABI.GETNCNT, SemABI.GETZCNT:
            return try s.lock.withLock { () throws(Errno) -> Int in
                guard s.perm.allows(creds, 0o4) else { throw Errno.EACCES }
                guard index >= 0, Int(index) < s.count else { throw Errno.EINVAL }
                let i = Int(index)
                switch cmd {
                case SemABI.GETVAL: return s.values[i]
                case SemABI.GETPID: return Int(s.lastPIDs[i])
                case SemABI.GETNCNT: return s.waitingForIncrease[i]
                default: return s.waitingForZero[i]
                }
            }
        case SemABI.GETALL:
            let values = try s.lock.withLock { () throws(Errno) -> [Int] in
                guard s.perm.allows(creds, 0o4) else { throw Errno.EACCES }
                return s.values
            }
            var b = [UInt8](repeating: 0, count: values.count * 2)
            b.withUnsafeMutableBytes { p in for (i, v) in values.enumerated() { p.storeBytes(of: UInt16(v), toByteOffset: i * 2, as: UInt16.self) } }
            try task.mm.copyOut(argument, b)
            return 0
        case SemABI.SETVAL:
            // The union semun arrives by value: its int member is the low 32 bits.
            let value = Int(Int32(truncatingIfNeeded: argument))
            try s.lock.withLock { () throws(Errno) in
                guard s.perm.allows(creds, 0o2) else { throw Errno.EACCES }
                guard index >= 0, Int(index) < s.count else { throw Errno.EINVAL }
                guard value >= 0, value <= SemABI.SEMVMX else { throw Errno.ERANGE }
                s.values[Int(index)] = value
                s.lastPIDs[Int(index)] = task.threadGroup.pid
                s.clearUndo(index: Int(index))
                s.ctime = Kernel.ipcNow()
            }
            s.changed.notifyAll()
            return 0
        case SemABI.SETALL:
            let n = s.lock.withLock { s.count }
            let raw = try task.mm.copyIn(argument, n * 2)
            let values: [Int] = raw.withUnsafeBytes { p in (0..<n).map { Int(p.load(fromByteOffset: $0 * 2, as: UInt16.self)) } }
            try s.lock.withLock { () throws(Errno) in
                guard s.perm.allows(creds, 0o2) else { throw Errno.EACCES }
                guard !s.removed else { throw Errno.EIDRM }
                guard values.allSatisfy({ $0 <= SemABI.SEMVMX }) else { throw Errno.ERANGE }
                s.values = values
                s.lastPIDs = Array(repeating: task.threadGroup.pid, count: n)
                s.clearUndo(index: nil)
                s.ctime = Kernel.ipcNow()
            }
            s.changed.notifyAll()
            return 0
        default:
            throw Errno.EINVAL
        }
    }
}
