// The one mechanism that fires the Sentry's timers (interval timers, alarm, POSIX timers): a kernel timer
// thread sleeping on a deadline heap. It exists only while some timer is armed, so a sandbox without timers
// pays nothing; expiring a timer only queues a signal, so no task thread ever waits on it.
//
// Lock order: a task's locks and the kernel's task lock may be held when calling into the service; the
// service never calls out (expire actions, CPU clock samples) while holding its own lock.
import Glibc
import LinuxABI

/// The clock a timer runs on.
enum TimerClock {
    /// Host monotonic nanoseconds: REALTIME, MONOTONIC and BOOTTIME targets are converted when the timer is set
    /// (the sandbox cannot set its clocks, so the conversion stays true).
    case wall
    /// A CPU-time clock; `which` is CPUCLOCK_PROF, VIRT or SCHED. Sampled: the thread wakes up when the clock
    /// can have reached the target at the earliest (it advances at most `hostCPUs` times as fast as wall time).
    case cpu(CPUClockSource)
}

/// A weakly held CPU clock: a timer must not keep its process alive.
struct CPUClockSource {
    weak var group: ThreadGroup?
    weak var task: Task?
    let which: Int32
    weak var kernel: Kernel?

    init(_ target: CPUClockTarget, which: Int32, kernel: Kernel) {
        switch target {
        case .process(let g): group = g
        case .thread(let t): task = t
        }
        self.which = which
        self.kernel = kernel
    }

    /// The clock's reading, or nil once the process or thread (or the whole sandbox) is gone.
    func now() -> UInt64? {
        guard let kernel else { return nil }
        if let g = group { return kernel.processCPUTime(g).reading(which) }
        if let t = task { return t.cpuClock.sample().reading(which) }
        return nil
    }
}

/// One timer: a target and an interval on its clock, and what to do when it expires.
final class KernelTimer: @unchecked Sendable {
    let clock: TimerClock
    /// SIGEV_NONE timers are never woken for: their expirations are computed when they are read.
    let passive: Bool
    /// Called on the timer thread with the number of expirations since the last call (more than one when
    /// the thread ran late or the interval is shorter than it can wake).
    let expire: (UInt64) -> Void

    // Guarded by the TimerService's lock.
    /// Absolute expiry on `clock` (host monotonic nanoseconds for wall clocks); 0 when disarmed.
    fileprivate(set) var target: UInt64 = 0
    fileprivate(set) var interval: UInt64 = 0
    fileprivate var generation: UInt64 = 0

    init(clock: TimerClock, passive: Bool = false, expire: @escaping (UInt64) -> Void) {
        self.clock = clock
        self.passive = passive
        self.expire = expire
    }

    /// The current reading of the timer's clock (nil: its CPU clock's owner is gone).
    func now() -> UInt64? {
        switch clock {
        case .wall: return monotonicNanoseconds()
        case .cpu(let source): return source.now()
        }
    }
}

final class TimerService: @unchecked Sendable {
    private struct Entry {
        var wakeAt: UInt64
        var generation: UInt64
        var timer: KernelTimer
    }

    private let lock = Lock()
    /// A binary min-heap on `wakeAt`. Entries of re-armed or disarmed timers stay until they surface and are
    /// skipped (their generation no longer matches).
    private var heap: [Entry] = []
    private var armed = 0
    private var threadRunning = false
    private let wakeup = Waiter()
    /// The timer thread never wakes more often than this for one timer; shorter intervals count overruns.
    static let minimumWakeInterval: UInt64 = 100_000
    private static let hostCPUs = UInt64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Arms `timer` to expire at `target` on its clock, then every `interval` nanoseconds (0: once); a
    /// `target` of 0 disarms it. `now` is the clock's current reading. Returns the previous setting.
    @discardableResult
    func set(_ timer: KernelTimer, target: UInt64, interval: UInt64, now: UInt64) -> (remaining: UInt64, interval: UInt64) {
        lock.withLock {
            let old = settingLocked(timer, now: now)
            if timer.target != 0 { armed -= 1 }
            timer.generation &+= 1
            timer.target = target
            timer.interval = target == 0 ? 0 : interval
            if target != 0 {
                armed += 1
                if !timer.passive { pushLocked(timer, wakeAt: wakeTime(timer, now: now)) }
            } else if armed == 0 {
                heap.removeAll()
                wakeup.notify()  // lets an idle thread end now rather than at a stale deadline
            }
            return old
        }
    }

    func disarm(_ timer: KernelTimer) {
        lock.withLock {
            guard timer.target != 0 else { return }
            timer.generation &+= 1
            timer.target = 0; timer.interval = 0
            armed -= 1
            if armed == 0 { heap.removeAll(); wakeup.notify() }
        }
    }

