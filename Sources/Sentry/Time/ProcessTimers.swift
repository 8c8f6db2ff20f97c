// Per-process time state: CPU time of exited threads and reaped children, the three interval timers
// (setitimer/alarm) and POSIX timers (timer_create). Timers are KernelTimers fired by the TimerService;
// they end with their process, and POSIX timers also with execve.
import LinuxABI

/// A process's CPU-time totals and timers (one per ThreadGroup; a forked child starts with none).
final class ProcessAccounting: @unchecked Sendable {
    let lock = Lock()
    // Guarded by `lock`.
    var exitedThreads = CPUTimes()
    var reapedChildren = CPUTimes()
    /// Set when the process's last thread has exited: no new timers after that.
    var ended = false
    /// ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF, created on first use.
    var intervalTimers: [KernelTimer?] = [nil, nil, nil]
    var posixTimers: [Int32: PosixTimer] = [:]
    var nextTimerID: Int32 = 0
    /// How many POSIX timers one process may have (Linux bounds them by RLIMIT_SIGPENDING).
    static let maxPosixTimers = 4096
}

/// A timer_create timer.
final class PosixTimer: @unchecked Sendable {
    let id: Int32
    let clockID: Int32
    let notify: Int32
    let signal: Int32
    let value: UInt64
    weak var group: ThreadGroup?
    /// The thread a SIGEV_THREAD_ID timer signals.
    weak var thread: Task?
    var timer: KernelTimer?
    // Guarded by the kernel's task lock (they describe the timer's signal in the pending queues).
    /// Whether this timer's signal was queued and may still be pending.
    var queued = false
    /// The si_overrun the queued signal carries.
    var queuedOverrun: Int32 = 0
    /// The overrun count of the last delivered expiration (timer_getoverrun).
    var lastOverrun: Int32 = 0

    init(id: Int32, clockID: Int32, notify: Int32, signal: Int32, value: UInt64, group: ThreadGroup, thread: Task?) {
        self.id = id; self.clockID = clockID; self.notify = notify; self.signal = signal; self.value = value
        self.group = group; self.thread = thread
    }
}

extension Kernel {
    // MARK: Clocks of timers

    /// The timer clock for a clock id, and that clock's current reading in the timer's terms.
    func timerClock(_ task: Task, _ clockID: Int32) throws(Errno) -> TimerClock {
        if let (target, which) = try resolveCPUClock(task, clockID) {
            return .cpu(CPUClockSource(target, which: which, kernel: self))
        }
        switch clockID {
        case ClockIDs.CLOCK_REALTIME, ClockIDs.CLOCK_MONOTONIC, ClockIDs.CLOCK_BOOTTIME, ClockIDs.CLOCK_TAI,
             ClockIDs.CLOCK_REALTIME_ALARM, ClockIDs.CLOCK_BOOTTIME_ALARM:
            return .wall
        case ClockIDs.CLOCK_MONOTONIC_RAW, ClockIDs.CLOCK_REALTIME_COARSE, ClockIDs.CLOCK_MONOTONIC_COARSE:
            throw Errno.EOPNOTSUPP  // Linux has no timers on these clocks
        default:
            throw Errno.EINVAL
        }
    }

    /// Converts a timer setting to an absolute target on the timer's clock. `value` is relative unless
    /// `absolute`, in which case it is a reading of `clockID`.
    func timerTarget(_ task: Task, _ timer: KernelTimer, clockID: Int32, value: UInt64, absolute: Bool, now: UInt64) throws(Errno) -> UInt64 {
        if value == 0 { return 0 }
        guard absolute else { return now &+ value }
        switch timer.clock {
        case .cpu: return max(value, 1)
        case .wall:
            let clockNow = UInt64(clamping: try clockNanoseconds(task, clockID))
            // Already past: expire at once.
            return value > clockNow ? now &+ (value - clockNow) : now
        }
    }

    // MARK: Interval timers (setitimer, getitimer, alarm)

    private func intervalTimer(_ g: ThreadGroup, _ which: Int32) -> KernelTimer {
        g.accounting.lock.withLock {
            if let t = g.accounting.intervalTimers[Int(which)] { return t }
            let signal: Signal, clock: TimerClock
            switch which {
            case TimerABI.ITIMER_REAL: signal = .SIGALRM; clock = .wall
            case TimerABI.ITIMER_VIRTUAL:
                signal = .SIGVTALRM; clock = .cpu(CPUClockSource(.process(g), which: CPUClockABI.CPUCLOCK_VIRT, kernel: self))
            default:
                signal = .SIGPROF; clock = .cpu(CPUClockSource(.process(g), which: CPUClockABI.CPUCLOCK_PROF, kernel: self))
            }
            let t = KernelTimer(clock: clock) { [weak self, weak g] _ in
                // Several expirations at once still make one signal, as a legacy signal cannot queue twice.
                guard let self, let g else { return }
                self.sendSignal(to: g, PendingSignal(signal: signal.rawValue, code: SignalCodes.SI_KERNEL))
            }
            g.accounting.intervalTimers[Int(which)] = t
            return t
        }
    }

