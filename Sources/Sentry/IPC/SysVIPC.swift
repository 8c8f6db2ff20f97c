// The IPC namespace: System V shared memory, semaphores and message queues, and POSIX message queues;
// plus what the three System V kinds share: keys, ids, and ipc_perm with its permission rules.
//
// Lock order: a registry's lock, then an object's lock; never the kernel's task lock inside either, except
// where noted (nattch counts walk the process table with no IPC lock held).
import Glibc
import LinuxABI

/// The sandbox's one IPC namespace (CLONE_NEWIPC is refused, so every process shares it).
final class IPCNamespace: @unchecked Sendable {
    let sharedMemory = SysVRegistry<SharedMemorySegment>(limit: ShmABI.SHMMNI)
    let semaphores = SysVRegistry<SemaphoreSet>(limit: SemABI.SEMMNI)
    let messageQueues = SysVRegistry<SysVMessageQueue>(limit: MsgABI.MSGMNI)
    let posixQueues = MessageQueueRegistry()

    /// linux.sysctl's limits (kernel.shmmni, kernel.msgmni, kernel.sem, fs.mqueue.*), set once at boot before any
    /// task runs; the per-call limits (kernel.shmmax, ...) are read from `Kernel.sysctls` where they are checked.
    func apply(_ sysctls: SysctlTable) {
        sharedMemory.limit = sysctls.limit("kernel.shmmni")
        semaphores.limit = sysctls.semaphoreLimits.semmni
        messageQueues.limit = sysctls.limit("kernel.msgmni")
        posixQueues.limits = MessageQueueLimits(
            defaultMessages: sysctls.limit("fs.mqueue.msg_default"), defaultSize: sysctls.limit("fs.mqueue.msgsize_default"),
            maxMessages: sysctls.limit("fs.mqueue.msg_max"), maxSize: sysctls.limit("fs.mqueue.msgsize_max"),
            queues: sysctls.limit("fs.mqueue.queues_max"))
    }

    /// A process has ended: undo its SEM_UNDO adjustments.
    func processEnded(_ g: ThreadGroup) {
        for set in semaphores.all { set.applyUndo(for: g) }
    }
}

/// struct ipc64_perm, and the checks Linux's ipcperms makes.
struct IPCPerm {
    var key: Int32
    var uid: UInt32, gid: UInt32, cuid: UInt32, cgid: UInt32
    /// Permission bits (0o777) plus kind-specific flags (SHM_DEST, SHM_LOCKED).
    var mode: UInt32
    var seq: UInt16

    init(key: Int32, mode: UInt32, creds: Credentials, seq: UInt16) {
        self.key = key
        uid = creds.euid; cuid = creds.euid; gid = creds.egid; cgid = creds.egid
        self.mode = mode & 0o777
        self.seq = seq
    }

    func encode(into p: UnsafeMutableRawBufferPointer) {
        p.storeBytes(of: key, toByteOffset: 0, as: Int32.self)
        p.storeBytes(of: uid, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: gid, toByteOffset: 8, as: UInt32.self)
        p.storeBytes(of: cuid, toByteOffset: 12, as: UInt32.self)
        p.storeBytes(of: cgid, toByteOffset: 16, as: UInt32.self)
        p.storeBytes(of: mode, toByteOffset: 20, as: UInt32.self)
        p.storeBytes(of: seq, toByteOffset: 24, as: UInt16.self)
    }

    /// Whether `creds` may access with `want` (0o4 read, 0o2 write, or both). Root may do anything.
    func allows(_ creds: Credentials, _ want: UInt32) -> Bool {
        if creds.euid == 0 || want == 0 { return true }
        var granted = mode
        if creds.euid == uid || creds.euid == cuid { granted >>= 6 }
        else if creds.egid == gid || creds.egid == cgid || creds.groups.contains(gid) || creds.groups.contains(cgid) { granted >>= 3 }
        return granted & want & 0o7 == want
    }

    /// IPC_SET and IPC_RMID: the owner, the creator or root.
    func canChange(_ creds: Credentials) -> Bool { creds.euid == 0 || creds.euid == uid || creds.euid == cuid }

    /// IPC_SET: new owner and permission bits from a user struct ipc64_perm.
    mutating func update(from p: UnsafeRawBufferPointer) {
        uid = p.load(fromByteOffset: 4, as: UInt32.self)
        gid = p.load(fromByteOffset: 8, as: UInt32.self)
        mode = (mode & ~0o777) | (p.load(fromByteOffset: 20, as: UInt32.self) & 0o777)
    }
}

