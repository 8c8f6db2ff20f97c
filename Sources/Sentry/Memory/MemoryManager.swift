// The VMAs of one app address space, and the Sentry's access to app memory through the MemoryFile.
// Platform address spaces only mirror what is here (see PlatformMirror).
import Glibc
import LinuxABI
import Platform
import Synchronization

/// A range of the MemoryFile that backs one or more VMAs; given back when the last VMA lets go of it.
final class MemoryBacking: @unchecked Sendable {
    let file: MemoryFile
    let offset: UInt64
    let length: UInt64
    /// Shared anonymous memory may be mapped by several address spaces: never punch parts of it.
    let shared: Bool
    /// How many address spaces hold this private memory copy-on-write (see CowHold).
    let cowHolders = Atomic<Int>(0)

    /// For a shared file mapping: writes the memory back to its file (on msync, and when the last mapping goes).
    var writeBack: (() -> Void)?

    init(file: MemoryFile, length: UInt64, shared: Bool) throws(Errno) {
        self.file = file
        self.offset = try file.allocate(length)
        self.length = length
        self.shared = shared
    }
    deinit {
        writeBack?()
        file.release(offset, length)
    }
}

/// One virtual memory area: [start, end) of the app's address space.
struct VMA {
    var start: UInt64
    var end: UInt64
    var protection: Protection
    var shared: Bool
    var growsDown: Bool = false
    var backing: MemoryBacking
    /// Offset of `start` within `backing`.
    var backingOffset: UInt64
    /// What /proc/self/maps shows: a path, "[heap]", "[stack]", or "".
    var name: String = ""
    /// For file mappings: offset into the file, device and inode (for /proc/self/maps).
    var fileOffset: UInt64 = 0
    var device: UInt64 = 0
    var inode: UInt64 = 0
    /// Set while the private memory may be shared with another address space (after fork): writes must
    /// copy first. One CowHold per address space and backing.
    var cow: CowHold?

    var length: UInt64 { end - start }
    /// What the platform maps: copy-on-write memory is mapped without write access.
    var platformProtection: Protection { cow != nil ? protection.subtracting(.write) : protection }
    /// The MemoryFile offset of address `address` (which must lie in the VMA).
    @inline(__always) func fileOffsetOf(_ address: UInt64) -> UInt64 { backing.offset + backingOffset + (address - start) }
}

/// One address space's claim on a private backing shared copy-on-write with other address spaces.
final class CowHold: @unchecked Sendable {
    let backing: MemoryBacking
    init(_ backing: MemoryBacking) {
        self.backing = backing
        backing.cowHolders.add(1, ordering: .relaxed)
    }
    deinit { backing.cowHolders.subtract(1, ordering: .relaxed) }
    /// No other address space shares the memory any more: writes may go to it directly.
    var isExclusive: Bool { backing.cowHolders.load(ordering: .relaxed) <= 1 }
}

/// A page of private memory that was copied on write (or shared by fork with its copy-on-write children).
final class PrivatePage: @unchecked Sendable {
    let backing: MemoryBacking
    init(_ backing: MemoryBacking) { self.backing = backing }
}

/// A change to replay in a platform address space.
enum MirrorOperation {
    case map(UInt64, UInt64, UInt64, Protection)   // address, length, file offset, protection
    case unmap(UInt64, UInt64)
    case protect(UInt64, UInt64, Protection)
}

/// One platform address space that mirrors a MemoryManager. Every task has its own (a ptrace stub process);
/// threads sharing memory share the MemoryManager, so a change made by one thread is applied to its own
/// mirror at once and queued for the others, which replay it before they run app code again.
final class PlatformMirror: @unchecked Sendable {
    let addressSpace: AddressSpace
    /// Changes made by other tasks, not yet applied here (guarded by the MemoryManager's lock).
    var pending: [MirrorOperation] = []
    /// Too many queued changes, or one failed: rebuild from the VMAs instead.
    var needsRebuild = false
    /// Whether the owning task is running app code right now (guarded by the MemoryManager's lock).
    var inApp = false
    /// Makes the owning task leave app code (its platform context's interrupt).
    let interrupt: () -> Void

