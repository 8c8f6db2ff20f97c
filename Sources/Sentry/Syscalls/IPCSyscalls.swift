// Event files: eventfd, epoll, signalfd, timerfd; and the temporary signal mask of ppoll/pselect/epoll_pwait.
import LinuxABI

extension Task {
    /// Runs `body` with `mask` as the signal mask (ppoll, pselect6, epoll_pwait). When the call is
    /// interrupted, the old mask comes back once the handler returns, as with rt_sigsuspend.
    func withTemporarySignalMask<T>(_ mask: SignalSet?, _ body: () throws(Errno) -> T) throws(Errno) -> T {
        guard let mask else { return try body() }
        let old = signalMask
        kernel.taskLock.withLock { signalMask = SignalSet(bits: mask.bits & ~SignalSet.unblockable.bits) }
        do {
            let r = try body()
            kernel.taskLock.withLock { signalMask = old }
            return r
        } catch {
            if error == .ERESTARTNOHAND { savedMaskForSuspend = old } else { kernel.taskLock.withLock { signalMask = old } }
            throw error
        }
    }

    /// The sigset_t argument of ppoll/pselect6/epoll_pwait (nil when the pointer is null).
    func readSignalMaskArgument(_ address: UInt64, size: UInt64) throws(Errno) -> SignalSet? {
        if address == 0 { return nil }
        guard size == 8 else { throw Errno.EINVAL }
        return SignalSet(bits: try mm.read(address, as: UInt64.self))
    }
}

extension Kernel {
    func eventfd(_ task: Task, initial: UInt32, flags: Int) throws(Errno) -> Int {
        let valid = EventFDFlags.EFD_SEMAPHORE | EventFDFlags.EFD_NONBLOCK | EventFDFlags.EFD_CLOEXEC
        guard flags & ~valid == 0 else { throw Errno.EINVAL }
        let file = EventFileDescription(initialValue: UInt64(initial), semaphore: flags & EventFDFlags.EFD_SEMAPHORE != 0, flags: flags)
        return Int(try task.fdTable.add(file, closeOnExec: flags & EventFDFlags.EFD_CLOEXEC != 0))
    }

    func epollCreate(_ task: Task, flags: Int) throws(Errno) -> Int {
        guard flags & ~EpollABI.EPOLL_CLOEXEC == 0 else { throw Errno.EINVAL }
        return Int(try task.fdTable.add(EpollFile(flags: flags), closeOnExec: flags & EpollABI.EPOLL_CLOEXEC != 0))
    }

    func epollCtl(_ task: Task, epfd: Int32, op: Int, fd: Int32, eventAddress: UInt64) throws(Errno) -> Int {
        let epFile = try task.fdTable.get(epfd)
        let target = try task.fdTable.get(fd)
        guard let ep = epFile as? EpollFile, target !== ep else { throw Errno.EINVAL }
        // Regular files and directories are always ready; Linux refuses to watch them.
        if let st = try? target.stat(), st.isRegular || st.isDirectory { throw Errno.EPERM }
        var events: UInt32 = 0, data: UInt64 = 0
        if op == EpollABI.EPOLL_CTL_ADD || op == EpollABI.EPOLL_CTL_MOD {
            events = try task.mm.read(eventAddress, as: UInt32.self)
            data = try task.mm.read(eventAddress &+ 4, as: UInt64.self)
            events &= ~EpollABI.EPOLLWAKEUP  // needs CAP_BLOCK_SUSPEND; silently dropped like Linux does without it
            if events & EpollABI.EPOLLEXCLUSIVE != 0 {
                let allowed = PollEvents.POLLIN | PollEvents.POLLOUT | PollEvents.POLLERR | PollEvents.POLLHUP
                    | EpollABI.EPOLLWAKEUP | EpollABI.EPOLLET | EpollABI.EPOLLEXCLUSIVE
                if op == EpollABI.EPOLL_CTL_MOD || target is EpollFile || events & ~allowed != 0 { throw Errno.EINVAL }
            }
        }
        switch op {
        case EpollABI.EPOLL_CTL_ADD: try ep.add(fd: fd, file: target, events: events, data: data)
        case EpollABI.EPOLL_CTL_MOD: try ep.modify(fd: fd, file: target, events: events, data: data)
        case EpollABI.EPOLL_CTL_DEL: try ep.delete(fd: fd, file: target)
        default: throw Errno.EINVAL
        }
        return 0
    }

