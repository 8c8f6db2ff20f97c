// Host-thread synchronization for the Sentry: a plain lock and a per-task waiter that blocking syscalls
// sleep on. Built on pthreads because Sentry tasks are host threads, not Swift concurrency tasks.
import Glibc
import LinuxABI

/// A non-recursive mutual-exclusion lock.
final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    @inline(__always) func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock(); defer { unlock() }
        return try body()
    }
}

/// One task's sleep/wake point. `notify()` before `wait()` is remembered, so a wake-up between checking a
/// condition and going to sleep is never lost.
final class Waiter: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var notified = false

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }
    deinit {
        pthread_cond_destroy(cond); pthread_mutex_destroy(mutex)
        cond.deallocate(); mutex.deallocate()
    }

    func notify() {
        pthread_mutex_lock(mutex)
        notified = true
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Sleeps until notified or until the monotonic `deadline` (nanoseconds) passes. Returns false on timeout.
    @discardableResult
    func wait(deadline: UInt64? = nil) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !notified {
            if let deadline {
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                if pthread_cond_timedwait(cond, mutex, &ts) == ETIMEDOUT && !notified { return false }
            } else {
                pthread_cond_wait(cond, mutex)
            }
        }
        notified = false
        return true
    }

    /// Forgets a pending notification.
    func reset() {
        pthread_mutex_lock(mutex); notified = false; pthread_mutex_unlock(mutex)
    }
}

/// A set of waiters interested in one object's state (a pipe becoming readable, a child exiting, ...).
final class WaitQueue: @unchecked Sendable {
    private let lock = Lock()
    private var waiters: [ObjectIdentifier: Waiter] = [:]

    init() {}

    func add(_ w: Waiter) { lock.withLock { waiters[ObjectIdentifier(w)] = w } }
    func remove(_ w: Waiter) { lock.withLock { _ = waiters.removeValue(forKey: ObjectIdentifier(w)) } }
    func notifyAll() {
        let all = lock.withLock { Array(waiters.values) }
        for w in all { w.notify() }
    }
}

/// Monotonic time in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

extension Array where Element == UInt8 {
    /// `withUnsafeMutableBytes` for bodies that throw an Errno (the stdlib's version is untyped `rethrows`).
    mutating func withMutableBytes<T>(_ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> T) throws(Errno) -> T {
        var result: Result<T, Errno>?
        withUnsafeMutableBytes { b in result = Result { () throws(Errno) -> T in try body(b) } }
        return try result!.get()
    }

    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws(Errno) -> T) throws(Errno) -> T {
        var result: Result<T, Errno>?
        withUnsafeBytes { b in result = Result { () throws(Errno) -> T in try body(b) } }
        return try result!.get()
    }
}