    init(addressSpace: AddressSpace, interrupt: @escaping () -> Void) {
        self.addressSpace = addressSpace
        self.interrupt = interrupt
    }

    var upToDate: Bool { pending.isEmpty && !needsRebuild }
}

/// The memory of one app address space.
final class MemoryManager: @unchecked Sendable {
    let file: MemoryFile
    let minAddress: UInt64
    let maxAddress: UInt64
    let lock = Lock()
    private(set) var vmas: [VMA] = []
    private var mirrors: [ObjectIdentifier: PlatformMirror] = [:]
    /// Pages copied on write, by page address; they take precedence over their VMA's backing.
    var privatePages: [UInt64: PrivatePage] = [:]
    /// Private pages that fork shared with another address space: copy (or reclaim) before writing.
    var cowPages = Set<UInt64>()

    /// Top of the initial stack; mmap searches downwards from `mmapBase`.
    var stackTop: UInt64
    var mmapBase: UInt64
    var brkStart: UInt64 = 0
    var brkCurrent: UInt64 = 0
    /// argv/envp ranges of the initial process image (for /proc/pid/cmdline and environ).
    var argvRange: (UInt64, UInt64) = (0, 0)
    var envRange: (UInt64, UInt64) = (0, 0)
    var executablePath: String = ""

    init(file: MemoryFile, minAddress: UInt64, maxAddress: UInt64) {
        self.file = file
        self.minAddress = minAddress
        self.maxAddress = maxAddress
        // Leave a gap below the platform's reserved region, as Linux leaves one below TASK_SIZE.
        self.stackTop = PageSize.roundDown(maxAddress - (16 << 20))
        self.mmapBase = PageSize.roundDown(stackTop - (1 << 30))
    }

    /// Tasks using this address space (threads share it; vfork borrows it).
    private var users = 0

    func addUser() { lock.withLock { users += 1 } }

    /// When the last task leaves (exit or execve), the memory goes at once rather than whenever the
    /// object is freed, so a parent that has reaped a child sees its memory (and shm attachments) gone.
    func dropUser() {
        lock.withLock {
            users -= 1
            if users <= 0 {
                vmas = []
                privatePages = [:]
                cowPages = []
            }
        }
    }

    // MARK: Mirrors

    func attach(_ mirror: PlatformMirror) throws {
        let all = lock.withLock { () -> [VMA] in
            mirrors[ObjectIdentifier(mirror)] = mirror
            return vmas
        }
        for m in lock.withLock({ all.flatMap { platformMappings($0) } }) {
            try mirror.addressSpace.map(m.0, length: m.1, fileOffset: m.2, protection: m.3)
        }
    }

    /// What the platform must map for a VMA: its backing, then its private pages on top. Caller holds `lock`.
    func platformMappings(_ v: VMA) -> [(UInt64, UInt64, UInt64, Protection)] {
        var out = [(v.start, v.length, v.fileOffsetOf(v.start), v.platformProtection)]
        if !privatePages.isEmpty {
            for (page, p) in privatePages where page >= v.start && page < v.end {
                out.append((page, PageSize.size, p.backing.offset, cowPages.contains(page) ? v.protection.subtracting(.write) : v.protection))
            }
        }
        return out
    }

    /// Maps the VMA containing `address` into `mirror` again (a mirror that lost a mapping).
    func remap(_ address: UInt64, mirror: PlatformMirror) -> Bool {
        let maps: [(UInt64, UInt64, UInt64, Protection)] = lock.withLock {
            guard let i = indexContaining(address), !vmas[i].protection.isEmpty else { return [] }
            return platformMappings(vmas[i])
        }
        guard !maps.isEmpty else { return false }
        for m in maps {
            guard (try? mirror.addressSpace.map(m.0, length: m.1, fileOffset: m.2, protection: m.3)) != nil else { return false }
        }
        return true
    }

    func detach(_ mirror: PlatformMirror) {
        lock.withLock { _ = mirrors.removeValue(forKey: ObjectIdentifier(mirror)) }
    }