    func epollWait(_ task: Task, epfd: Int32, eventsAddress: UInt64, max: Int, timeoutNanos: Int64?, mask: SignalSet?) throws(Errno) -> Int {
        guard max > 0, max <= EpollABI.maxEvents else { throw Errno.EINVAL }
        guard let ep = try task.fdTable.get(epfd) as? EpollFile else { throw Errno.EINVAL }
        // The first slot must be writable before anything is taken off the ready list (Linux only checks
        // that the whole range is user memory, so a caller's maxevents may exceed its buffer).
        _ = try task.mm.segments(eventsAddress, EpollABI.eventSize, write: true)
        let deadline = timeoutNanos.map { monotonicNanoseconds() &+ UInt64(Swift.max(0, $0)) }
        let events = try task.withTemporarySignalMask(mask) { () throws(Errno) -> [(UInt32, UInt64)] in
            try ep.wait(task: task, max: max, deadline: deadline)
        }
        if events.isEmpty { return 0 }
        var out = [UInt8](repeating: 0, count: events.count * EpollABI.eventSize)
        out.withUnsafeMutableBytes { p in
            for (i, (ev, data)) in events.enumerated() {
                p.storeBytes(of: ev, toByteOffset: i * EpollABI.eventSize, as: UInt32.self)
                p.storeBytes(of: data, toByteOffset: i * EpollABI.eventSize + 4, as: UInt64.self)
            }
        }
        try task.mm.copyOut(eventsAddress, out)
        return events.count
    }

    func signalfd(_ task: Task, fd: Int32, maskAddress: UInt64, size: UInt64, flags: Int) throws(Errno) -> Int {
        guard flags & ~(SignalFDFlags.SFD_NONBLOCK | SignalFDFlags.SFD_CLOEXEC) == 0, size == 8 else { throw Errno.EINVAL }
        let mask = SignalSet(bits: try task.mm.read(maskAddress, as: UInt64.self))
        if fd != -1 {
            guard let existing = try task.fdTable.get(fd) as? SignalFileDescription else { throw Errno.EINVAL }
            existing.mask = mask
            return Int(fd)
        }
        let file = SignalFileDescription(mask: mask, flags: flags)
        return Int(try task.fdTable.add(file, closeOnExec: flags & SignalFDFlags.SFD_CLOEXEC != 0))
    }

    func timerfdCreate(_ task: Task, clock: Int32, flags: Int) throws(Errno) -> Int {
        let clocks = [ClockIDs.CLOCK_REALTIME, ClockIDs.CLOCK_MONOTONIC, ClockIDs.CLOCK_BOOTTIME,
                      ClockIDs.CLOCK_REALTIME_ALARM, ClockIDs.CLOCK_BOOTTIME_ALARM]
        guard clocks.contains(clock) else { throw Errno.EINVAL }
        guard flags & ~(TimerFDFlags.TFD_NONBLOCK | TimerFDFlags.TFD_CLOEXEC) == 0 else { throw Errno.EINVAL }
        let file = TimerFileDescription(clock: clock, flags: flags)
        return Int(try task.fdTable.add(file, closeOnExec: flags & TimerFDFlags.TFD_CLOEXEC != 0))
    }

    /// A struct itimerspec (interval, value) in nanoseconds; EINVAL for a timespec Linux would refuse.
    private func readItimerspec(_ task: Task, _ address: UInt64) throws(Errno) -> (interval: UInt64, value: UInt64) {
        let raw = try task.mm.copyIn(address, 32)
        func ns(_ off: Int) throws(Errno) -> UInt64 {
            let (sec, nsec) = raw.withUnsafeBytes { ($0.load(fromByteOffset: off, as: Int64.self), $0.load(fromByteOffset: off + 8, as: Int64.self)) }
            guard sec >= 0, nsec >= 0, nsec < 1_000_000_000 else { throw Errno.EINVAL }
            let (s, o) = UInt64(sec).multipliedReportingOverflow(by: 1_000_000_000)
            return o ? UInt64(Int64.max) : Swift.min(s &+ UInt64(nsec), UInt64(Int64.max))
        }
        return (try ns(0), try ns(16))
    }

