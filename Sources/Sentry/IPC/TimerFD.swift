// timerfd_create(2): a timer whose expirations are read as a u64 count. Expirations are computed from the
// clock when the file is read or polled; a single Sentry timer thread notifies pollers when one is due.
import Glibc
import LinuxABI

/// Nanoseconds of one of the clocks a timerfd may use.
func clockNanoseconds(_ clock: Int32) -> UInt64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return UInt64(max(0, ts.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, ts.tv_nsec))
}

final class TimerFileDescription: FileDescription, @unchecked Sendable {
    /// The host clock behind the app's clock id (alarm clocks tick like their plain versions).
    let hostClock: Int32
    /// Next expiration in `hostClock` nanoseconds; nil when disarmed.
    private var deadline: UInt64?
    private var interval: UInt64 = 0
    /// Expirations not read yet.
    private var expirations: UInt64 = 0
    private let queue = ReadinessQueue()
    let number = Inode.allocateNumber()

    init(clock: Int32, flags: Int) {
        switch clock {
        case ClockIDs.CLOCK_REALTIME, ClockIDs.CLOCK_REALTIME_ALARM: hostClock = CLOCK_REALTIME
        case ClockIDs.CLOCK_BOOTTIME, ClockIDs.CLOCK_BOOTTIME_ALARM: hostClock = CLOCK_BOOTTIME
        default: hostClock = CLOCK_MONOTONIC
        }
        super.init(flags: OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK), dentry: nil)
    }

    override var readinessQueue: ReadinessQueue { queue }

    /// Folds expirations that have happened into `expirations`. Call with `lock` held.
    private func advance(now: UInt64) {
        guard let d = deadline, now >= d else { return }
        if interval > 0 {
            let n = (now - d) / interval + 1
            expirations = expirations &+ n
            deadline = d &+ n &* interval
        } else {
            expirations = expirations &+ 1
            deadline = nil
        }
    }

    /// (value, interval) in nanoseconds as timerfd_gettime reports them: the time left, 0 when disarmed.
    func current() -> (UInt64, UInt64) {
        lock.withLock {
            let now = clockNanoseconds(hostClock)
            advance(now: now)
            guard let d = deadline else { return (0, interval) }
            return (max(1, d &- now), interval)
        }
    }

    /// Arms (value > 0) or disarms the timer; returns the old setting like `current()`.
    func set(value: UInt64, interval newInterval: UInt64, absolute: Bool) -> (UInt64, UInt64) {
        let old = current()
        let due: UInt64? = lock.withLock {
            let now = clockNanoseconds(hostClock)
            expirations = 0
            interval = newInterval
            if value == 0 { deadline = nil } else { deadline = absolute ? value : now &+ value }
            return deadline.map { hostClockToMonotonic($0, now: now) }
        }
        if let due { SentryTimerThread.shared.schedule(self, at: due) } else { SentryTimerThread.shared.cancel(self) }
        queue.notify()
        return old
    }

    /// The monotonic time at which `deadline` (in `hostClock`) should be reached.
    private func hostClockToMonotonic(_ d: UInt64, now: UInt64) -> UInt64 {
        let mono = monotonicNanoseconds()
        return d <= now ? mono : mono &+ (d - now)
    }

    /// Called by the timer thread when the timer may have expired: wakes pollers and plans the next tick.
    func timerDue() {
        let next: UInt64? = lock.withLock {
            let now = clockNanoseconds(hostClock)
            advance(now: now)
            // A realtime clock set backwards, or the next interval tick: come back at the new deadline.
            return deadline.map { hostClockToMonotonic($0, now: now) }
        }
        if let next { SentryTimerThread.shared.schedule(self, at: next) }
        queue.notify(PollEvents.POLLIN)
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard buffers.reduce(0, { $0 + $1.count }) >= 8 else { throw Errno.EINVAL }
        var value: UInt64 = 0
        while true {
            var wakeAt: UInt64?
            let got = try lock.withLock { () throws(Errno) -> Bool in
                let now = clockNanoseconds(hostClock)
                advance(now: now)
                if expirations > 0 { value = expirations; expirations = 0; return true }
                if nonBlocking { throw Errno.EAGAIN }
                wakeAt = deadline.map { hostClockToMonotonic($0, now: now) }
                return false
            }
            if got { break }
            do {
                // Sleep until the deadline (re-checked: a settime may move it) or a notification.
                try task.block(on: [queue.waiters], deadline: wakeAt) { () -> Bool in
                    lock.withLock { advance(now: clockNanoseconds(hostClock)); return expirations > 0 }
                }
            } catch {
                if error != .ETIMEDOUT { throw error }
            }
        }
        copyToBuffers(value, buffers)
        return 8
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }

    override func pollEvents(task: Task?) -> UInt32 {
        lock.withLock {
            advance(now: clockNanoseconds(hostClock))
            return expirations > 0 ? PollEvents.POLLIN | PollEvents.POLLRDNORM : 0
        }
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0d, inode: number, mode: 0o600, nlink: 1, blockSize: 4096)
    }

    override func release() {
        SentryTimerThread.shared.cancel(self)
        queue.notifyReleased(self)
    }
}

/// One host thread for the whole Sentry process that sleeps until the earliest armed timerfd is due and
/// tells it so. Timers are held weakly: a timer whose file is gone is simply forgotten.
final class SentryTimerThread: @unchecked Sendable {
    static let shared = SentryTimerThread()
    private struct Entry { weak var timer: TimerFileDescription?; var due: UInt64 }
    private let lock = Lock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var started = false
    private let waiter = Waiter()

    func schedule(_ t: TimerFileDescription, at due: UInt64) {
        let start = lock.withLock { () -> Bool in
            entries[ObjectIdentifier(t)] = Entry(timer: t, due: due)
            defer { started = true }
            return !started
        }
        if start { startThread() }
        waiter.notify()
    }

    func cancel(_ t: TimerFileDescription) {
        lock.withLock { _ = entries.removeValue(forKey: ObjectIdentifier(t)) }
    }

    private func startThread() {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let r = pthread_create(&thread, nil, { arg in
            Unmanaged<SentryTimerThread>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        if r == 0 { pthread_detach(thread) } else { box.release(); lock.withLock { started = false } }
    }

    private func run() {
        while true {
            let now = monotonicNanoseconds()
            let (due, next): ([TimerFileDescription], UInt64?) = lock.withLock {
                var fire: [TimerFileDescription] = []
                var next: UInt64?
                for (k, e) in entries {
                    guard let t = e.timer else { entries.removeValue(forKey: k); continue }
                    if e.due <= now { fire.append(t); entries.removeValue(forKey: k) } else { next = min(next ?? e.due, e.due) }
                }
                return (fire, next)
            }
            for t in due { t.timerDue() }
            if due.isEmpty { waiter.wait(deadline: next) }
        }
    }
}