    /// Called by the owning task before it runs app code: replays changes made by other tasks and marks the
    /// mirror as in use, atomically with respect to new changes.
    func enterApp(_ mirror: PlatformMirror) throws {
        while true {
            let (ops, rebuild, all): ([MirrorOperation], Bool, [VMA]) = lock.withLock {
                if mirror.upToDate { mirror.inApp = true; return ([], false, []) }
                let ops = mirror.pending, rebuild = mirror.needsRebuild
                mirror.pending = []; mirror.needsRebuild = false
                return (ops, rebuild, rebuild ? vmas : [])
            }
            if ops.isEmpty && !rebuild { return }
            if rebuild {
                try mirror.addressSpace.unmap(minAddress, length: maxAddress - minAddress)
                for m in lock.withLock({ all.flatMap { platformMappings($0) } }) {
                    try mirror.addressSpace.map(m.0, length: m.1, fileOffset: m.2, protection: m.3)
                }
            } else {
                for op in ops {
                    switch op {
                    case .map(let a, let l, let o, let p): try mirror.addressSpace.map(a, length: l, fileOffset: o, protection: p)
                    case .unmap(let a, let l): try mirror.addressSpace.unmap(a, length: l)
                    case .protect(let a, let l, let p): try mirror.addressSpace.protect(a, length: l, protection: p)
                    }
                }
            }
        }
    }

    /// Called by the owning task when app code has stopped.
    func leaveApp(_ mirror: PlatformMirror) {
        lock.withLock { mirror.inApp = false }
    }

    /// Whether the mirror has changes to replay.
    func hasPending(_ mirror: PlatformMirror) -> Bool { lock.withLock { !mirror.upToDate } }

    /// Mirrors of other tasks that ran app code when a change was queued: they must be interrupted, and for
    /// changes that take access away, waited for (a TLB shootdown).
    private var toInterrupt: [PlatformMirror] = []

    /// Applies a change to the caller's mirror now and queues it for every other mirror. Caller holds `lock`.
    private func propagate(_ current: PlatformMirror?, _ op: MirrorOperation) {
        for (_, m) in mirrors {
            if m === current {
                do {
                    switch op {
                    case .map(let a, let l, let o, let p): try m.addressSpace.map(a, length: l, fileOffset: o, protection: p)
                    case .unmap(let a, let l): try m.addressSpace.unmap(a, length: l)
                    case .protect(let a, let l, let p): try m.addressSpace.protect(a, length: l, protection: p)
                    }
                } catch { m.needsRebuild = true }
            } else {
                if m.pending.count >= 64 { m.needsRebuild = true; m.pending = [] } else if !m.needsRebuild { m.pending.append(op) }
                if m.inApp { toInterrupt.append(m) }
            }
        }
    }

    /// After a change (lock released): interrupts mirrors running app code and, when access was taken away,
    /// waits until none of them can still use the old mapping.
    private func shootdown(wait: Bool) {
        let targets = lock.withLock { () -> [PlatformMirror] in let t = toInterrupt; toInterrupt = []; return t }
        guard !targets.isEmpty else { return }
        for m in targets { m.interrupt() }
        guard wait else { return }
        while true {
            let done = lock.withLock { targets.allSatisfy { $0.upToDate || !$0.inApp || mirrors[ObjectIdentifier($0)] == nil } }
            if done { return }
            usleep(20)
        }
    }

    // MARK: Lookup