    private func writeItimerspec(_ task: Task, _ address: UInt64, value: UInt64, interval: UInt64) throws(Errno) {
        var b = [UInt8](repeating: 0, count: 32)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: Int64(interval / 1_000_000_000), toByteOffset: 0, as: Int64.self)
            p.storeBytes(of: Int64(interval % 1_000_000_000), toByteOffset: 8, as: Int64.self)
            p.storeBytes(of: Int64(value / 1_000_000_000), toByteOffset: 16, as: Int64.self)
            p.storeBytes(of: Int64(value % 1_000_000_000), toByteOffset: 24, as: Int64.self)
        }
        try task.mm.copyOut(address, b)
    }

    func timerfdSettime(_ task: Task, fd: Int32, flags: Int, newAddress: UInt64, oldAddress: UInt64) throws(Errno) -> Int {
        guard flags & ~(TimerFDFlags.TFD_TIMER_ABSTIME | TimerFDFlags.TFD_TIMER_CANCEL_ON_SET) == 0 else { throw Errno.EINVAL }
        guard let timer = try task.fdTable.get(fd) as? TimerFileDescription else { throw Errno.EINVAL }
        let spec = try readItimerspec(task, newAddress)
        let old = timer.set(value: spec.value, interval: spec.interval, absolute: flags & TimerFDFlags.TFD_TIMER_ABSTIME != 0)
        if oldAddress != 0 { try writeItimerspec(task, oldAddress, value: old.0, interval: old.1) }
        return 0
    }

    func timerfdGettime(_ task: Task, fd: Int32, address: UInt64) throws(Errno) -> Int {
        guard let timer = try task.fdTable.get(fd) as? TimerFileDescription else { throw Errno.EINVAL }
        let (value, interval) = timer.current()
        try writeItimerspec(task, address, value: value, interval: interval)
        return 0
    }
}

extension SyscallTable {
    func registerIPCSyscalls() {
        register(SyscallNumber.eventfd) { (t, a) throws(Errno) -> Int in try t.kernel.eventfd(t, initial: UInt32(truncatingIfNeeded: a.a0), flags: 0) }
        register(SyscallNumber.eventfd2) { (t, a) throws(Errno) -> Int in
            try t.kernel.eventfd(t, initial: UInt32(truncatingIfNeeded: a.a0), flags: Int(a.int1))
        }
        register(SyscallNumber.epoll_create) { (t, a) throws(Errno) -> Int in
            guard a.int0 > 0 else { throw Errno.EINVAL }
            return try t.kernel.epollCreate(t, flags: 0)
        }
        register(SyscallNumber.epoll_create1) { (t, a) throws(Errno) -> Int in try t.kernel.epollCreate(t, flags: Int(a.int0)) }
        register(SyscallNumber.epoll_ctl) { (t, a) throws(Errno) -> Int in
            try t.kernel.epollCtl(t, epfd: a.int0, op: Int(a.int1), fd: a.int2, eventAddress: a.a3)
        }
        register(SyscallNumber.epoll_wait) { (t, a) throws(Errno) -> Int in
            try t.kernel.epollWait(t, epfd: a.int0, eventsAddress: a.a1, max: Int(a.int2),
                                   timeoutNanos: a.int3 < 0 ? nil : Int64(a.int3) * 1_000_000, mask: nil)
        }
        register(SyscallNumber.epoll_pwait) { (t, a) throws(Errno) -> Int in
            let mask = try t.readSignalMaskArgument(a.a4, size: a.a5)
            return try t.kernel.epollWait(t, epfd: a.int0, eventsAddress: a.a1, max: Int(a.int2),
                                          timeoutNanos: a.int3 < 0 ? nil : Int64(a.int3) * 1_000_000, mask: mask)
        }
        register(SyscallNumber.epoll_pwait2) { (t, a) throws(Errno) -> Int in
            let timeout = a.a3 == 0 ? nil : try t.kernel.readTimespecNanos(t, a.a3)
            let mask = try t.readSignalMaskArgument(a.a4, size: a.a5)
            return try t.kernel.epollWait(t, epfd: a.int0, eventsAddress: a.a1, max: Int(a.int2), timeoutNanos: timeout, mask: mask)
        }
        register(SyscallNumber.signalfd) { (t, a) throws(Errno) -> Int in
            try t.kernel.signalfd(t, fd: a.int0, maskAddress: a.a1, size: a.a2, flags: 0)
        }
        register(SyscallNumber.signalfd4) { (t, a) throws(Errno) -> Int in
            try t.kernel.signalfd(t, fd: a.int0, maskAddress: a.a1, size: a.a2, flags: Int(a.int3))
        }
        register(SyscallNumber.timerfd_create) { (t, a) throws(Errno) -> Int in try t.kernel.timerfdCreate(t, clock: a.int0, flags: Int(a.int1)) }
        register(SyscallNumber.timerfd_settime) { (t, a) throws(Errno) -> Int in
            try t.kernel.timerfdSettime(t, fd: a.int0, flags: Int(a.int1), newAddress: a.a2, oldAddress: a.a3)
        }
        register(SyscallNumber.timerfd_gettime) { (t, a) throws(Errno) -> Int in try t.kernel.timerfdGettime(t, fd: a.int0, address: a.a1) }
    }
}
