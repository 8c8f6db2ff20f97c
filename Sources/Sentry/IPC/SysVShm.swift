// System V shared memory. A segment is one shared MemoryBacking (a range of the MemoryFile); shmat maps it
// with MemoryManager.map like a MAP_SHARED mapping, so fork keeps attachments and the pages are the same
// in every process. The number of attachments is the number of VMAs that map the backing, counted when
// asked (as Linux counts shm VMAs). After IPC_RMID the registry holds the backing only weakly: the memory
// goes back to the MemoryFile when the last attachment is unmapped.
import LinuxABI
import Platform

final class SharedMemorySegment: SysVObject, @unchecked Sendable {
    let id: Int32
    let lock = Lock()
    var perm: IPCPerm
    var removed = false
    let size: UInt64
    /// Held strongly until IPC_RMID.
    private(set) var backing: MemoryBacking?
    private(set) weak var liveBacking: MemoryBacking?
    var atime: Int64 = 0, dtime: Int64 = 0, ctime: Int64
    let cpid: Int32
    var lpid: Int32 = 0

    init(id: Int32, perm: IPCPerm, size: UInt64, backing: MemoryBacking, cpid: Int32) {
        self.id = id; self.perm = perm; self.size = size
        self.backing = backing; self.liveBacking = backing
        self.cpid = cpid; self.ctime = Kernel.ipcNow()
    }

    /// The memory, while anything still holds it.
    var memory: MemoryBacking? { lock.withLock { backing ?? liveBacking } }

    /// IPC_RMID: keep the memory only as long as attachments do.
    func markRemoved() {
        lock.withLock { removed = true; perm.mode |= ShmABI.SHM_DEST; backing = nil }
    }
}

extension Kernel {
    private var shm: SysVRegistry<SharedMemorySegment> { ipcNamespace.sharedMemory }

    /// Every VMA of every live address space that maps `backing`: shm_nattch.
    func attachmentCount(_ backing: MemoryBacking) -> Int {
        var seen = Set<ObjectIdentifier>()
        var count = 0
        let groups = allGroups
        let mms: [MemoryManager] = taskLock.withLock { groups.flatMap { $0.tasks.map { $0.mm } } }
        for mm in mms where seen.insert(ObjectIdentifier(mm)).inserted {
            count += mm.lock.withLock { mm.vmas.filter { $0.backing === backing }.count }
        }
        return count
    }

    /// Drops removed segments whose memory is gone (their last attachment was unmapped).
    private func pruneRemovedSegments() {
        for s in shm.all where s.lock.withLock({ s.removed }) && s.memory == nil { shm.remove(s) }
    }

    func shmget(_ task: Task, key: Int32, size: UInt64, flags: Int) throws(Errno) -> Int {
        pruneRemovedSegments()
        let creds = task.credentials
        let pid = task.threadGroup.pid
        let id = try shm.getOrCreate(key: key, flags: flags, creds: creds, check: { (s) throws(Errno) in
            guard size <= s.size else { throw Errno.EINVAL }
        }, make: { (id, perm) throws(Errno) -> SharedMemorySegment in
            guard size >= ShmABI.SHMMIN, size <= sysctls.value("kernel.shmmax"), let rounded = PageSize.roundUp(size) else { throw Errno.EINVAL }
            let backing = try MemoryBacking(file: memoryFile, length: rounded, shared: true)
            return SharedMemorySegment(id: id, perm: perm, size: size, backing: backing, cpid: pid)
        })
        return Int(id)
    }

    func shmat(_ task: Task, id: Int32, address: UInt64, flags: Int) throws(Errno) -> Int {
        let s = try shm.get(id)
        guard let backing = s.memory else { throw Errno.EIDRM }
        let readOnly = flags & ShmABI.SHM_RDONLY != 0
        guard s.lock.withLock({ s.perm.allows(task.credentials, readOnly ? 0o4 : 0o6) }) else { throw Errno.EACCES }
        var addr = address
        if addr & (ShmABI.SHMLBA - 1) != 0 {
            guard flags & ShmABI.SHM_RND != 0 else { throw Errno.EINVAL }
            addr &= ~(ShmABI.SHMLBA - 1)
        }
        let remap = flags & ShmABI.SHM_REMAP != 0
        if remap && addr == 0 { throw Errno.EINVAL }
        var prot: Protection = readOnly ? [.read] : [.read, .write]
        if flags & ShmABI.SHM_EXEC != 0 { prot.insert(.execute) }
        guard let length = PageSize.roundUp(s.size) else { throw Errno.EINVAL }
        let request = MemoryManager.MapRequest(address: addr, length: length, protection: prot, shared: true,
                                               fixed: addr != 0, noReplace: !remap,
                                               name: "/SYSV" + hex(UInt64(UInt32(bitPattern: s.lock.withLock { s.perm.key })), 8) + " (deleted)",
                                               inode: UInt64(UInt32(bitPattern: id)), backing: backing)
        let start: UInt64
        do {
            start = try task.mm.map(request, mirror: task.mirror)
        } catch {
            throw error == .EEXIST ? Errno.EINVAL : error  // overlapping without SHM_REMAP
        }
        s.lock.withLock { s.atime = Kernel.ipcNow(); s.lpid = task.threadGroup.pid }
        return Int(start)
    }

