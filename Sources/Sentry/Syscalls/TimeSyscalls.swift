import CLinux
// Time: clocks and sleeping. Clocks read the host's (time is not virtualized); sleeps block the task's
// host thread on its waiter so signals interrupt them.
import Glibc
import LinuxABI

extension Kernel {
    func clockNanoseconds(_ task: Task, _ clock: Int32) throws(Errno) -> Int64 {
        var ts = timespec()
        switch clock {
        case ClockIDs.CLOCK_REALTIME, ClockIDs.CLOCK_REALTIME_COARSE, ClockIDs.CLOCK_TAI, ClockIDs.CLOCK_REALTIME_ALARM:
            clock_gettime(CLOCK_REALTIME, &ts)
        case ClockIDs.CLOCK_MONOTONIC, ClockIDs.CLOCK_MONOTONIC_COARSE, ClockIDs.CLOCK_MONOTONIC_RAW,
             ClockIDs.CLOCK_BOOTTIME, ClockIDs.CLOCK_BOOTTIME_ALARM:
            // The sandbox's monotonic clock starts near zero at boot, like a fresh machine's.
            return Int64(monotonicNanoseconds() - bootMonotonic) + 1_000_000_000
        default:
            // CPU-time clocks (process, thread, and clock_getcpuclockid ids): Time/CPUClocks.swift.
            if let n = try cpuClockNanoseconds(task, clock) { return n }
            throw Errno.EINVAL
        }
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    func writeTimespec(_ task: Task, _ address: UInt64, _ nanos: Int64) throws(Errno) {
        try task.mm.write(address, nanos / 1_000_000_000)
        try task.mm.write(address + 8, nanos % 1_000_000_000)
    }

    /// Sleeps `nanos` (relative); on a signal writes the remainder to `remaining` and asks for a restart.
    func sleep(_ task: Task, nanos: Int64, remaining: UInt64) throws(Errno) -> Int {
        let deadline = monotonicNanoseconds() + UInt64(max(0, nanos))
        do {
            try task.block(on: [], deadline: deadline) { false }
        } catch {
            if error == .ETIMEDOUT { return 0 }
            if remaining != 0 {
                let left = Int64(deadline) - Int64(monotonicNanoseconds())
                try? writeTimespec(task, remaining, max(0, left))
            }
            throw Errno.ERESTART_RESTARTBLOCK
        }
        return 0
    }
}

extension SyscallTable {
    func registerTimeSyscalls() {
        register(SyscallNumber.clock_gettime) { (t, a) throws(Errno) -> Int in
            try t.kernel.writeTimespec(t, a.a1, try t.kernel.clockNanoseconds(t, a.int0)); return 0
        }
        register(SyscallNumber.clock_getres) { (t, a) throws(Errno) -> Int in
            _ = try t.kernel.clockNanoseconds(t, a.int0)
            if a.a1 != 0 { try t.kernel.writeTimespec(t, a.a1, 1) }
            return 0
        }
        register(SyscallNumber.gettimeofday) { (t, a) throws(Errno) -> Int in
            let n = try t.kernel.clockNanoseconds(t, ClockIDs.CLOCK_REALTIME)
            if a.a0 != 0 { try t.mm.write(a.a0, n / 1_000_000_000); try t.mm.write(a.a0 + 8, (n % 1_000_000_000) / 1000) }
            if a.a1 != 0 { try t.mm.copyOut(a.a1, [UInt8](repeating: 0, count: 8)) }
            return 0
        }
        register(SyscallNumber.time) { (t, a) throws(Errno) -> Int in
            let s = try t.kernel.clockNanoseconds(t, ClockIDs.CLOCK_REALTIME) / 1_000_000_000
            if a.a0 != 0 { try t.mm.write(a.a0, s) }
            return Int(s)
        }
        register(SyscallNumber.nanosleep) { (t, a) throws(Errno) -> Int in
            try t.kernel.sleep(t, nanos: try t.kernel.readTimespecNanos(t, a.a0), remaining: a.a1)
        }
        register(SyscallNumber.clock_nanosleep) { (t, a) throws(Errno) -> Int in
            var nanos = try t.kernel.readTimespecNanos(t, a.a2)
            if a.a1 & 1 != 0 {  // TIMER_ABSTIME
                nanos -= try t.kernel.clockNanoseconds(t, a.int0)
                if nanos <= 0 { return 0 }
                do throws(Errno) { return try t.kernel.sleep(t, nanos: nanos, remaining: 0) } catch { throw error == .ERESTART_RESTARTBLOCK ? Errno.ERESTARTNOHAND : error }
            }
            _ = try t.kernel.clockNanoseconds(t, a.int0)
            return try t.kernel.sleep(t, nanos: nanos, remaining: a.a3)
        }
    }

