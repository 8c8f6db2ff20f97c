// futex(2): wait queues keyed by the MemoryFile offset of the futex word, so private and shared
// mappings of the same memory meet at the same key.
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
}