    /// shmdt: unmaps the attachment that starts at `address` (every piece of it, if mprotect split it).
    func shmdt(_ task: Task, address: UInt64) throws(Errno) -> Int {
        guard address & PageSize.mask == 0 else { throw Errno.EINVAL }
        let segments = shm.all
        let vmas = task.mm.lock.withLock { task.mm.vmas }
        guard let first = vmas.first(where: { $0.start == address && $0.backingOffset == 0 }),
              let s = segments.first(where: { $0.memory === first.backing }) else { throw Errno.EINVAL }
        let end = address &+ (PageSize.roundUp(s.size) ?? s.size)
        // Pieces of this attachment: same memory, at the offset their distance from `address` says.
        for v in vmas where v.backing === first.backing && v.start >= address && v.start < end && v.backingOffset == v.start - address {
            try task.mm.unmap(v.start, v.length, mirror: task.mirror)
        }
        s.lock.withLock { s.dtime = Kernel.ipcNow(); s.lpid = task.threadGroup.pid }
        pruneRemovedSegments()
        return 0
    }

    func shmctl(_ task: Task, id: Int32, command: Int32, buffer: UInt64) throws(Errno) -> Int {
        let creds = task.credentials
        switch ipcCommand(command) {
        case SysVIPCABI.IPC_INFO, ShmABI.SHM_INFO:
            var b = [UInt8](repeating: 0, count: ipcCommand(command) == SysVIPCABI.IPC_INFO ? 72 : 48)
            let used = shm.count
            b.withUnsafeMutableBytes { p in
                if ipcCommand(command) == SysVIPCABI.IPC_INFO {  // struct shminfo: shmmax, shmmin, shmmni, shmseg, shmall
                    for (i, v) in [sysctls.value("kernel.shmmax"), ShmABI.SHMMIN, sysctls.value("kernel.shmmni"), sysctls.value("kernel.shmmni"),
                                    sysctls.value("kernel.shmall")].enumerated() {
                        p.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self)
                    }
                } else {  // struct shm_info: used_ids, shm_tot (pages), ...
                    p.storeBytes(of: Int32(used), toByteOffset: 0, as: Int32.self)
                    let pages = shm.all.reduce(UInt64(0)) { $0 + (PageSize.roundUp($1.size) ?? 0) / 4096 }
                    p.storeBytes(of: pages, toByteOffset: 8, as: UInt64.self)
                }
            }
            try task.mm.copyOut(buffer, b)
            return Int(shm.highestIndex)
        case SysVIPCABI.IPC_STAT, ShmABI.SHM_STAT, ShmABI.SHM_STAT_ANY:
            pruneRemovedSegments()
            let byIndex = ipcCommand(command) != SysVIPCABI.IPC_STAT
            let s = byIndex ? try shm.get(index: id) : try shm.get(id)
            let (perm, atime, dtime, ctime, lpid) = s.lock.withLock { (s.perm, s.atime, s.dtime, s.ctime, s.lpid) }
            if ipcCommand(command) != ShmABI.SHM_STAT_ANY { guard perm.allows(creds, 0o4) else { throw Errno.EACCES } }
            let nattch = s.memory.map { attachmentCount($0) } ?? 0
            var b = [UInt8](repeating: 0, count: ShmABI.dsSize)
            b.withUnsafeMutableBytes { p in
                perm.encode(into: p)
                p.storeBytes(of: s.size, toByteOffset: 48, as: UInt64.self)
                p.storeBytes(of: atime, toByteOffset: 56, as: Int64.self)
                p.storeBytes(of: dtime, toByteOffset: 64, as: Int64.self)
                p.storeBytes(of: ctime, toByteOffset: 72, as: Int64.self)
                p.storeBytes(of: s.cpid, toByteOffset: 80, as: Int32.self)
                p.storeBytes(of: lpid, toByteOffset: 84, as: Int32.self)
                p.storeBytes(of: UInt64(nattch), toByteOffset: 88, as: UInt64.self)
            }
            try task.mm.copyOut(buffer, b)
            return byIndex ? Int(s.id) : 0
        case SysVIPCABI.IPC_SET:
            let s = try shm.get(id)
            let b = try task.mm.copyIn(buffer, SysVIPCABI.permSize)
            try s.lock.withLock { () throws(Errno) in
                guard s.perm.canChange(creds) else { throw Errno.EPERM }
                b.withUnsafeBytes { s.perm.update(from: $0) }
                s.ctime = Kernel.ipcNow()
            }
            return 0
        case SysVIPCABI.IPC_RMID:
            let s = try shm.get(id)
            guard s.lock.withLock({ s.perm.canChange(creds) }) else { throw Errno.EPERM }
            shm.forgetKey(s)
            s.lock.withLock { s.perm.key = SysVIPCABI.IPC_PRIVATE }
            s.markRemoved()
            pruneRemovedSegments()
            return 0
        case ShmABI.SHM_LOCK, ShmABI.SHM_UNLOCK:
            // Sandbox memory is never swapped; the flag is only reported.
            let s = try shm.get(id)
            s.lock.withLock {
                if ipcCommand(command) == ShmABI.SHM_LOCK { s.perm.mode |= ShmABI.SHM_LOCKED } else { s.perm.mode &= ~ShmABI.SHM_LOCKED }
            }
            return 0
        default:
            throw Errno.EINVAL
        }
    }
}
