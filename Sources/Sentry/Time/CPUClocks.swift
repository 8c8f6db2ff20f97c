// CPU time of tasks and processes. App code runs in the platform's address spaces (one ptrace stub per task),
// so the host measures it; the Sentry's own work on a task's syscalls runs on the task's host thread and is
// counted as the task's system time, as a kernel counts its syscall work.
import Glibc
import LinuxABI
import Platform

/// User and system CPU time in nanoseconds.
struct CPUTimes: Equatable {
    var user: UInt64 = 0
    var system: UInt64 = 0
    var total: UInt64 { user &+ system }

    static func + (a: CPUTimes, b: CPUTimes) -> CPUTimes { CPUTimes(user: a.user &+ b.user, system: a.system &+ b.system) }
    static func += (a: inout CPUTimes, b: CPUTimes) { a = a + b }

    /// The value a CPU clock of kind `which` (CPUCLOCK_PROF/VIRT/SCHED) reads.
    func reading(_ which: Int32) -> UInt64 { which == CPUClockABI.CPUCLOCK_VIRT ? user : total }
}

/// The CPU time of one task: its current platform address space, the ones it had before execve, and its
/// Sentry host thread.
final class TaskCPUClock: @unchecked Sendable {
    private let lock = Lock()
    private var space: AddressSpace?
    /// Totals of address spaces replaced by execve (their final readings).
    private var retired = CPUTimes()
    /// The CPU clock of the task's host thread (valid while that thread lives).
    private var hostThreadClock: clockid_t?
    /// Set once the task has exited: the reading never changes again.
    private var frozen: CPUTimes?

    /// Called on the task's host thread whenever the task gets a new address space (start, execve).
    func attach(_ newSpace: AddressSpace) {
        lock.withLock {
            if let old = space, old !== newSpace, let t = old.cpuTime() {
                retired += CPUTimes(user: t.user, system: t.system)
            }
            space = newSpace
            if hostThreadClock == nil {
                var c = clockid_t()
                if pthread_getcpuclockid(pthread_self(), &c) == 0 { hostThreadClock = c }
            }
        }
    }

    var isFrozen: Bool { lock.withLock { frozen != nil } }

    func sample() -> CPUTimes { lock.withLock { frozen ?? liveSample() } }

    /// Takes the final reading. Called on the task's host thread as it exits, while its clock is still valid.
    func freeze() -> CPUTimes {
        lock.withLock {
            if let f = frozen { return f }
            let v = liveSample()
            frozen = v
            space = nil
            hostThreadClock = nil
            return v
        }
    }

    private func liveSample() -> CPUTimes {
        var t = retired
        if let s = space?.cpuTime() { t += CPUTimes(user: s.user, system: s.system) }
        if let c = hostThreadClock {
            var ts = timespec()
            if clock_gettime(c, &ts) == 0 { t.system &+= UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec) }
        }
        return t
    }
}

/// Whose CPU time a CPU clock measures.
enum CPUClockTarget {
    case process(ThreadGroup)
    case thread(Task)
}

extension Kernel {
    /// CPU time of a process: its live threads plus the threads that have exited. Consistent with
    /// `taskWillExit`, which moves a thread's time from the first sum to the second under the same lock.
    func processCPUTime(_ g: ThreadGroup) -> CPUTimes {
        let tasks = taskLock.withLock { g.tasks }
        return g.accounting.lock.withLock {
            var t = g.accounting.exitedThreads
            for task in tasks where !task.cpuClock.isFrozen { t += task.cpuClock.sample() }
            return t
        }
    }

    func cpuTime(_ target: CPUClockTarget) -> CPUTimes {
        switch target {
        case .process(let g): return processCPUTime(g)
        case .thread(let t): return t.cpuClock.sample()
        }
    }

    /// Resolves a CPU-time clock id: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, or the encodings of
    /// clock_getcpuclockid/pthread_getcpuclockid, `(~pid << 3) | perThread << 2 | which`. nil for other clocks.
    /// A thread clock must name a thread of the caller's process; a process clock a process (EINVAL otherwise).
    func resolveCPUClock(_ task: Task, _ clock: Int32) throws(Errno) -> (CPUClockTarget, Int32)? {
        if clock == ClockIDs.CLOCK_PROCESS_CPUTIME_ID { return (.process(task.threadGroup), CPUClockABI.CPUCLOCK_SCHED) }
        if clock == ClockIDs.CLOCK_THREAD_CPUTIME_ID { return (.thread(task), CPUClockABI.CPUCLOCK_SCHED) }
        guard clock < 0 else { return nil }
        let which = clock & CPUClockABI.whichMask
        guard which != CPUClockABI.CLOCKFD else { throw Errno.EINVAL }  // file-descriptor clocks: none here
        let pid = ~(clock >> 3)
        if clock & CPUClockABI.perThreadMask != 0 {
            if pid == 0 { return (.thread(task), which) }
            guard let t = self.task(pid), t.threadGroup === task.threadGroup else { throw Errno.EINVAL }
            return (.thread(t), which)
        }
        if pid == 0 || pid == task.threadGroup.pid { return (.process(task.threadGroup), which) }
        guard let g = group(pid) else { throw Errno.EINVAL }
        return (.process(g), which)
    }