    /// The time left until the next expiry and the interval; `now` is the clock's current reading.
    func get(_ timer: KernelTimer, now: UInt64) -> (remaining: UInt64, interval: UInt64) {
        lock.withLock { settingLocked(timer, now: now) }
    }

    private func settingLocked(_ timer: KernelTimer, now: UInt64) -> (remaining: UInt64, interval: UInt64) {
        if timer.passive && timer.target != 0 && now >= timer.target { _ = advanceLocked(timer, now: now) }
        guard timer.target != 0 else { return (0, 0) }
        // An armed timer whose expiry is being processed still reads as armed.
        return (timer.target > now ? timer.target - now : 1, timer.interval)
    }

    /// Moves an expired timer past `now`: returns the number of expirations; disarms a one-shot timer.
    private func advanceLocked(_ timer: KernelTimer, now: UInt64) -> UInt64 {
        guard timer.target != 0, now >= timer.target else { return 0 }
        guard timer.interval > 0 else {
            timer.target = 0; timer.generation &+= 1; armed -= 1
            return 1
        }
        let n = (now - timer.target) / timer.interval + 1
        let (step, o1) = n.multipliedReportingOverflow(by: timer.interval)
        let (next, o2) = timer.target.addingReportingOverflow(step)
        if o1 || o2 { timer.target = 0; timer.interval = 0; timer.generation &+= 1; armed -= 1 } else { timer.target = next }
        return n
    }

    /// When the thread should look at `timer` next (host monotonic nanoseconds).
    private func wakeTime(_ timer: KernelTimer, now: UInt64) -> UInt64 {
        let hostNow = monotonicNanoseconds()
        switch timer.clock {
        case .wall: return timer.target
        case .cpu:
            let left = timer.target > now ? timer.target - now : 0
            return hostNow &+ max(TimerService.minimumWakeInterval, left / TimerService.hostCPUs)
        }
    }

    // MARK: The heap

    private func pushLocked(_ timer: KernelTimer, wakeAt: UInt64) {
        heap.append(Entry(wakeAt: wakeAt, generation: timer.generation, timer: timer))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].wakeAt <= heap[i].wakeAt { break }
            heap.swapAt(parent, i); i = parent
        }
        if i == 0 { wakeup.notify() }  // a new earliest deadline
        if !threadRunning { startThread() }
    }

    private func popLocked() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && heap[l].wakeAt < heap[m].wakeAt { m = l }
                if r < heap.count && heap[r].wakeAt < heap[m].wakeAt { m = r }
                if m == i { break }
                heap.swapAt(i, m); i = m
            }
        }
        return top
    }

    // MARK: The thread

    private func startThread() {
        threadRunning = true
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setstacksize(&attr, 256 << 10)
        let r = pthread_create(&thread, &attr, { arg in
            let service = Unmanaged<TimerService>.fromOpaque(arg!).takeRetainedValue()
            service.run()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attr)
        if r == 0 { pthread_detach(thread) } else { box.release(); threadRunning = false }
    }

    private func run() {
        while true {
            var due: [Entry] = []
            var sleepUntil: UInt64?
            lock.lock()
            let hostNow = monotonicNanoseconds()
            while let top = heap.first, top.wakeAt <= hostNow {
                let e = popLocked()
                if e.generation == e.timer.generation && e.timer.target != 0 { due.append(e) }
            }
            if due.isEmpty && (heap.isEmpty || armed == 0) {
                heap.removeAll()
                threadRunning = false
                lock.unlock()
                return
            }
            sleepUntil = heap.first?.wakeAt
            lock.unlock()
            for e in due { expire(e) }
            if due.isEmpty { wakeup.wait(deadline: sleepUntil) }
        }
    }

    /// Looks at one due timer: fires it if its clock has reached the target, and schedules its next look.
    private func expire(_ e: Entry) {
        let timer = e.timer
        let now = timer.now()  // sampled without the lock: CPU clocks take task locks
        let fired: UInt64 = lock.withLock {
            guard e.generation == timer.generation, timer.target != 0 else { return 0 }
            guard let now else {  // the clock's process is gone
                timer.target = 0; timer.interval = 0; timer.generation &+= 1; armed -= 1
                return 0
            }
            let n = advanceLocked(timer, now: now)
            if timer.target != 0 {
                var wake = wakeTime(timer, now: now)
                // A periodic wall timer never makes the thread spin: very short intervals become overruns.
                if case .wall = timer.clock { wake = max(wake, monotonicNanoseconds() &+ TimerService.minimumWakeInterval) }
                pushLocked(timer, wakeAt: wake)
            }
            return n
        }
        if fired > 0 { timer.expire(fired) }
    }
}