    func registerMiscSyscalls() {
        register(SyscallNumber.getrandom) { (t, a) throws(Errno) -> Int in
            guard a.a2 & ~UInt64(7) == 0 else { throw Errno.EINVAL }
            let n = Int(min(a.a1, 1 << 25))
            return try t.mm.segments(a.a0, n, write: true).reduce(0) { $0 + fillRandom($1) }
        }
        register(SyscallNumber.sysinfo) { (t, a) throws(Errno) -> Int in
            var b = [UInt8](repeating: 0, count: 112)
            let up = (monotonicNanoseconds() - t.kernel.bootMonotonic) / 1_000_000_000
            let procs = UInt16(truncatingIfNeeded: t.kernel.allGroups.count)
            b.withUnsafeMutableBytes { p in
                p.storeBytes(of: Int64(up), toByteOffset: 0, as: Int64.self)
                let (total, free) = t.kernel.memoryFigures()
                p.storeBytes(of: total, toByteOffset: 32, as: UInt64.self)   // totalram
                p.storeBytes(of: free, toByteOffset: 40, as: UInt64.self)    // freeram
                p.storeBytes(of: procs, toByteOffset: 80, as: UInt16.self)
                p.storeBytes(of: UInt32(1), toByteOffset: 104, as: UInt32.self)        // mem_unit
            }
            try t.mm.copyOut(a.a0, b)
            return 0
        }
        register(SyscallNumber.futex) { (t, a) throws(Errno) -> Int in
            let op = Int(a.int1) & 0x7f
            let realtime = Int(a.int1) & 256 != 0
            let value = UInt32(truncatingIfNeeded: a.a2)
            switch op {
            case 0, 9:  // FUTEX_WAIT, FUTEX_WAIT_BITSET
                var deadline: UInt64?
                if a.a3 != 0 {
                    let n = try t.kernel.readTimespecNanos(t, a.a3)
                    if op == 0 { deadline = monotonicNanoseconds() + UInt64(n) }
                    else {
                        let now = try t.kernel.clockNanoseconds(t, realtime ? ClockIDs.CLOCK_REALTIME : ClockIDs.CLOCK_MONOTONIC)
                        deadline = monotonicNanoseconds() + UInt64(max(0, n - now))
                    }
                }
                let bitset = op == 9 ? UInt32(truncatingIfNeeded: a.a5) : UInt32.max
                guard bitset != 0 else { throw Errno.EINVAL }
                try t.kernel.futexes.wait(task: t, address: a.a0, expected: value, bitset: bitset, deadline: deadline)
                return 0
            case 1, 10:  // FUTEX_WAKE, FUTEX_WAKE_BITSET
                let bitset = op == 10 ? UInt32(truncatingIfNeeded: a.a5) : UInt32.max
                guard bitset != 0 else { throw Errno.EINVAL }
                return t.kernel.futexes.wake(mm: t.mm, address: a.a0, count: Int(min(value, UInt32(Int32.max))), bitset: bitset)
            case 3, 4:  // FUTEX_REQUEUE, FUTEX_CMP_REQUEUE
                return try t.kernel.futexes.requeue(mm: t.mm, address: a.a0, target: a.a4, count: Int(value),
                                                    requeue: Int(truncatingIfNeeded: a.a3 & 0x7fff_ffff),
                                                    expected: op == 4 ? UInt32(truncatingIfNeeded: a.a5) : nil)
            case 6, 8:  // FUTEX_LOCK_PI, FUTEX_TRYLOCK_PI (the timeout is absolute CLOCK_REALTIME)
                var deadline: UInt64?
                if op == 6 && a.a3 != 0 {
                    let n = try t.kernel.readTimespecNanos(t, a.a3)
                    let now = try t.kernel.clockNanoseconds(t, ClockIDs.CLOCK_REALTIME)
                    deadline = monotonicNanoseconds() + UInt64(max(0, n - now))
                }
                try t.kernel.futexes.lockPI(task: t, address: a.a0, tryOnly: op == 8, deadline: deadline)
                return 0
            case 7:  // FUTEX_UNLOCK_PI
                try t.kernel.futexes.unlockPI(task: t, address: a.a0)
                return 0
            default:
                throw Errno.ENOSYS
            }
        }
    }
}
