// Timers and CPU accounting: setitimer, getitimer, alarm, timer_create and friends, getrusage, times.
// The timers themselves live in Time/ (ProcessTimers.swift, fired by TimerService).
import LinuxABI

extension Kernel {
    /// Reads a struct timeval (usec) or timespec (nsec) as nanoseconds; EINVAL when out of range.
    func readTimeValue(_ task: Task, _ address: UInt64, microseconds: Bool) throws(Errno) -> UInt64 {
        let sec: Int64 = try task.mm.read(address, as: Int64.self)
        let frac: Int64 = try task.mm.read(address + 8, as: Int64.self)
        let limit: Int64 = microseconds ? 1_000_000 : 1_000_000_000
        guard sec >= 0, frac >= 0, frac < limit else { throw Errno.EINVAL }
        let (s, o) = UInt64(sec).multipliedReportingOverflow(by: 1_000_000_000)
        return o ? UInt64(Int64.max) : min(UInt64(Int64.max), s &+ UInt64(frac) * (microseconds ? 1000 : 1))
    }

    /// Encodes (interval, value) nanoseconds as struct itimerval or itimerspec (interval first in both).
    static func encodeTimerSetting(_ value: UInt64, _ interval: UInt64, microseconds: Bool) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 32)
        func frac(_ ns: UInt64) -> Int64 {
            let f = ns % 1_000_000_000
            // A timer still armed never reads as zero.
            return microseconds ? Int64(f / 1000 == 0 && ns < 1000 && ns > 0 ? 1 : f / 1000) : Int64(f)
        }
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: Int64(interval / 1_000_000_000), toByteOffset: 0, as: Int64.self)
            p.storeBytes(of: frac(interval), toByteOffset: 8, as: Int64.self)
            p.storeBytes(of: Int64(value / 1_000_000_000), toByteOffset: 16, as: Int64.self)
            p.storeBytes(of: frac(value), toByteOffset: 24, as: Int64.self)
        }
        return b
    }
}

extension SyscallTable {
    func registerTimerSyscalls() {
        register(SyscallNumber.setitimer) { (t, a) throws(Errno) -> Int in
            var value: UInt64 = 0, interval: UInt64 = 0
            if a.a1 != 0 {  // Linux still takes a NULL new value as "disarm"
                interval = try t.kernel.readTimeValue(t, a.a1, microseconds: true)
                value = try t.kernel.readTimeValue(t, a.a1 + 16, microseconds: true)
            }
            let (oldValue, oldInterval) = try t.kernel.setIntervalTimer(t, which: a.int0, value: value, interval: interval)
            if a.a2 != 0 { try t.mm.copyOut(a.a2, Kernel.encodeTimerSetting(oldValue, oldInterval, microseconds: true)) }
            return 0
        }
        register(SyscallNumber.getitimer) { (t, a) throws(Errno) -> Int in
            let (value, interval) = try t.kernel.getIntervalTimer(t, which: a.int0)
            try t.mm.copyOut(a.a1, Kernel.encodeTimerSetting(value, interval, microseconds: true))
            return 0
        }
        register(SyscallNumber.alarm) { (t, a) throws(Errno) -> Int in
            let seconds = UInt64(UInt32(truncatingIfNeeded: a.a0))
            let (old, _) = try t.kernel.setIntervalTimer(t, which: TimerABI.ITIMER_REAL, value: seconds * 1_000_000_000, interval: 0)
            // Whole seconds left, rounded to nearest, and never 0 for a timer that was still armed.
            let usec = old % 1_000_000_000 / 1000
            var secs = old / 1_000_000_000
            if (secs == 0 && old > 0) || usec >= 500_000 { secs += 1 }
            return Int(secs)
        }

        register(SyscallNumber.timer_create) { (t, a) throws(Errno) -> Int in
            var notify = SigEvent.SIGEV_SIGNAL, signal = Signal.SIGALRM.rawValue, threadID: Int32 = 0
            var value: UInt64?
            if a.a1 != 0 {
                let ev = try t.mm.copyIn(a.a1, SigEvent.size)
                ev.withUnsafeBytes { p in
                    value = p.load(fromByteOffset: 0, as: UInt64.self)
                    signal = p.load(fromByteOffset: 8, as: Int32.self)
                    notify = p.load(fromByteOffset: 12, as: Int32.self)
                    threadID = p.load(fromByteOffset: 16, as: Int32.self)
                }
            }
            let id = try t.kernel.createPosixTimer(t, clockID: a.int0, notify: notify, signal: signal,
                                                   value: value, threadID: threadID)
            do throws(Errno) { try t.mm.write(a.a2, id) } catch {
                try? t.kernel.deletePosixTimer(t, id: id)
                throw error
            }
            return 0
        }
        register(SyscallNumber.timer_settime) { (t, a) throws(Errno) -> Int in
            guard a.a2 != 0 else { throw Errno.EINVAL }
            let interval = try t.kernel.readTimeValue(t, a.a2, microseconds: false)
            let value = try t.kernel.readTimeValue(t, a.a2 + 16, microseconds: false)
            let (oldValue, oldInterval) = try t.kernel.setPosixTimer(t, id: a.int0, absolute: Int(a.int1) & TimerABI.TIMER_ABSTIME != 0,
                                                                     value: value, interval: interval)
            if a.a3 != 0 { try t.mm.copyOut(a.a3, Kernel.encodeTimerSetting(oldValue, oldInterval, microseconds: false)) }
            return 0
        }
        register(SyscallNumber.timer_gettime) { (t, a) throws(Errno) -> Int in
            let (value, interval) = try t.kernel.getPosixTimer(t, id: a.int0)
            try t.mm.copyOut(a.a1, Kernel.encodeTimerSetting(value, interval, microseconds: false))
            return 0
        }
        register(SyscallNumber.timer_getoverrun) { (t, a) throws(Errno) -> Int in
            Int(try t.kernel.posixTimerOverrun(t, id: a.int0))
        }
        register(SyscallNumber.timer_delete) { (t, a) throws(Errno) -> Int in
            try t.kernel.deletePosixTimer(t, id: a.int0); return 0
        }

        register(SyscallNumber.getrusage) { (t, a) throws(Errno) -> Int in
            try t.mm.copyOut(a.a1, try t.kernel.rusage(t, who: a.int0)); return 0
        }
        register(SyscallNumber.times) { (t, a) throws(Errno) -> Int in
            if a.a0 != 0 { try t.mm.copyOut(a.a0, t.kernel.tms(t)) }
            // Ticks since boot, as Linux's jiffies-based clock_t.
            return Int((monotonicNanoseconds() - t.kernel.bootMonotonic) / UInt64(1_000_000_000 / RusageABI.ticksPerSecond))
        }
    }
}
