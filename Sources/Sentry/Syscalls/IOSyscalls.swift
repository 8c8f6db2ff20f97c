// I/O on descriptors: read/write families, seek, dup, fcntl, ioctl, pipes, poll/select (sendfile and
// splice: SpliceSyscalls.swift).
import Glibc
import LinuxABI

extension Kernel {
    /// The Sentry-side buffers of an iovec array in app memory.
    func iovecBuffers(_ task: Task, _ address: UInt64, _ count: Int, write: Bool) throws(Errno) -> [UnsafeMutableRawBufferPointer] {
        guard count >= 0, count <= 1024 else { throw Errno.EINVAL }
        if count == 0 { return [] }
        let raw = try task.mm.copyIn(address, count * 16)
        var out: [UnsafeMutableRawBufferPointer] = []
        var total = 0
        for i in 0..<count {
            let (base, len) = raw.withUnsafeBytes { ($0.load(fromByteOffset: i * 16, as: UInt64.self), $0.load(fromByteOffset: i * 16 + 8, as: UInt64.self)) }
            guard len <= UInt64(Int.max - total) else { throw Errno.EINVAL }
            if len == 0 { continue }
            total += Int(len)
            // Linux stops at the first bad buffer once some bytes would have moved; we check up front.
            out += try task.mm.segments(base, Int(min(len, 0x7fff_f000)), write: write)
        }
        return out
    }