    /// setitimer(2): arms (or disarms, with a zero value) one of the process's interval timers; returns
    /// the old (value, interval) in nanoseconds.
    func setIntervalTimer(_ task: Task, which: Int32, value: UInt64, interval: UInt64) throws(Errno) -> (UInt64, UInt64) {
        guard which >= TimerABI.ITIMER_REAL && which <= TimerABI.ITIMER_PROF else { throw Errno.EINVAL }
        let timer = intervalTimer(task.threadGroup, which)
        guard let now = timer.now() else { throw Errno.EINVAL }
        let old = timerService.set(timer, target: value == 0 ? 0 : now &+ value, interval: interval, now: now)
        return (old.remaining, old.interval)
    }

    func getIntervalTimer(_ task: Task, which: Int32) throws(Errno) -> (UInt64, UInt64) {
        guard which >= TimerABI.ITIMER_REAL && which <= TimerABI.ITIMER_PROF else { throw Errno.EINVAL }
        let timer = intervalTimer(task.threadGroup, which)
        guard let now = timer.now() else { return (0, 0) }
        let s = timerService.get(timer, now: now)
        return (s.remaining, s.interval)
    }

    // MARK: POSIX timers

    /// timer_create(2): returns the new timer's id. Without a sigevent (`value` nil) the signal carries the
    /// timer's id as its value.
    func createPosixTimer(_ task: Task, clockID: Int32, notify: Int32, signal: Int32, value: UInt64?, threadID: Int32) throws(Errno) -> Int32 {
        let clock = try timerClock(task, clockID)
        let g = task.threadGroup
        var thread: Task?
        switch notify {
        case SigEvent.SIGEV_NONE: break
        case SigEvent.SIGEV_SIGNAL, SigEvent.SIGEV_THREAD_ID:
            guard Signal(signal).isValid else { throw Errno.EINVAL }
            if notify == SigEvent.SIGEV_THREAD_ID {
                guard let t = self.task(threadID), t.threadGroup === g else { throw Errno.EINVAL }
                thread = t
            }
        default: throw Errno.EINVAL  // SIGEV_THREAD is a C library feature built on SIGEV_THREAD_ID
        }
        return try g.accounting.lock.withLock { () throws(Errno) -> Int32 in
            guard !g.accounting.ended else { throw Errno.EAGAIN }
            guard g.accounting.posixTimers.count < ProcessAccounting.maxPosixTimers else { throw Errno.EAGAIN }
            var id = g.accounting.nextTimerID
            while g.accounting.posixTimers[id] != nil { id = id == Int32.max ? 0 : id + 1 }
            g.accounting.nextTimerID = id == Int32.max ? 0 : id + 1
            let pt = PosixTimer(id: id, clockID: clockID, notify: notify, signal: signal,
                                value: value ?? UInt64(UInt32(bitPattern: id)), group: g, thread: thread)
            pt.timer = KernelTimer(clock: clock, passive: notify == SigEvent.SIGEV_NONE) { [weak self, weak pt] n in
                guard let self, let pt else { return }
                self.queueTimerSignal(pt, missed: n - 1)
            }
            g.accounting.posixTimers[id] = pt
            return id
        }
    }

    func posixTimer(_ task: Task, _ id: Int32) throws(Errno) -> PosixTimer {
        let g = task.threadGroup
        guard let pt = g.accounting.lock.withLock({ g.accounting.posixTimers[id] }), pt.timer != nil else { throw Errno.EINVAL }
        return pt
    }

    /// timer_settime(2): returns the old (value, interval).
    func setPosixTimer(_ task: Task, id: Int32, absolute: Bool, value: UInt64, interval: UInt64) throws(Errno) -> (UInt64, UInt64) {
        let pt = try posixTimer(task, id)
        guard let timer = pt.timer, let now = timer.now() else { throw Errno.EINVAL }
        let target = try timerTarget(task, timer, clockID: pt.clockID, value: value, absolute: absolute, now: now)
        let old = timerService.set(timer, target: target, interval: interval, now: now)
        // Re-arming starts a new overrun history, as in Linux.
        taskLock.withLock { noteDeliveredLocked(pt); pt.lastOverrun = 0 }
        return (old.remaining, old.interval)
    }

    func getPosixTimer(_ task: Task, id: Int32) throws(Errno) -> (UInt64, UInt64) {
        let pt = try posixTimer(task, id)
        guard let timer = pt.timer, let now = timer.now() else { return (0, 0) }
        let s = timerService.get(timer, now: now)
        return (s.remaining, s.interval)
    }

    /// timer_getoverrun(2): the overrun count of the last delivered expiration.
    func posixTimerOverrun(_ task: Task, id: Int32) throws(Errno) -> Int32 {
        let pt = try posixTimer(task, id)
        return taskLock.withLock {
            noteDeliveredLocked(pt)
            return pt.lastOverrun
        }
    }

    func deletePosixTimer(_ task: Task, id: Int32) throws(Errno) {
        let g = task.threadGroup
        guard let pt = g.accounting.lock.withLock({ g.accounting.posixTimers.removeValue(forKey: id) }) else { throw Errno.EINVAL }
        discard(pt)
    }

