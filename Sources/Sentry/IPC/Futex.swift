// futex(2): wait queues keyed by the MemoryFile offset of the futex word, so private and shared
// mappings of the same memory meet at the same key.
import CLinux
import LinuxABI

/// Where a futex word lives: a MemoryFile offset (shared memory), or an address in one address space.
struct FutexKey: Hashable {
    var space: ObjectIdentifier?
    var value: UInt64
}

final class FutexTable: @unchecked Sendable {
    private let lock = Lock()
    private var queues: [FutexKey: [(Waiter, UInt32)]] = [:]

    /// The key of the futex word at `address`: its MemoryFile offset for shared memory (so processes meet);
    /// the address space and address for private memory (which fork shares copy-on-write, not for real).
    func key(mm: MemoryManager, address: UInt64) throws(Errno) -> FutexKey {
        guard address & 3 == 0 else { throw Errno.EINVAL }
        guard let v = mm.vma(containing: address) else { throw Errno.EFAULT }
        if v.shared { return FutexKey(space: nil, value: v.fileOffsetOf(address)) }
        return FutexKey(space: ObjectIdentifier(mm), value: address)
    }

    /// FUTEX_WAIT: sleeps while the word equals `expected`.
    func wait(task: Task, address: UInt64, expected: UInt32, bitset: UInt32, deadline: UInt64?) throws(Errno) {
        let k = try key(mm: task.mm, address: address)
        let w = task.waiter
        // Check and enqueue under the table lock so a wake between them is not lost.
        try lock.withLock { () throws(Errno) in
            let value: UInt32 = try task.mm.read(address, as: UInt32.self)
            guard value == expected else { throw Errno.EAGAIN }
            w.reset()
            queues[k, default: []].append((w, bitset))
        }
        defer { lock.withLock { queues[k]?.removeAll { $0.0 === w }; if queues[k]?.isEmpty == true { queues[k] = nil } } }
        while true {
            let stillQueued = lock.withLock { queues[k]?.contains { $0.0 === w } ?? false }
            if !stillQueued { return }
            if task.hasDeliverableSignal() { throw Errno.ERESTARTSYS }
            if let deadline, monotonicNanoseconds() >= deadline { throw Errno.ETIMEDOUT }
            w.wait(deadline: deadline)
        }
    }

    /// FUTEX_WAKE: wakes up to `count` waiters; returns how many.
    @discardableResult
    func wake(mm: MemoryManager, address: UInt64, count: Int, bitset: UInt32 = UInt32.max) -> Int {
        guard let k = try? key(mm: mm, address: address) else { return 0 }
        return wake(key: k, count: count, bitset: bitset)
    }

    func wake(key k: FutexKey, count: Int, bitset: UInt32 = UInt32.max) -> Int {
        let woken: [Waiter] = lock.withLock {
            guard var q = queues[k] else { return [] }
            var out: [Waiter] = []
            q.removeAll { entry in
                if out.count < count && entry.1 & bitset != 0 { out.append(entry.0); return true }
                return false
            }
            queues[k] = q.isEmpty ? nil : q
            return out
        }
        for w in woken { w.notify() }
        return woken.count
    }

    /// FUTEX_REQUEUE / CMP_REQUEUE: wakes `count`, moves up to `requeue` others to `target`.
    func requeue(mm: MemoryManager, address: UInt64, target: UInt64, count: Int, requeue: Int, expected: UInt32?) throws(Errno) -> Int {
        let k1 = try key(mm: mm, address: address), k2 = try key(mm: mm, address: target)
        let (woken, moved): ([Waiter], Int) = try lock.withLock { () throws(Errno) -> ([Waiter], Int) in
            if let expected {
                let v: UInt32 = try mm.read(address, as: UInt32.self)
                guard v == expected else { throw Errno.EAGAIN }
            }
            guard var q = queues[k1] else { return ([], 0) }
            let wake = Array(q.prefix(count)); q.removeFirst(wake.count)
            let move = Array(q.prefix(requeue)); q.removeFirst(move.count)
            queues[k1] = q.isEmpty ? nil : q
            if !move.isEmpty { queues[k2, default: []].append(contentsOf: move) }
            return (wake.map(\.0), move.count)
        }
        for w in woken { w.notify() }
        return woken.count + moved
    }

    /// A dying thread's robust futexes (set_robust_list): each lock word it still owns gets FUTEX_OWNER_DIED
    /// and one waiter is woken, so pthread robust mutexes report EOWNERDEAD instead of hanging.
    func releaseRobustList(task: Task) {
        let head = task.robustList
        let mm = task.mm
        guard let first: UInt64 = try? mm.read(head, as: UInt64.self),
              let offset: Int64 = try? mm.read(head + 8, as: Int64.self),
              let pending: UInt64 = try? mm.read(head + 16, as: UInt64.self) else { return }
        let ownerDied: UInt32 = 0x4000_0000, waiters: UInt32 = 0x8000_0000, tidMask: UInt32 = 0x3fff_ffff
        func release(_ entry: UInt64) {
            let word = (entry & ~1) &+ UInt64(bitPattern: offset)  // bit 0 marks PI entries
            guard let value: UInt32 = try? mm.read(word, as: UInt32.self), value & tidMask == UInt32(bitPattern: task.tid) else { return }
            try? mm.write(word, (value & waiters) | ownerDied)
            if value & waiters != 0 { wake(mm: mm, address: word, count: 1) }
        }
        var entry = first
        var count = 0
        // The list is the app's memory: bounded, and a cycle or bad pointer just ends the walk.
        while entry != head && entry != 0 && count < 2048 {
            let next: UInt64? = try? mm.read(entry & ~1, as: UInt64.self)
            if entry != pending { release(entry) }
            guard let n = next else { break }
            entry = n
            count += 1
        }
        if pending != 0 { release(pending) }
    }