    /// Index of the VMA containing `address`, if any. Caller holds `lock`.
    func indexContaining(_ address: UInt64) -> Int? {
        var lo = 0, hi = vmas.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vmas[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        if lo < vmas.count, vmas[lo].start <= address { return lo }
        return nil
    }

    func vma(containing address: UInt64) -> VMA? {
        lock.withLock { indexContaining(address).map { vmas[$0] } }
    }

    private func isFree(_ start: UInt64, _ end: UInt64) -> Bool {
        guard start >= minAddress, end <= maxAddress, start < end else { return false }
        for v in vmas where v.start < end && start < v.end { return false }
        return true
    }

    /// Finds a free range of `length` bytes below `mmapBase`, top-down. Caller holds `lock`.
    private func findFree(_ length: UInt64) -> UInt64? {
        var top = mmapBase
        for v in vmas.reversed() {
            if v.start >= top { top = min(top, v.start); continue }
            if v.end <= top, top - v.end >= length { return top - length }
            top = min(top, v.start)
        }
        if top >= minAddress + length { return top - length }
        // Then above the stack gap, for very large requests.
        return nil
    }

    // MARK: Mapping

    struct MapRequest {
        var address: UInt64
        var length: UInt64
        var protection: Protection
        var shared: Bool
        var fixed: Bool
        var noReplace: Bool = false
        var growsDown: Bool = false
        var name: String = ""
        var fileOffset: UInt64 = 0
        var device: UInt64 = 0
        var inode: UInt64 = 0
        /// Bytes to copy into the fresh memory (private file mappings): reads up to `length` bytes.
        var fill: ((UnsafeMutableRawPointer, Int) throws(Errno) -> Void)? = nil
        /// An existing backing to map (shared mappings of the same memory).
        var backing: MemoryBacking? = nil
        var backingOffset: UInt64 = 0
    }

    /// Creates a mapping; returns its start address.
    func map(_ r: MapRequest, mirror: PlatformMirror?) throws(Errno) -> UInt64 {
        guard r.length > 0, let length = PageSize.roundUp(r.length) else { throw Errno.EINVAL }
        let backing: MemoryBacking
        if let b = r.backing { backing = b } else { backing = try MemoryBacking(file: file, length: length, shared: r.shared) }
        if let fill = r.fill {
            try fill(file.pointer(backing.offset + r.backingOffset), Int(r.length))
        }
        let result = try lock.withLock { () throws(Errno) -> UInt64 in
            var start: UInt64
            if r.fixed {
                start = r.address
                guard start & PageSize.mask == 0 else { throw Errno.EINVAL }
                guard start >= minAddress, start <= maxAddress, length <= maxAddress - start else {
                    throw start < minAddress ? Errno.EPERM : Errno.ENOMEM
                }
                if r.noReplace, !isFree(start, start + length) { throw Errno.EEXIST }
                removeRange(start, start + length, mirror: mirror, replacing: true)
            } else if r.address != 0, let hint = PageSize.roundUp(r.address), hint <= maxAddress,
                      length <= maxAddress - hint, isFree(hint, hint + length) {
                start = hint
            } else {
                guard let s = findFree(length) else { throw Errno.ENOMEM }
                start = s
            }
            let vma = VMA(start: start, end: start + length, protection: r.protection, shared: r.shared,
                          growsDown: r.growsDown, backing: backing, backingOffset: r.backingOffset, name: r.name,
                          fileOffset: r.fileOffset, device: r.device, inode: r.inode)
            insert(vma)
            propagate(mirror, .map(start, length, vma.fileOffsetOf(start), vma.protection))
            return start
        }
        // A MAP_FIXED over live memory takes the old pages away from other threads.
        shootdown(wait: r.fixed)
        return result
    }

    private func insert(_ vma: VMA) {
        let i = vmas.firstIndex(where: { $0.start > vma.start }) ?? vmas.count
        vmas.insert(vma, at: i)
    }

    /// Removes [start, end) from the VMAs, splitting as needed. Caller holds `lock`.
    private func removeRange(_ start: UInt64, _ end: UInt64, mirror: PlatformMirror?, replacing: Bool = false) {
        var result: [VMA] = []
        var touched = false
        for v in vmas {
            if v.end <= start || v.start >= end { result.append(v); continue }
            touched = true
            if v.start < start {
                var left = v; left.end = start; result.append(left)
            }
            if v.end > end {
                var right = v
                right.backingOffset += end - v.start
                right.fileOffset += end - v.start
                right.start = end
                result.append(right)
            }
            // Private memory no other VMA can reach: give the pages back now.
            if !v.backing.shared && v.cow == nil {
                let s = max(v.start, start), e = min(v.end, end)
                file.zero(v.fileOffsetOf(s), e - s)
            }
        }
        vmas = result
        // A MAP_FIXED replacement overwrites the caller's host mapping in place: no unmap needed there.
        if touched {
            if replacing {
                // Other mirrors drop the old pages now; the caller's is overwritten in place by the new map.
                for (_, m) in mirrors where m !== mirror {
                    if m.pending.count >= 64 { m.needsRebuild = true; m.pending = [] } else if !m.needsRebuild { m.pending.append(.unmap(start, end - start)) }
                    if m.inApp { toInterrupt.append(m) }
                }
            } else {
                propagate(mirror, .unmap(start, end - start))
            }
        }
    }

    func unmap(_ start: UInt64, _ length: UInt64, mirror: PlatformMirror?) throws(Errno) {
        guard start & PageSize.mask == 0, length > 0, let len = PageSize.roundUp(length),
              start <= maxAddress, len <= maxAddress - start else { throw Errno.EINVAL }
        lock.withLock { removeRange(start, start + len, mirror: mirror) }
        shootdown(wait: true)
    }

    func protect(_ start: UInt64, _ length: UInt64, _ prot: Protection, mirror: PlatformMirror?) throws(Errno) {
        guard start & PageSize.mask == 0, let len = PageSize.roundUp(length) else { throw Errno.EINVAL }
        if len == 0 { return }
        guard start <= maxAddress, len <= maxAddress - start else { throw Errno.ENOMEM }
        let end = start + len
        try lock.withLock { () throws(Errno) in
            // Linux requires the whole range to be mapped.
            var cursor = start
            for v in vmas where v.end > cursor && v.start < end {
                if v.start > cursor { throw Errno.ENOMEM }
                cursor = v.end
            }
            if cursor < end { throw Errno.ENOMEM }
            var result: [VMA] = []
            for v in vmas {
                if v.end <= start || v.start >= end { result.append(v); continue }
                if v.start < start { var l = v; l.end = start; result.append(l) }
                var mid = v
                let ms = max(v.start, start), me = min(v.end, end)
                mid.backingOffset += ms - v.start; mid.fileOffset += ms - v.start
                mid.start = ms; mid.end = me; mid.protection = prot
                result.append(mid)
                if v.end > end {
                    var r = v; r.backingOffset += end - v.start; r.fileOffset += end - v.start; r.start = end
                    result.append(r)
                }
            }
            vmas = result
            for v in vmas where v.end > start && v.start < end {
                let ms = max(v.start, start), me = min(v.end, end)
                propagate(mirror, .protect(ms, me - ms, v.platformProtection))
            }
            for page in privatePages.keys where page >= start && page < end {
                propagate(mirror, .protect(page, PageSize.size, cowPages.contains(page) ? prot.subtracting(.write) : prot))
            }
        }
        shootdown(wait: true)
    }

    /// brk(2): returns the new (or unchanged) break.
    func brk(_ requested: UInt64, mirror: PlatformMirror?) -> UInt64 {
        let current = lock.withLock { brkCurrent }
        guard requested >= brkStart, requested <= brkStart + (1 << 34) else { return current }
        let oldEnd = PageSize.roundUp(current) ?? current
        guard let newEnd = PageSize.roundUp(requested) else { return current }
        if newEnd > oldEnd {
            let free = lock.withLock { isFree(oldEnd, newEnd) }
            guard free else { return current }
            let r = MapRequest(address: oldEnd, length: newEnd - oldEnd, protection: [.read, .write], shared: false,
                               fixed: true, name: "[heap]")
            guard (try? map(r, mirror: mirror)) != nil else { return current }
        } else if newEnd < oldEnd {
            try? unmap(newEnd, oldEnd - newEnd, mirror: mirror)
        }
        lock.withLock { brkCurrent = requested }
        return requested
    }

    /// A copy for fork. Private memory becomes copy-on-write in both address spaces: nothing is copied now;
    /// the first write to a page from either side copies that page (or, once the other side is gone, simply
    /// takes the memory back). Shared memory stays shared. `mirror` is the forking task's.
    func fork(mirror: PlatformMirror?) throws(Errno) -> MemoryManager {
        let child = MemoryManager(file: file, minAddress: minAddress, maxAddress: maxAddress)
        lock.withLock {
            child.stackTop = stackTop; child.mmapBase = mmapBase
            child.brkStart = brkStart; child.brkCurrent = brkCurrent
            child.argvRange = argvRange; child.envRange = envRange; child.executablePath = executablePath
            var parentHolds: [ObjectIdentifier: CowHold] = [:], childHolds: [ObjectIdentifier: CowHold] = [:]
            for i in vmas.indices {
                var c = vmas[i]
                if !vmas[i].shared {
                    let key = ObjectIdentifier(vmas[i].backing)
                    if vmas[i].cow == nil {
                        let wasWritable = vmas[i].protection.contains(.write)
                        vmas[i].cow = parentHolds[key] ?? CowHold(vmas[i].backing)
                        parentHolds[key] = vmas[i].cow
                        if wasWritable {
                            propagate(mirror, .protect(vmas[i].start, vmas[i].length, vmas[i].platformProtection))
                        }
                    }
                    c.cow = childHolds[key] ?? CowHold(vmas[i].backing)
                    childHolds[key] = c.cow
                }
                child.vmas.append(c)
            }
            // Pages already copied by this address space are now shared with the child too.
            child.privatePages = privatePages
            for (page, _) in privatePages {
                child.cowPages.insert(page)
                if !cowPages.contains(page) {
                    cowPages.insert(page)
                    if let i = indexContaining(page), vmas[i].protection.contains(.write) {
                        propagate(mirror, .protect(page, PageSize.size, vmas[i].protection.subtracting(.write)))
                    }
                }
            }
        }
        // Other threads of the parent must stop writing to what is now shared before the child runs.
        shootdown(wait: true)
        return child
    }

    /// A write fault at `address`: if it hit copy-on-write memory the VMA allows writing to, gives this
    /// address space its own copy of the page and returns true.
    func handleWriteFault(_ address: UInt64, mirror: PlatformMirror?) -> Bool {
        let handled = lock.withLock { () -> Bool in
            guard let i = indexContaining(address), vmas[i].protection.contains(.write) else { return false }
            return (try? breakCOW(PageSize.roundDown(address), vmaIndex: i, mirror: mirror)) ?? false
        }
        shootdown(wait: false)
        return handled
    }

    /// Makes the page at `page` (in VMA `i`) writable by this address space alone. Caller holds `lock`.
    /// Returns false when the page was not copy-on-write.
    @discardableResult
    private func breakCOW(_ page: UInt64, vmaIndex i: Int, mirror: PlatformMirror?) throws(Errno) -> Bool {
        let v = vmas[i]
        if privatePages[page] != nil {
            guard cowPages.contains(page) else { return false }
            cowPages.remove(page)
            if isKnownUniquelyReferenced(&privatePages[page]!) {
                propagate(mirror, .protect(page, PageSize.size, v.protection))
            } else {
                let copy = try MemoryBacking(file: file, length: PageSize.size, shared: false)
                file.pointer(copy.offset).copyMemory(from: file.pointer(privatePages[page]!.backing.offset), byteCount: Int(PageSize.size))
                privatePages[page] = PrivatePage(copy)
                propagate(mirror, .map(page, PageSize.size, copy.offset, v.protection))
            }
            return true
        }
        guard let hold = v.cow else { return false }
        if hold.isExclusive {
            // The other side has gone (exec or exit): the whole backing is ours again, without copying.
            for j in vmas.indices where vmas[j].cow === hold {
                vmas[j].cow = nil
                propagate(mirror, .protect(vmas[j].start, vmas[j].length, vmas[j].protection))
                for p in cowPages where p >= vmas[j].start && p < vmas[j].end {
                    propagate(mirror, .protect(p, PageSize.size, vmas[j].protection.subtracting(.write)))
                }
            }
            return true
        }
        let copy = try MemoryBacking(file: file, length: PageSize.size, shared: false)
        file.pointer(copy.offset).copyMemory(from: file.pointer(v.fileOffsetOf(page)), byteCount: Int(PageSize.size))
        privatePages[page] = PrivatePage(copy)
        propagate(mirror, .map(page, PageSize.size, copy.offset, v.protection))
        return true
    }

    /// MADV_DONTNEED: private anonymous memory in the range reads back as zeros afterwards. Memory only this
    /// address space uses is hole-punched; copy-on-write memory is replaced by fresh zero memory.
    func discard(_ start: UInt64, _ length: UInt64, mirror: PlatformMirror?) throws(Errno) {
        let end = start + length
        let fresh: [MapRequest] = lock.withLock {
            var replace: [MapRequest] = []
            for v in vmas where v.end > start && v.start < end && !v.shared && v.inode == 0 {
                let s = max(v.start, start), e = min(v.end, end)
                let hasPrivate = !privatePages.isEmpty && privatePages.keys.contains { $0 >= s && $0 < e }
                if v.cow == nil && !hasPrivate {
                    file.zero(v.fileOffsetOf(s), e - s)
                } else {
                    replace.append(MapRequest(address: s, length: e - s, protection: v.protection, shared: false, fixed: true,
                                              growsDown: v.growsDown, name: v.name))
                }
            }
            return replace
        }
        for r in fresh { _ = try map(r, mirror: mirror) }
    }

    /// The MemoryFile offset that backs `address` in VMA `v` (private pages first). Caller holds `lock`.
    @inline(__always) private func translate(_ address: UInt64, _ v: VMA) -> UInt64 {
        if !privatePages.isEmpty, let p = privatePages[PageSize.roundDown(address)] {
            return p.backing.offset + (address & PageSize.mask)
        }
        return v.fileOffsetOf(address)
    }

    /// Copies [address, address+length) of app memory to `destination`, whatever backs it. Caller must not
    /// hold `lock`.
    func read(_ address: UInt64, _ length: Int, into destination: UnsafeMutableRawPointer) throws(Errno) {
        let segs = try segments(address, length, write: false, ignoreProtection: true)
        var pos = 0
        for s in segs { (destination + pos).copyMemory(from: s.baseAddress!, byteCount: s.count); pos += s.count }
        if pos < length { throw Errno.EFAULT }
    }

    // MARK: Access from the Sentry

    /// The Sentry-side buffers for [address, address+length), checked against VMA protections. A range that
    /// starts unmapped fails with EFAULT; one that runs into unmapped memory is cut short there.
    func segments(_ address: UInt64, _ length: Int, write: Bool, ignoreProtection: Bool = false) throws(Errno) -> [UnsafeMutableRawBufferPointer] {
        if length == 0 { return [] }
        let result = try lock.withLock { () throws(Errno) -> [UnsafeMutableRawBufferPointer] in
            var out: [UnsafeMutableRawBufferPointer] = []
            var addr = address
            var remaining = UInt64(length)
            guard var i = indexContaining(addr) else { throw Errno.EFAULT }
            while remaining > 0 {
                let v = vmas[i]
                guard v.start <= addr, addr < v.end,
                      ignoreProtection || v.protection.contains(write ? .write : .read) else { break }
                let n = min(remaining, v.end - addr)
                if privatePages.isEmpty && (v.cow == nil || !write) {
                    out.append(UnsafeMutableRawBufferPointer(start: file.pointer(v.fileOffsetOf(addr)), count: Int(n)))
                } else {
                    // Page by page: private copies, and copy-on-write broken before the Sentry writes.
                    var a = addr
                    while a < addr + n {
                        let pageEnd = min(PageSize.roundDown(a) + PageSize.size, addr + n)
                        if write { try breakCOW(PageSize.roundDown(a), vmaIndex: i, mirror: nil) }
                        let ptr = file.pointer(translate(a, vmas[i]))
                        if let last = out.last, last.baseAddress! + last.count == ptr {
                            out[out.count - 1] = UnsafeMutableRawBufferPointer(start: last.baseAddress, count: last.count + Int(pageEnd - a))
                        } else {
                            out.append(UnsafeMutableRawBufferPointer(start: ptr, count: Int(pageEnd - a)))
                        }
                        a = pageEnd
                    }
                }
                addr += n; remaining -= n
                i += 1
                if remaining > 0 && (i >= vmas.count || vmas[i].start != addr) { break }
            }
            if out.isEmpty { throw Errno.EFAULT }
            return out
        }
        shootdown(wait: false)
        return result
    }

    /// The two bytes at `address`, whatever the page protection, without allocating (the syscall path uses
    /// it to tell `int $0x80` from `syscall`); nil when unmapped or split across VMAs.
    func peekUInt16(_ address: UInt64) -> UInt16? {
        lock.withLock {
            guard let i = indexContaining(address), address + 2 <= vmas[i].end else { return nil }
            if PageSize.roundDown(address) != PageSize.roundDown(address + 1) {
                return nil  // spans two pages that may have different backings; not a concern for rip-2 of a syscall
            }
            return file.pointer(translate(address, vmas[i])).loadUnaligned(as: UInt16.self)
        }
    }

    func copyIn(_ address: UInt64, _ length: Int) throws(Errno) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: length)
        let segs = try segments(address, length, write: false)
        var pos = 0
        for s in segs { result.withUnsafeMutableBytes { dst in dst.baseAddress!.advanced(by: pos).copyMemory(from: s.baseAddress!, byteCount: s.count) }; pos += s.count }
        if pos < length { throw Errno.EFAULT }
        return result
    }

    func copyOut(_ address: UInt64, _ bytes: UnsafeRawBufferPointer) throws(Errno) {
        let segs = try segments(address, bytes.count, write: true)
        var pos = 0
        for s in segs { s.baseAddress!.copyMemory(from: bytes.baseAddress! + pos, byteCount: s.count); pos += s.count }
        if pos < bytes.count { throw Errno.EFAULT }
    }

    func copyOut(_ address: UInt64, _ bytes: [UInt8]) throws(Errno) {
        try bytes.withBytes { (b) throws(Errno) in try copyOut(address, b) }
    }

    func read<T: BitwiseCopyable>(_ address: UInt64, as: T.Type) throws(Errno) -> T {
        let bytes = try copyIn(address, MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
    }

    func write<T: BitwiseCopyable>(_ address: UInt64, _ value: T) throws(Errno) {
        var v = value
        let bytes = withUnsafeBytes(of: &v) { Array($0) }
        try copyOut(address, bytes)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (ENAMETOOLONG past that).
    func readString(_ address: UInt64, max: Int = 4096) throws(Errno) -> String {
        String(decoding: try readCString(address, max: max), as: UTF8.self)
    }

    /// Raw bytes of a NUL-terminated string (paths must keep non-UTF-8 bytes intact).
    func readCString(_ address: UInt64, max: Int = 4096) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var addr = address
        while bytes.count < max {
            let chunk = Swift.min(max - bytes.count, 4096 - Int(addr & PageSize.mask))
            let segs = try segments(addr, chunk, write: false)
            for s in segs {
                if let nul = s.firstIndex(of: 0) { bytes.append(contentsOf: s[..<nul]); return bytes }
                bytes.append(contentsOf: s)
            }
            addr += UInt64(chunk)
        }
        throw Errno.ENAMETOOLONG
    }

    /// /proc/self/maps text.
    func mapsText() -> String {
        lock.withLock {
            var out = ""
            for v in vmas {
                let p = v.protection
                let perms = (p.contains(.read) ? "r" : "-") + (p.contains(.write) ? "w" : "-") +
                    (p.contains(.execute) ? "x" : "-") + (v.shared ? "s" : "p")
                var line = hex(v.start, 8) + "-" + hex(v.end, 8) + " " + perms + " " + hex(v.fileOffset, 8) + " "
                line += hex(v.device >> 8, 2) + ":" + hex(v.device & 0xff, 2) + " " + String(v.inode)
                if !v.name.isEmpty { line += String(repeating: " ", count: max(1, 73 - line.count)) + v.name }
                out += line + "\n"
            }
            return out
        }
    }
}

func hex(_ v: UInt64, _ width: Int) -> String {
    let s = String(v, radix: 16)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}