    /// clock_gettime of a CPU-time clock, or nil if `clock` is not one.
    func cpuClockNanoseconds(_ task: Task, _ clock: Int32) throws(Errno) -> Int64? {
        guard let (target, which) = try resolveCPUClock(task, clock) else { return nil }
        return Int64(clamping: cpuTime(target).reading(which))
    }

    // MARK: Exit and reaping

    /// Called on an exiting task's host thread before the kernel unlinks it: moves its CPU time to the
    /// process's exited-thread total and, when it is the process's last thread, ends the process's timers,
    /// applies its semaphore undo adjustments and drops its message-queue registrations.
    func taskWillExit(_ task: Task) {
        let g = task.threadGroup
        let others = taskLock.withLock { g.tasks.filter { $0 !== task } }
        let last = g.accounting.lock.withLock { () -> Bool in
            g.accounting.exitedThreads += task.cpuClock.freeze()
            guard !g.accounting.ended, others.allSatisfy({ $0.cpuClock.isFrozen }) else { return false }
            g.accounting.ended = true
            return true
        }
        if last { processEnded(g) }
    }

    /// Adds a reaped child's CPU time (its own and its reaped descendants') to its parent's children total;
    /// returns the child's struct rusage for wait4. Call it once per child, when it is reaped.
    func accountReapedChild(_ child: ThreadGroup, parent: ThreadGroup) -> [UInt8] {
        let childTotal = child.accounting.lock.withLock { child.accounting.exitedThreads + child.accounting.reapedChildren }
        parent.accounting.lock.withLock { parent.accounting.reapedChildren += childTotal }
        return Kernel.encodeRusage(childTotal)
    }

    /// struct rusage with ru_utime (@0) and ru_stime (@16) filled in.
    static func encodeRusage(_ t: CPUTimes) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: RusageABI.size)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: Int64(t.user / 1_000_000_000), toByteOffset: 0, as: Int64.self)
            p.storeBytes(of: Int64(t.user % 1_000_000_000 / 1000), toByteOffset: 8, as: Int64.self)
            p.storeBytes(of: Int64(t.system / 1_000_000_000), toByteOffset: 16, as: Int64.self)
            p.storeBytes(of: Int64(t.system % 1_000_000_000 / 1000), toByteOffset: 24, as: Int64.self)
        }
        return b
    }

    /// getrusage(2).
    func rusage(_ task: Task, who: Int32) throws(Errno) -> [UInt8] {
        switch who {
        case RusageABI.RUSAGE_SELF: return Kernel.encodeRusage(processCPUTime(task.threadGroup))
        case RusageABI.RUSAGE_CHILDREN:
            let g = task.threadGroup
            return Kernel.encodeRusage(g.accounting.lock.withLock { g.accounting.reapedChildren })
        case RusageABI.RUSAGE_THREAD: return Kernel.encodeRusage(task.cpuClock.sample())
        default: throw Errno.EINVAL
        }
    }

    /// utime, stime, cutime, cstime in clock ticks: fields 14-17 of /proc/[pid]/stat.
    func procStatCPUTicks(_ g: ThreadGroup) -> [String] {
        let own = processCPUTime(g)
        let children = g.accounting.lock.withLock { g.accounting.reapedChildren }
        let tick = UInt64(1_000_000_000 / RusageABI.ticksPerSecond)
        return [own.user, own.system, children.user, children.system].map { String($0 / tick) }
    }

    /// times(2): struct tms in clock ticks.
    func tms(_ task: Task) -> [UInt8] {
        let g = task.threadGroup
        let own = processCPUTime(g)
        let children = g.accounting.lock.withLock { g.accounting.reapedChildren }
        let tick = UInt64(1_000_000_000 / RusageABI.ticksPerSecond)
        var b = [UInt8](repeating: 0, count: 32)
        b.withUnsafeMutableBytes { p in
            for (i, v) in [own.user, own.system, children.user, children.system].enumerated() {
                p.storeBytes(of: Int64(v / tick), toByteOffset: i * 8, as: Int64.self)
            }
        }
        return b
    }
}