    /// Stops a removed timer and takes its signal back out of the pending queues, as timer_delete does.
    private func discard(_ pt: PosixTimer) {
        if let t = pt.timer { timerService.disarm(t) }
        pt.timer = nil
        taskLock.withLock {
            guard pt.queued else { return }
            pt.queued = false
            let mine: (PendingSignal) -> Bool = { $0.code == SignalCodes.SI_TIMER && $0.timerID == pt.id && $0.signal == pt.signal }
            if let t = pt.thread { t.pendingSignals.removeAll(where: mine) }
            pt.group?.pendingSignals.removeAll(where: mine)
        }
    }

    /// If the timer's queued signal is no longer pending, it was delivered with `queuedOverrun`. Caller
    /// holds the task lock.
    private func noteDeliveredLocked(_ pt: PosixTimer) {
        guard pt.queued else { return }
        let mine: (PendingSignal) -> Bool = { $0.code == SignalCodes.SI_TIMER && $0.timerID == pt.id && $0.signal == pt.signal }
        let list = pt.notify == SigEvent.SIGEV_THREAD_ID ? (pt.thread?.pendingSignals ?? []) : (pt.group?.pendingSignals ?? [])
        if !list.contains(where: mine) {
            pt.queued = false
            pt.lastOverrun = pt.queuedOverrun
        }
    }

    /// An expiration of a POSIX timer: queues its signal, or, while the previous one is still pending, counts
    /// an overrun on it instead (so the handler sees si_overrun). Runs on the timer thread.
    func queueTimerSignal(_ pt: PosixTimer, missed: UInt64) {
        guard pt.notify != SigEvent.SIGEV_NONE, let g = pt.group else { return }
        // SIGKILL and the job-control signals have side effects at generation: the kernel's own path.
        if [9, 18, 19, 20, 21, 22].contains(pt.signal) {
            var s = PendingSignal(signal: pt.signal, code: SignalCodes.SI_TIMER)
            s.timerID = pt.id; s.value = pt.value
            if pt.notify == SigEvent.SIGEV_THREAD_ID { pt.thread?.queueSignal(s) } else { sendSignal(to: g, s) }
            return
        }
        let extra = Int32(clamping: missed)
        let wake: Task? = taskLock.withLock { () -> Task? in
            guard g.zombieStatus == nil, pt.timer != nil else { return nil }
            let threadTarget = pt.notify == SigEvent.SIGEV_THREAD_ID ? pt.thread : nil
            if pt.notify == SigEvent.SIGEV_THREAD_ID && (threadTarget == nil || threadTarget!.exitRequested) { return nil }
            func update(_ list: inout [PendingSignal]) -> Task? {
                if pt.queued, let i = list.firstIndex(where: { $0.code == SignalCodes.SI_TIMER && $0.timerID == pt.id && $0.signal == pt.signal }) {
                    let (n, o) = list[i].overrun.addingReportingOverflow(1 &+ extra)
                    list[i].overrun = o || n < 0 ? TimerABI.delayTimerMax : n
                    pt.queuedOverrun = list[i].overrun
                    return nil
                }
                if pt.queued { pt.queued = false; pt.lastOverrun = pt.queuedOverrun }
                // A legacy signal already pending from elsewhere absorbs this one, as in Linux.
                if pt.signal < 32 && list.contains(where: { $0.signal == pt.signal }) { return nil }
                var s = PendingSignal(signal: pt.signal, code: SignalCodes.SI_TIMER)
                s.timerID = pt.id
                s.overrun = max(0, extra)
                s.value = pt.value
                list.append(s)
                pt.queued = true
                pt.queuedOverrun = s.overrun
                return threadTarget ?? g.tasks.first(where: { !$0.signalMask.contains(Signal(pt.signal)) }) ?? g.tasks.first
            }
            if let t = threadTarget { return update(&t.pendingSignals) }
            return update(&g.pendingSignals)
        }
        wake?.wake()
    }

    // MARK: Process life cycle

    /// execve: POSIX timers are deleted; interval timers survive.
    func timersOnExec(_ task: Task) {
        let g = task.threadGroup
        let all = g.accounting.lock.withLock { () -> [PosixTimer] in
            let a = Array(g.accounting.posixTimers.values)
            g.accounting.posixTimers = [:]
            return a
        }
        for pt in all { discard(pt) }
    }

    /// The process's last thread has exited: its timers stop, its semaphore adjustments are undone and its
    /// message-queue notifications are dropped.
    func processEnded(_ g: ThreadGroup) {
        let (posix, interval) = g.accounting.lock.withLock { () -> ([PosixTimer], [KernelTimer]) in
            let p = Array(g.accounting.posixTimers.values)
            g.accounting.posixTimers = [:]
            return (p, g.accounting.intervalTimers.compactMap { $0 })
        }
        for pt in posix { discard(pt) }
        for t in interval { timerService.disarm(t) }
        ipcNamespace.processEnded(g)
    }
}
