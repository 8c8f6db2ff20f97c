// What the control socket changes while the sandbox runs: `runsc pause`/`resume` (a gate every task passes
// before it returns to app code), `runsc update` (the memory and pids limits) and `runsc events` (the
// Sentry's own accounting: CPU time of all tasks, MemoryFile bytes, number of tasks).
import Glibc
import LinuxABI
import Synchronization

/// A resource limit as `runsc update` sets it.
public enum SentryLimit: Sendable, Equatable {
    case unlimited
    case limit(UInt64)
}

/// The sandbox's resource use, as `runsc events` reports it.
public struct SentryResourceUsage: Sendable, Equatable {
    /// CPU time of every task, live or exited (reaped processes count through their parents), in nanoseconds.
    public var cpuUserNanoseconds: UInt64
    public var cpuSystemNanoseconds: UInt64
    /// Bytes of app memory the host holds for the sandbox (the MemoryFile's allocated blocks).
    public var memoryUsage: UInt64
    /// nil when no memory limit is set.
    public var memoryLimit: UInt64?
    /// Allocations refused because of the memory limit so far.
    public var memoryFailures: UInt64
    /// Tasks (threads) that exist now.
    public var tasks: Int
    /// nil when no pids limit is set.
    public var pidsLimit: UInt64?
}

/// Pause state and the pids limit. Lock order: `Kernel.taskLock` may be held when taking `lock`, never the
/// other way round.
final class SandboxControls: @unchecked Sendable {
    private let lock = Lock()
    /// Read by every task on every trip through its run loop: an atomic, not the lock.
    private let paused = Atomic<Bool>(false)
    /// Tasks waiting at the gate now (pause waits, briefly, for the running ones to get there).
    let tasksAtGate = Atomic<Int>(0)
    private var pidsLimit: UInt64?

    var isPaused: Bool { paused.load(ordering: .acquiring) }

    /// Sets the pause state; returns false if it already was `value`.
    func setPaused(_ value: Bool) -> Bool {
        paused.compareExchange(expected: !value, desired: value, ordering: .sequentiallyConsistent).exchanged
    }

    /// Whether one more task may be created when `count` exist.
    func allowsTask(count: Int) -> Bool {
        lock.withLock { pidsLimit.map { UInt64(count) < $0 } ?? true }
    }

    /// nil, 0 or a negative value: no limit (as runc reads `pids.limit`).
    func setPidsLimit(_ value: Int64?) {
        lock.withLock { pidsLimit = value.flatMap { $0 > 0 ? UInt64($0) : nil } }
    }

    func setPidsLimit(_ value: SentryLimit) {
        lock.withLock {
            if case .limit(let n) = value, n > 0 { pidsLimit = n } else { pidsLimit = nil }
        }
    }

    var currentPidsLimit: UInt64? { lock.withLock { pidsLimit } }
}

extension Kernel {
    public var isPaused: Bool { controls.isPaused }

    /// Stops every app task: running ones are interrupted through the platform and wait at the gate in their
    /// run loop; blocked ones stay blocked and wait at the gate if their syscall completes. Timers keep
    /// running (their signals stay pending). Returns false if the sandbox was already paused.
    public func pause() -> Bool {
        guard controls.setPaused(true) else { return false }
        // Tasks created from now on meet the gate before their first instruction.
        let all = taskLock.withLock { groups.values.flatMap { $0.tasks } }
        for t in all { t.context?.interrupt() }
        // Running tasks reach the gate within a few milliseconds; tasks blocked in a syscall never do, so
        // the wait is bounded rather than exact (they cannot return to app code either way).
        let deadline = monotonicNanoseconds() + 100_000_000
        while controls.tasksAtGate.load(ordering: .acquiring) < all.count && monotonicNanoseconds() < deadline {
            usleep(1000)
        }
        return true
    }

    /// Lets every task continue where it stopped. Returns false if the sandbox was not paused.
    public func resume() -> Bool {
        guard controls.setPaused(false) else { return false }
        for t in taskLock.withLock({ groups.values.flatMap { $0.tasks } }) { t.waiter.notify() }
        return true
    }

    /// The gate in the task run loop. A task that must die (SIGKILL, the process exiting) goes through, so
    /// `kill -9` ends a paused container; other signals wait for resume.
    func waitWhilePaused(_ t: Task) {
        guard controls.isPaused else { return }
        controls.tasksAtGate.add(1, ordering: .sequentiallyConsistent)
        defer { controls.tasksAtGate.subtract(1, ordering: .sequentiallyConsistent) }
        while controls.isPaused && !mustExit(t) {
            // Woken by resume and by signals (Task.wake); the timeout only bounds a missed race.
            t.waiter.wait(deadline: monotonicNanoseconds() + 100_000_000)
        }
    }

    private func mustExit(_ t: Task) -> Bool {
        taskLock.withLock {
            t.exitRequested || t.threadGroup.exiting
                || t.pendingSignals.contains { $0.signal == Signal.SIGKILL.rawValue }
                || t.threadGroup.pendingSignals.contains { $0.signal == Signal.SIGKILL.rawValue }
        }
    }

    /// The Sentry's accounting for `runsc events`.
    public func resourceUsage() -> SentryResourceUsage {
        let (allGroups, taskCount) = taskLock.withLock { (Array(groups.values), groups.values.reduce(0) { $0 + $1.tasks.count }) }
        var cpu = CPUTimes()
        for g in allGroups {
            cpu += processCPUTime(g)
            cpu += g.accounting.lock.withLock { g.accounting.reapedChildren }
        }
        let limit = memoryFile.limit
        return SentryResourceUsage(
            cpuUserNanoseconds: cpu.user, cpuSystemNanoseconds: cpu.system, memoryUsage: memoryFile.usedBytes,
            memoryLimit: limit < memoryFile.size ? limit : nil, memoryFailures: memoryFile.limitFailures,
            tasks: taskCount, pidsLimit: controls.currentPidsLimit)
    }

    /// `runsc update`: nil leaves a limit as it is. A lowered memory limit refuses new allocations only.
    public func updateLimits(memory: SentryLimit?, pids: SentryLimit?) {
        switch memory {
        case .limit(let bytes)?: memoryFile.setLimit(bytes)
        case .unlimited?: memoryFile.setLimit(nil)
        case nil: break
        }
        if let pids { controls.setPidsLimit(pids) }
    }
}
