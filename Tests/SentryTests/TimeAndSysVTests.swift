// Timers, CPU-time clocks, System V IPC and POSIX message queues, checked by C programs (programs/*.c) that
// run on a real Sentry. Each program prints "ok NAME" per passing check and "FAIL NAME: ..." otherwise, so
// the whole output is compared: any failed or missing check fails the test with its details.
import Foundation
import XCTest
@testable import Sentry

final class TimeAndSysVTests: XCTestCase {
    private func run(_ program: String, flags: [String] = [], expect checks: [String],
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let prog = try TestPrograms.build(program, flags: flags)
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        let expected = checks.map { "ok \($0)\n" }.joined()
        XCTAssertEqual(r.stdout, expected, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.status, .exited(0), file: file, line: line)
    }

    func testIntervalTimersAndAlarm() throws {
        try run("itimers", expect: [
            "setitimer-real", "getitimer-armed", "real-periodic", "real-si-code", "setitimer-old-value", "disarmed",
            "no-alarm-after-disarm", "setitimer-bad-usec", "setitimer-bad-which", "alarm-first", "alarm-remaining",
            "alarm-fires", "virtual-not-while-sleeping", "virtual-fires-on-cpu-time", "prof-periodic",
            "itimer-real-survives-exec",
        ])
    }

    func testPosixTimers() throws {
        try run("posix_timers", expect: [
            "create-monotonic", "gettime-armed", "one-shot-fires", "siginfo-payload", "one-shot-disarmed",
            "overrun-in-siginfo", "getoverrun-matches", "abstime-realtime", "abstime-past", "sigev-none",
            "default-sigevent", "create-process-cputime", "process-cputime-timer", "create-thread-cputime",
            "thread-cputime-timer", "delete", "deleted-is-einval", "delete-unknown", "bad-clock", "bad-signal",
            "bad-nsec", "fork-has-no-timers", "timer-gone-after-exec",
        ])
    }

    func testPosixTimerSignalsOneThread() throws {
        try run("timer_thread", flags: ["-pthread"], expect: ["create-thread-id", "signal-went-to-thread", "thread-id-must-exist"])
    }

    func testCPUClocksRusageAndTimes() throws {
        try run("cpuclocks", flags: ["-pthread"], expect: [
            "no-cpu-while-sleeping", "process-cputime", "thread-cputime", "rusage-self", "rusage-thread",
            "rusage-bad-who", "getcpuclockid-self", "pid-clock-is-process-clock", "pthread-clock",
            "getcpuclockid-no-such-pid", "cputime-monotonic", "child-pid-clock", "children-before-reap",
            "wait4-rusage", "rusage-children", "times",
        ])
    }

    func testSysVSharedMemory() throws {
        try run("sysv_shm", expect: [
            "shmget-private", "shmat", "ipc-stat", "child-sees-parent-data", "nattch-after-fork",
            "parent-sees-child-writes", "nattch-after-child-exit", "shmget-key-create", "shmget-excl",
            "shmget-key-lookup", "shmget-too-big", "shmget-no-key", "shmget-zero-size", "ipc-set-mode",
            "shmat-at-address", "shmat-overlap", "shmat-remap", "shmat-unaligned", "shmat-rnd", "shmdt-not-attached",
            "rdonly-write-faults", "rmid", "rmid-frees-key", "rmid-attached-stays", "rmid-gone-after-detach",
            "rmid-then-detach", "all-gone",
        ])
    }

    func testSysVSemaphores() throws {
        try run("sysv_sem", expect: [
            "semget", "setval-getval", "setall-getall", "ipc-stat", "setval-range", "getval-bad-index",
            "atomic-nowait", "semop-applies", "semop-efbig", "getncnt", "semop-blocks-until-post",
            "getpid-after-post", "getzcnt", "wait-for-zero", "semtimedop-timeout", "sem-undo", "no-undo",
            "semop-eintr", "rmid", "rmid-wakes-eidrm", "rmid-gone", "semget-key",
        ])
    }