    func doRead(_ task: Task, fd: Int32, buffers: [UnsafeMutableRawBufferPointer], at: Int64?) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        guard file.readable else { throw Errno.EBADF }
        if let at, at < 0 { throw Errno.EINVAL }
        let n = try file.read(buffers, at: at, task: task)
        if n > 0 && FSNotify.active { FSNotify.file(file, InotifyABI.IN_ACCESS) }
        return n
    }

    func doWrite(_ task: Task, fd: Int32, buffers: [UnsafeMutableRawBufferPointer], at: Int64?) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        guard file.writable else { throw Errno.EBADF }
        if let at, at < 0 { throw Errno.EINVAL }
        let n = try file.write(buffers, at: at, task: task)
        if n > 0 && FSNotify.active { FSNotify.file(file, InotifyABI.IN_MODIFY) }
        return n
    }

    func dup3(_ task: Task, old: Int32, new: Int32, flags: Int) throws(Errno) -> Int {
        guard flags & ~OpenFlags.O_CLOEXEC == 0 else { throw Errno.EINVAL }
        let file = try task.fdTable.get(old)
        guard old != new else { throw Errno.EINVAL }
        try task.fdTable.set(new, file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0)
        return Int(new)
    }

    func fcntl(_ task: Task, fd: Int32, cmd: Int, arg: UInt64) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        switch cmd {
        case FcntlCommands.F_DUPFD, FcntlCommands.F_DUPFD_CLOEXEC:
            guard arg < UInt64(task.fdTable.limit) else { throw Errno.EINVAL }
            return Int(try task.fdTable.add(file, closeOnExec: cmd == FcntlCommands.F_DUPFD_CLOEXEC, minimum: Int32(arg)))
        case FcntlCommands.F_GETFD:
            return task.fdTable.entry(fd)?.closeOnExec == true ? FcntlCommands.FD_CLOEXEC : 0
        case FcntlCommands.F_SETFD:
            try task.fdTable.setCloseOnExec(fd, arg & UInt64(FcntlCommands.FD_CLOEXEC) != 0); return 0
        case FcntlCommands.F_GETFL:
            return file.flags
        case FcntlCommands.F_SETFL:
            let changeable = OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | OpenFlags.O_ASYNC | OpenFlags.O_DIRECT | OpenFlags.O_NOATIME
            file.lock.withLock { file.flags = (file.flags & ~changeable) | (Int(arg) & changeable) }
            return 0
        case FcntlCommands.F_GETLK, FcntlCommands.F_SETLK, FcntlCommands.F_SETLKW,
             LockABI.F_OFD_GETLK, LockABI.F_OFD_SETLK, LockABI.F_OFD_SETLKW:
            return try task.kernel.recordLock(task, fd: fd, file: file, cmd: cmd, address: arg)
        case FcntlCommands.F_GETPIPE_SZ:
            guard let p = file as? PipeDescription else { throw Errno.EBADF }
            return p.pipe.lock.withLock { p.pipe.capacity }
        case FcntlCommands.F_SETPIPE_SZ:
            guard let p = file as? PipeDescription else { throw Errno.EBADF }
            guard arg <= 1 << 20 else { throw Errno.EPERM }
            let size = max(4096, Int(PageSize.roundUp(arg) ?? 4096))
            return p.pipe.lock.withLock { () -> Int in p.pipe.capacity = max(size, p.pipe.count); return p.pipe.capacity }
        case FcntlCommands.F_GETOWN, FcntlCommands.F_SETOWN: return 0
        case FcntlCommands.F_ADD_SEALS, FcntlCommands.F_GET_SEALS: throw Errno.EINVAL
        default: throw Errno.EINVAL
        }
    }

    func makePipe(_ task: Task, address: UInt64, flags: Int) throws(Errno) -> Int {
        guard flags & ~(OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK | OpenFlags.O_DIRECT) == 0 else { throw Errno.EINVAL }
        let p = Pipe()
        let status = flags & OpenFlags.O_NONBLOCK
        let r = PipeDescription(pipe: p, readEnd: true, flags: OpenFlags.O_RDONLY | status)
        let w = PipeDescription(pipe: p, readEnd: false, flags: OpenFlags.O_WRONLY | status)
        let cloexec = flags & OpenFlags.O_CLOEXEC != 0
        let rfd = try task.fdTable.add(r, closeOnExec: cloexec)
        let wfd: Int32
        do throws(Errno) { wfd = try task.fdTable.add(w, closeOnExec: cloexec) } catch { try? task.fdTable.remove(rfd); throw error }
        do throws(Errno) {
            try task.mm.write(address, rfd)
            try task.mm.write(address + 4, wfd)
        } catch {
            try? task.fdTable.remove(rfd); try? task.fdTable.remove(wfd)
            throw error
        }
        return 0
    }

    /// poll(2): scans the files, and if nothing is ready sleeps on their readiness queues until one of them
    /// notifies, the timeout passes or a signal arrives (ERESTARTNOHAND). Host pipes and ttys, which cannot
    /// notify, are re-checked every few milliseconds.
    func poll(_ task: Task, fds address: UInt64, count: Int, timeoutNanos: Int64?) throws(Errno) -> Int {
        guard count >= 0, count <= Int(task.fdTable.limit) else { throw Errno.EINVAL }
        var raw = try task.mm.copyIn(address, count * 8)
        let deadline = timeoutNanos.map { monotonicNanoseconds() &+ UInt64(max(0, $0)) }
        var entries: [(fd: Int32, events: UInt32, file: FileDescription?)] = []
        for i in 0..<count {
            let (fd, events) = raw.withUnsafeBytes { ($0.load(fromByteOffset: i * 8, as: Int32.self), $0.load(fromByteOffset: i * 8 + 4, as: Int16.self)) }
            entries.append((fd, UInt32(UInt16(bitPattern: events)), fd >= 0 ? try? task.fdTable.get(fd) : nil))
        }
        var revents = [UInt32](repeating: 0, count: count)
        var ready = 0
        func scan() -> Bool {
            ready = 0
            for (i, e) in entries.enumerated() {
                var r: UInt32 = 0
                if e.fd >= 0 {
                    if let f = e.file {
                        // POLLERR and POLLHUP are reported whether asked for or not.
                        r = f.pollEvents(task: task) & (e.events | PollEvents.POLLERR | PollEvents.POLLHUP)
                    } else { r = PollEvents.POLLNVAL }
                }
                revents[i] = r
                if r != 0 { ready += 1 }
            }
            return ready > 0
        }
        let files = entries.compactMap(\.file)
        _ = try task.blockForReadiness(on: Kernel.readinessWaitQueues(files), deadline: deadline,
                                       recheck: files.contains { $0.readinessNeedsRecheck }, scan)
        raw.withUnsafeMutableBytes { p in
            for i in 0..<count { p.storeBytes(of: UInt16(truncatingIfNeeded: revents[i]), toByteOffset: i * 8 + 6, as: UInt16.self) }
        }
        try task.mm.copyOut(address, raw)
        return ready
    }

    /// The distinct wait queues of `files`' readiness queues.
    static func readinessWaitQueues(_ files: [FileDescription]) -> [WaitQueue] {
        var seen = Set<ObjectIdentifier>()
        var out: [WaitQueue] = []
        for f in files {
            let q = f.readinessQueue.waiters
            if seen.insert(ObjectIdentifier(q)).inserted { out.append(q) }
        }
        return out
    }

    /// select(2) in terms of the files' poll events: readable is POLLIN/POLLHUP/POLLERR, writable
    /// POLLOUT/POLLERR, exceptional POLLPRI. A descriptor in a set that is not open is EBADF.
    func select(_ task: Task, nfds: Int, readAddr: UInt64, writeAddr: UInt64, exceptAddr: UInt64, timeoutNanos: Int64?) throws(Errno) -> Int {
        guard nfds >= 0, nfds <= Int(task.fdTable.limit) else { throw Errno.EINVAL }
        let words = (nfds + 63) / 64
        func load(_ a: UInt64) throws(Errno) -> [UInt64] {
            if a == 0 || words == 0 { return [UInt64](repeating: 0, count: words) }
            let b = try task.mm.copyIn(a, words * 8)
            return (0..<words).map { i in b.withUnsafeBytes { $0.load(fromByteOffset: i * 8, as: UInt64.self) } }
        }
        let rs = try load(readAddr), ws = try load(writeAddr), es = try load(exceptAddr)
        var watched: [(fd: Int, file: FileDescription)] = []
        for fd in 0..<nfds {
            let bit = UInt64(1) << UInt64(fd % 64)
            if (rs[fd / 64] | ws[fd / 64] | es[fd / 64]) & bit == 0 { continue }
            watched.append((fd, try task.fdTable.get(Int32(fd))))
        }
        var outR = [UInt64](repeating: 0, count: words), outW = outR, outE = outR
        var ready = 0
        func scan() -> Bool {
            ready = 0
            for i in 0..<words { outR[i] = 0; outW[i] = 0; outE[i] = 0 }
            for (fd, f) in watched {
                let bit = UInt64(1) << UInt64(fd % 64)
                let ev = f.pollEvents(task: task)
                if rs[fd / 64] & bit != 0 && ev & (PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLHUP | PollEvents.POLLERR) != 0 {
                    outR[fd / 64] |= bit; ready += 1
                }
                if ws[fd / 64] & bit != 0 && ev & (PollEvents.POLLOUT | PollEvents.POLLWRNORM | PollEvents.POLLERR) != 0 {
                    outW[fd / 64] |= bit; ready += 1
                }
                if es[fd / 64] & bit != 0 && ev & PollEvents.POLLPRI != 0 { outE[fd / 64] |= bit; ready += 1 }
            }
            return ready > 0
        }
        let files = watched.map(\.file)
        _ = try task.blockForReadiness(on: Kernel.readinessWaitQueues(files), deadline: timeoutNanos.map { monotonicNanoseconds() &+ UInt64(max(0, $0)) },
                                       recheck: files.contains { $0.readinessNeedsRecheck }, scan)
        func store(_ a: UInt64, _ v: [UInt64]) throws(Errno) {
            if a == 0 || words == 0 { return }
            var b = [UInt8](repeating: 0, count: words * 8)
            b.withUnsafeMutableBytes { p in for (i, x) in v.enumerated() { p.storeBytes(of: x, toByteOffset: i * 8, as: UInt64.self) } }
            try task.mm.copyOut(a, b)
        }
        try store(readAddr, outR); try store(writeAddr, outW); try store(exceptAddr, outE)
        return ready
    }

    /// Runs a select/pselect6/ppoll and stores the time left into its timeout argument (a timeval for
    /// select, a timespec otherwise), as Linux does; a call restarted after a signal then waits only the rest.
    func writingTimeLeft(_ task: Task, to address: UInt64, timeout: Int64?, microseconds: Bool,
                         _ body: () throws(Errno) -> Int) throws(Errno) -> Int {
        guard address != 0, let timeout else { return try body() }
        let start = monotonicNanoseconds()
        func store() {
            let elapsed = Int64(clamping: monotonicNanoseconds() &- start)
            let left = max(0, timeout - min(elapsed, timeout))
            let fraction = left % 1_000_000_000
            try? task.mm.write(address, left / 1_000_000_000)
            try? task.mm.write(address &+ 8, microseconds ? fraction / 1000 : fraction)
        }
        do {
            let r = try body()
            store()
            return r
        } catch {
            store()
            throw error
        }
    }

    func readTimespecNanos(_ task: Task, _ address: UInt64) throws(Errno) -> Int64 {
        let sec: Int64 = try task.mm.read(address, as: Int64.self)
        let nsec: Int64 = try task.mm.read(address + 8, as: Int64.self)
        guard sec >= 0, nsec >= 0, nsec < 1_000_000_000 else { throw Errno.EINVAL }
        let (s, o) = sec.multipliedReportingOverflow(by: 1_000_000_000)
        return o ? Int64.max : s &+ nsec
    }
}