/// What the registry needs of a System V object. Objects guard their own state with `lock`.
protocol SysVObject: AnyObject {
    var id: Int32 { get }
    var lock: Lock { get }
    var perm: IPCPerm { get set }
    /// Set by IPC_RMID: blocked callers fail with EIDRM.
    var removed: Bool { get set }
}

/// Keys and ids of one kind of System V object. An id is `seq << 15 | index`, as in Linux, so a stale id of a
/// removed object does not name its successor.
final class SysVRegistry<Object: SysVObject>: @unchecked Sendable {
    private let lock = Lock()
    private var byID: [Int32: Object] = [:]
    private var byKey: [Int32: Int32] = [:]
    private var usedIndexes = Set<Int32>()
    private var seq: UInt16 = 0
    /// Objects of this kind the namespace may hold (kernel.shmmni, kernel.msgmni, SEMMNI); set at boot.
    var limit: Int

    init(limit: Int) { self.limit = limit }

    var all: [Object] { lock.withLock { Array(byID.values) } }
    var highestIndex: Int32 { lock.withLock { usedIndexes.max() ?? 0 } }
    var count: Int { lock.withLock { byID.count } }

    /// The object `id` names; EINVAL when there is none (EIDRM is for callers that were already using it).
    func get(_ id: Int32) throws(Errno) -> Object {
        guard id >= 0, let o = lock.withLock({ byID[id] }) else { throw Errno.EINVAL }
        return o
    }

    /// The object at `index` (SHM_STAT, SEM_STAT, MSG_STAT).
    func get(index: Int32) throws(Errno) -> Object {
        guard let o = lock.withLock({ byID.values.first { $0.id & 0x7fff == index } }) else { throw Errno.EINVAL }
        return o
    }

    /// The *get(2) protocol: IPC_PRIVATE always creates; a key finds its object or, with IPC_CREAT, creates
    /// one (EEXIST with IPC_EXCL, ENOENT without IPC_CREAT). `check` validates an existing object (size,
    /// count) and `make` builds a new one for the id and ipc_perm it is given.
    func getOrCreate(key: Int32, flags: Int, creds: Credentials, check: (Object) throws(Errno) -> Void,
                     make: (Int32, IPCPerm) throws(Errno) -> Object) throws(Errno) -> Int32 {
        try lock.withLock { () throws(Errno) -> Int32 in
            if key != SysVIPCABI.IPC_PRIVATE, let id = byKey[key], let o = byID[id] {
                guard flags & SysVIPCABI.IPC_CREAT == 0 || flags & SysVIPCABI.IPC_EXCL == 0 else { throw Errno.EEXIST }
                let perm = o.lock.withLock { o.perm }
                guard perm.allows(creds, permissionBits(flags)) else { throw Errno.EACCES }
                try check(o)
                return id
            }
            guard key == SysVIPCABI.IPC_PRIVATE || flags & SysVIPCABI.IPC_CREAT != 0 else { throw Errno.ENOENT }
            guard byID.count < limit, let index = (0..<Int32(limit)).first(where: { !usedIndexes.contains($0) }) else {
                throw Errno.ENOSPC
            }
            seq &+= 1
            let id = Int32(seq & 0xffff) << 15 | index
            let o = try make(id, IPCPerm(key: key, mode: UInt32(flags & 0o777), creds: creds, seq: seq))
            byID[id] = o
            usedIndexes.insert(index)
            if key != SysVIPCABI.IPC_PRIVATE { byKey[key] = id }
            return id
        }
    }

    /// The access a *get flag word asks for: the union of its three classes' bits, as Linux checks them.
    private func permissionBits(_ flags: Int) -> UInt32 {
        let m = UInt32(flags & 0o777)
        return ((m >> 6) | (m >> 3) | m) & 0o7
    }

    /// Forgets the object's key, so a later get with that key creates a new object (IPC_RMID).
    func forgetKey(_ o: Object) {
        lock.withLock {
            let key = o.lock.withLock { o.perm.key }
            if key != SysVIPCABI.IPC_PRIVATE, byKey[key] == o.id { byKey.removeValue(forKey: key) }
        }
    }

    func remove(_ o: Object) {
        lock.withLock {
            guard byID[o.id] === o else { return }
            byID.removeValue(forKey: o.id)
            usedIndexes.remove(o.id & 0x7fff)
            for (k, v) in byKey where v == o.id { byKey.removeValue(forKey: k) }
        }
    }
}

extension Kernel {
    /// Seconds since the epoch, for the *time fields of IPC objects.
    static func ipcNow() -> Int64 { Int64(Timespec.now().sec) }
}

/// The `cmd` of a *ctl call without IPC_64 (x86-64 ignores that flag).
func ipcCommand(_ raw: Int32) -> Int32 { raw & ~SysVIPCABI.IPC_64 }