    // MARK: Priority-inheritance futexes

    static let waitersBit: UInt32 = 0x8000_0000, ownerDiedBit: UInt32 = 0x4000_0000, tidMask: UInt32 = 0x3fff_ffff

    /// A pointer to the futex word for an atomic update by the Sentry (copy-on-write is broken first).
    private func wordPointer(_ task: Task, _ address: UInt64) throws(Errno) -> UnsafeMutablePointer<UInt32> {
        guard address & 3 == 0 else { throw Errno.EINVAL }
        let segs = try task.mm.segments(address, 4, write: true)
        guard segs.count == 1, segs[0].count == 4 else { throw Errno.EFAULT }
        return segs[0].baseAddress!.assumingMemoryBound(to: UInt32.self)
    }

    /// FUTEX_LOCK_PI / FUTEX_TRYLOCK_PI: takes the lock word for the caller (its tid), waiting for the owner
    /// to hand it over with FUTEX_UNLOCK_PI. A dead owner's lock is taken with FUTEX_OWNER_DIED set.
    /// (Priority inheritance itself has no meaning in the Sentry: its host threads are not prioritised.)
    func lockPI(task: Task, address: UInt64, tryOnly: Bool, deadline: UInt64?) throws(Errno) {
        let word = try wordPointer(task, address)
        let key = try self.key(mm: task.mm, address: address)
        let me = UInt32(bitPattern: task.tid)
        while true {
            let value = word.pointee
            let owner = value & FutexTable.tidMask
            if owner == 0 {
                // Free (possibly with OWNER_DIED left by a dead owner): take it, keeping the waiters bit.
                let desired = me | (value & (FutexTable.waitersBit | FutexTable.ownerDiedBit))
                if clinux_cas_u32(word, value, desired) == value { return }
                continue
            }
            if owner == me { throw Errno.EDEADLK }
            if task.kernel.task(Int32(bitPattern: owner)) == nil {
                // The owner is gone without unlocking: take over and say so.
                let desired = me | FutexTable.ownerDiedBit | (value & FutexTable.waitersBit)
                if clinux_cas_u32(word, value, desired) == value { return }
                continue
            }
            if tryOnly { throw Errno.EAGAIN }
            // Mark that a waiter exists, so the owner's unlock comes to the Sentry.
            if value & FutexTable.waitersBit == 0 && clinux_cas_u32(word, value, value | FutexTable.waitersBit) != value { continue }
            let w = task.waiter
            lock.withLock { w.reset(); queues[key, default: []].append((w, UInt32.max)) }
            defer { lock.withLock { queues[key]?.removeAll { $0.0 === w }; if queues[key]?.isEmpty == true { queues[key] = nil } } }
            // Sleep until handed the lock, the owner dies (re-checked on each wake-up), a signal or the deadline.
            while true {
                if word.pointee & FutexTable.tidMask == me { return }
                if task.kernel.task(Int32(bitPattern: word.pointee & FutexTable.tidMask)) == nil { break }
                if task.hasDeliverableSignal() { throw Errno.ERESTARTNOINTR }
                if let deadline, monotonicNanoseconds() >= deadline { throw Errno.ETIMEDOUT }
                let slice = monotonicNanoseconds() + 50_000_000
                w.wait(deadline: deadline.map { min($0, slice) } ?? slice)
            }
        }
    }

    /// FUTEX_UNLOCK_PI: hands the lock to the first waiter (its tid in the word) or frees it.
    func unlockPI(task: Task, address: UInt64) throws(Errno) {
        let word = try wordPointer(task, address)
        let key = try self.key(mm: task.mm, address: address)
        let me = UInt32(bitPattern: task.tid)
        while true {
            let value = word.pointee
            guard value & FutexTable.tidMask == me else { throw Errno.EPERM }
            let next: (Waiter, Int32)? = lock.withLock {
                guard let q = queues[key], let first = q.first else { return nil }
                guard let tid = task.kernel.taskID(of: first.0) else { return nil }
                return (first.0, tid)
            }
            let more = lock.withLock { (queues[key]?.count ?? 0) > 1 }
            let desired: UInt32 = next.map { UInt32(bitPattern: $0.1) | (more ? FutexTable.waitersBit : 0) } ?? 0
            if clinux_cas_u32(word, value, desired) == value {
                next?.0.notify()
                return
            }
        }
    }
}