extension SyscallTable {
    func registerIOSyscalls() {
        register(SyscallNumber.read) { (t, a) throws(Errno) -> Int in
            try t.kernel.doRead(t, fd: a.int0, buffers: try t.mm.segments(a.a1, Int(min(a.a2, 0x7fff_f000)), write: true), at: nil)
        }
        register(SyscallNumber.write) { (t, a) throws(Errno) -> Int in
            try t.kernel.doWrite(t, fd: a.int0, buffers: try t.mm.segments(a.a1, Int(min(a.a2, 0x7fff_f000)), write: false), at: nil)
        }
        register(SyscallNumber.pread64) { (t, a) throws(Errno) -> Int in
            try t.kernel.doRead(t, fd: a.int0, buffers: try t.mm.segments(a.a1, Int(min(a.a2, 0x7fff_f000)), write: true), at: Int64(bitPattern: a.a3))
        }
        register(SyscallNumber.pwrite64) { (t, a) throws(Errno) -> Int in
            try t.kernel.doWrite(t, fd: a.int0, buffers: try t.mm.segments(a.a1, Int(min(a.a2, 0x7fff_f000)), write: false), at: Int64(bitPattern: a.a3))
        }
        register(SyscallNumber.readv) { (t, a) throws(Errno) -> Int in try t.kernel.doRead(t, fd: a.int0, buffers: try t.kernel.iovecBuffers(t, a.a1, Int(a.int2), write: true), at: nil) }
        register(SyscallNumber.writev) { (t, a) throws(Errno) -> Int in try t.kernel.doWrite(t, fd: a.int0, buffers: try t.kernel.iovecBuffers(t, a.a1, Int(a.int2), write: false), at: nil) }
        register(SyscallNumber.preadv) { (t, a) throws(Errno) -> Int in try t.kernel.doRead(t, fd: a.int0, buffers: try t.kernel.iovecBuffers(t, a.a1, Int(a.int2), write: true), at: Int64(bitPattern: a.a3)) }
        register(SyscallNumber.pwritev) { (t, a) throws(Errno) -> Int in try t.kernel.doWrite(t, fd: a.int0, buffers: try t.kernel.iovecBuffers(t, a.a1, Int(a.int2), write: false), at: Int64(bitPattern: a.a3)) }
        register(SyscallNumber.lseek) { (t, a) throws(Errno) -> Int in
            Int(try t.fdTable.get(a.int0).seek(Int64(bitPattern: a.a1), whence: Int(a.int2)))
        }
        register(SyscallNumber.dup) { (t, a) throws(Errno) -> Int in Int(try t.fdTable.add(try t.fdTable.get(a.int0))) }
        register(SyscallNumber.dup2) { (t, a) throws(Errno) -> Int in
            if a.int0 == a.int1 { _ = try t.fdTable.get(a.int0); return Int(a.int1) }
            return try t.kernel.dup3(t, old: a.int0, new: a.int1, flags: 0)
        }
        register(SyscallNumber.dup3) { (t, a) throws(Errno) -> Int in try t.kernel.dup3(t, old: a.int0, new: a.int1, flags: Int(a.int2)) }
        register(SyscallNumber.fcntl) { (t, a) throws(Errno) -> Int in try t.kernel.fcntl(t, fd: a.int0, cmd: Int(a.int1), arg: a.a2) }
        register(SyscallNumber.ioctl) { (t, a) throws(Errno) -> Int in
            let f = try t.fdTable.get(a.int0)
            switch a.a1 {
            case IoctlRequests.FIOCLEX: try t.fdTable.setCloseOnExec(a.int0, true); return 0
            case IoctlRequests.FIONCLEX: try t.fdTable.setCloseOnExec(a.int0, false); return 0
            case IoctlRequests.FIONBIO:
                let on: Int32 = try t.mm.read(a.a2, as: Int32.self)
                f.lock.withLock { if on != 0 { f.flags |= OpenFlags.O_NONBLOCK } else { f.flags &= ~OpenFlags.O_NONBLOCK } }
                return 0
            default: return try f.ioctl(a.a1, a.a2, task: t)
            }
        }
        register(SyscallNumber.pipe) { (t, a) throws(Errno) -> Int in try t.kernel.makePipe(t, address: a.a0, flags: 0) }
        register(SyscallNumber.pipe2) { (t, a) throws(Errno) -> Int in try t.kernel.makePipe(t, address: a.a0, flags: Int(a.int1)) }
        register(SyscallNumber.poll) { (t, a) throws(Errno) -> Int in
            try t.kernel.poll(t, fds: a.a0, count: Int(min(a.a1, 1 << 20)), timeoutNanos: a.int2 < 0 ? nil : Int64(a.int2) * 1_000_000)
        }
        register(SyscallNumber.ppoll) { (t, a) throws(Errno) -> Int in
            let timeout = a.a2 == 0 ? nil : try t.kernel.readTimespecNanos(t, a.a2)
            let mask = try t.readSignalMaskArgument(a.a3, size: a.a4)
            return try t.kernel.writingTimeLeft(t, to: a.a2, timeout: timeout, microseconds: false) { () throws(Errno) -> Int in
                try t.withTemporarySignalMask(mask) { () throws(Errno) -> Int in
                    try t.kernel.poll(t, fds: a.a0, count: Int(min(a.a1, 1 << 20)), timeoutNanos: timeout)
                }
            }
        }
        register(SyscallNumber.select) { (t, a) throws(Errno) -> Int in
            var timeout: Int64?
            if a.a4 != 0 {
                let sec: Int64 = try t.mm.read(a.a4, as: Int64.self), usec: Int64 = try t.mm.read(a.a4 &+ 8, as: Int64.self)
                guard sec >= 0, usec >= 0 else { throw Errno.EINVAL }
                // Linux folds whole seconds of tv_usec into tv_sec.
                let (s, o1) = sec.addingReportingOverflow(usec / 1_000_000)
                let (ns, o2) = s.multipliedReportingOverflow(by: 1_000_000_000)
                timeout = o1 || o2 ? Int64.max : ns.addingReportingOverflow(usec % 1_000_000 * 1000).partialValue
            }
            return try t.kernel.writingTimeLeft(t, to: a.a4, timeout: timeout, microseconds: true) { () throws(Errno) -> Int in
                try t.kernel.select(t, nfds: Int(a.int0), readAddr: a.a1, writeAddr: a.a2, exceptAddr: a.a3, timeoutNanos: timeout)
            }
        }
        register(SyscallNumber.pselect6) { (t, a) throws(Errno) -> Int in
            let timeout = a.a4 == 0 ? nil : try t.kernel.readTimespecNanos(t, a.a4)
            // The sixth argument points at { const sigset_t *ss; size_t ss_len; }.
            var mask: SignalSet?
            if a.a5 != 0 {
                let ss: UInt64 = try t.mm.read(a.a5, as: UInt64.self), len: UInt64 = try t.mm.read(a.a5 &+ 8, as: UInt64.self)
                mask = try t.readSignalMaskArgument(ss, size: len)
            }
            return try t.kernel.writingTimeLeft(t, to: a.a4, timeout: timeout, microseconds: false) { () throws(Errno) -> Int in
                try t.withTemporarySignalMask(mask) { () throws(Errno) -> Int in
                    try t.kernel.select(t, nfds: Int(a.int0), readAddr: a.a1, writeAddr: a.a2, exceptAddr: a.a3, timeoutNanos: timeout)
                }
            }
        }
        for n in [SyscallNumber.fsync, SyscallNumber.fdatasync, SyscallNumber.syncfs] {
            register(n) { (t, a) throws(Errno) -> Int in _ = try t.fdTable.get(a.int0); return 0 }
        }
        register(SyscallNumber.sync) { (_, _) throws(Errno) -> Int in 0 }
        register(SyscallNumber.fadvise64) { (t, a) throws(Errno) -> Int in _ = try t.fdTable.get(a.int0); return 0 }
        register(SyscallNumber.flock) { (t, a) throws(Errno) -> Int in try t.kernel.fileLock(t, fd: a.int0, operation: Int(a.int1)) }
    }
}