    func testSysVMessageQueues() throws {
        try run("sysv_msg", expect: [
            "msgget", "ipc-stat", "recv-by-type", "recv-except", "recv-lowest-type", "recv-e2big",
            "recv-noerror-truncates", "recv-fifo", "recv-nowait-empty", "send-type-zero", "recv-blocks", "last-pids",
            "ipc-set-qbytes", "send-fits", "send-full-nowait", "send-blocks-for-room", "rmid", "rmid-wakes-eidrm",
            "rmid-gone", "msgget-key",
        ])
    }

    func testPosixMessageQueues() throws {
        try run("posix_mq", expect: [
            "mq-open-create", "mq-getattr", "priority-order", "receive-small-buffer", "send-too-big",
            "send-bad-priority", "timedreceive-timeout", "nonblock-empty", "nonblock-full", "curmsgs", "read-status",
            "write-only-cannot-receive", "receive-blocks", "notify-register", "notify-busy", "notify-signal", "notify-once",
            "poll-empty", "poll-wakes", "open-excl", "open-missing", "name-with-slash", "bad-attr",
            "unlink", "unlinked-name-gone", "unlinked-queue-usable", "unlink-twice", "close",
        ])
    }
}

/// The timer thread on its own: expiry, overrun counting for intervals shorter than it wakes, disarming.
final class TimerServiceTests: XCTestCase {
    private final class Expirations: @unchecked Sendable {
        let lock = Lock()
        var calls = 0
        var total: UInt64 = 0
        func add(_ n: UInt64) { lock.withLock { calls += 1; total += n } }
        var snapshot: (Int, UInt64) { lock.withLock { (calls, total) } }
    }

    private func waitUntil(_ condition: () -> Bool) {
        let end = monotonicNanoseconds() + 5_000_000_000
        while !condition() && monotonicNanoseconds() < end { usleep(1000) }
    }

    func testOneShotFiresOnceAndDisarms() {
        let service = TimerService(), seen = Expirations()
        let timer = KernelTimer(clock: .wall) { seen.add($0) }
        let now = monotonicNanoseconds()
        service.set(timer, target: now + 10_000_000, interval: 0, now: now)
        let armed = service.get(timer, now: monotonicNanoseconds())
        XCTAssertTrue(armed.remaining > 0 && armed.remaining <= 10_000_000, "\(armed)")
        waitUntil { seen.snapshot.0 >= 1 }
        usleep(30_000)
        XCTAssertEqual(seen.snapshot.0, 1)
        XCTAssertEqual(seen.snapshot.1, 1)
        XCTAssertEqual(service.get(timer, now: monotonicNanoseconds()).remaining, 0)
    }

    func testShortIntervalsBecomeOverrunsNotWakeups() {
        let service = TimerService(), seen = Expirations()
        let timer = KernelTimer(clock: .wall) { seen.add($0) }
        let now = monotonicNanoseconds()
        service.set(timer, target: now + 1000, interval: 10_000, now: now)  // every 10 µs
        usleep(50_000)
        let old = service.set(timer, target: 0, interval: 0, now: monotonicNanoseconds())
        XCTAssertEqual(old.interval, 10_000)
        let (calls, total) = seen.snapshot
        // About 5000 expirations in 50 ms, reported in at most one call per 100 µs.
        XCTAssertGreaterThan(total, 2000)
        XCTAssertLessThanOrEqual(calls, 600)
        usleep(20_000)
        XCTAssertEqual(seen.snapshot.0, calls, "fired after being disarmed")
    }

    func testRearmingReplacesTheOldSetting() {
        let service = TimerService(), seen = Expirations()
        let timer = KernelTimer(clock: .wall) { seen.add($0) }
        var now = monotonicNanoseconds()
        service.set(timer, target: now + 20_000_000, interval: 0, now: now)
        now = monotonicNanoseconds()
        let old = service.set(timer, target: now + 200_000_000, interval: 0, now: now)
        XCTAssertTrue(old.remaining > 0 && old.remaining <= 20_000_000)
        usleep(60_000)
        XCTAssertEqual(seen.snapshot.0, 0, "the first setting still fired")
        service.disarm(timer)
    }
}
