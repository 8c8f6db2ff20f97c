// Signals: actions, masks, sending, waiting, sigreturn.
import LinuxABI

extension Kernel {
    /// kill(2)'s pid selector → target processes.
    func killTargets(_ task: Task, _ pid: Int32) throws(Errno) -> [ThreadGroup] {
        let groups = allGroups.filter { $0.zombieStatus == nil }
        let targets: [ThreadGroup]
        if pid > 0 { targets = groups.filter { $0.pid == pid } }
        else if pid == 0 { let pg = task.threadGroup.processGroupID; targets = groups.filter { $0.processGroupID == pg } }
        else if pid == -1 { targets = groups.filter { $0.pid != 1 && $0 !== task.threadGroup } }
        else { targets = groups.filter { $0.processGroupID == -pid } }
        guard !targets.isEmpty else { throw Errno.ESRCH }
        return targets
    }

    func kill(_ task: Task, pid: Int32, signal: Int32) throws(Errno) -> Int {
        guard signal >= 0, signal <= 64 else { throw Errno.EINVAL }
        guard pid != Int32.min else { throw Errno.ESRCH }
        let targets = try killTargets(task, pid).filter { mayKill(task, $0, signal: signal) }
        guard !targets.isEmpty else { throw Errno.EPERM }  // there were targets, none of them ours to signal
        if signal == 0 { return 0 }
        for g in targets {
            sendSignal(to: g, PendingSignal(signal: signal, code: 0, senderPID: task.threadGroup.pid, senderUID: task.credentials.uid))
        }
        return 0
    }
}

extension SyscallTable {
    func registerSignalSyscalls() {
        register(SyscallNumber.rt_sigaction) { (t, a) throws(Errno) -> Int in
            let sig = Int(a.int0)
            guard sig >= 1, sig <= 64, a.a3 == 8 else { throw Errno.EINVAL }
            let handlers = t.threadGroup.handlers
            var newAction: SignalAction?
            if a.a1 != 0 {
                let b = try t.mm.copyIn(a.a1, 32)
                newAction = b.withUnsafeBytes {
                    SignalAction(handler: $0.load(fromByteOffset: 0, as: UInt64.self), flags: $0.load(fromByteOffset: 8, as: UInt64.self),
                                 restorer: $0.load(fromByteOffset: 16, as: UInt64.self),
                                 mask: SignalSet(bits: $0.load(fromByteOffset: 24, as: UInt64.self) & ~SignalSet.unblockable.bits))
                }
                if sig == 9 || sig == 19 { throw Errno.EINVAL }
            }
            let old = handlers.lock.withLock { () -> SignalAction in
                let o = handlers.actions[sig]
                if let n = newAction { handlers.actions[sig] = n }
                return o
            }
            if a.a2 != 0 {
                var b = [UInt8](repeating: 0, count: 32)
                b.withUnsafeMutableBytes {
                    $0.storeBytes(of: old.handler, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: old.flags, toByteOffset: 8, as: UInt64.self)
                    $0.storeBytes(of: old.restorer, toByteOffset: 16, as: UInt64.self)
                    $0.storeBytes(of: old.mask.bits, toByteOffset: 24, as: UInt64.self)
                }
                try t.mm.copyOut(a.a2, b)
            }
            // Setting SIG_IGN discards pending instances of the signal.
            if newAction?.handler == SignalConstants.SIG_IGN {
                t.kernel.taskLock.withLock {
                    t.pendingSignals.removeAll { $0.signal == Int32(sig) && !$0.forced }
                    t.threadGroup.pendingSignals.removeAll { $0.signal == Int32(sig) }
                }
            }
            return 0
        }
        register(SyscallNumber.rt_sigprocmask) { (t, a) throws(Errno) -> Int in
            guard a.a3 == 8 else { throw Errno.EINVAL }
            let old = t.signalMask
            if a.a1 != 0 {
                let set = SignalSet(bits: try t.mm.read(a.a1, as: UInt64.self))
                var m = t.signalMask
                switch Int(a.int0) {
                case SignalConstants.SIG_BLOCK: m.bits |= set.bits
                case SignalConstants.SIG_UNBLOCK: m.bits &= ~set.bits
                case SignalConstants.SIG_SETMASK: m = set
                default: throw Errno.EINVAL
                }
                m.bits &= ~SignalSet.unblockable.bits
                t.kernel.taskLock.withLock { t.signalMask = m }
            }
            if a.a2 != 0 { try t.mm.write(a.a2, old.bits) }
            return 0
        }
        register(SyscallNumber.rt_sigreturn) { (t, _) throws(Errno) -> Int in
            do { try t.kernel.signals.sigreturn(t) } catch { t.exitGroup(.signaled(Signal.SIGSEGV.rawValue, core: true)) }
            t.registersReplaced = true
            return 0
        }
        register(SyscallNumber.kill) { (t, a) throws(Errno) -> Int in try t.kernel.kill(t, pid: a.int0, signal: a.int1) }
        register(SyscallNumber.tkill) { (t, a) throws(Errno) -> Int in
            guard a.int0 > 0 else { throw Errno.EINVAL }
            return try t.kernel.tgkill(t, tgid: -1, tid: a.int0, signal: a.int1)
        }
        register(SyscallNumber.tgkill) { (t, a) throws(Errno) -> Int in
            guard a.int0 > 0, a.int1 > 0 else { throw Errno.EINVAL }
            return try t.kernel.tgkill(t, tgid: a.int0, tid: a.int1, signal: a.int2)
        }
        register(SyscallNumber.rt_sigpending) { (t, a) throws(Errno) -> Int in
            guard a.a1 == 8 else { throw Errno.EINVAL }
            var set = SignalSet()
            t.kernel.taskLock.withLock { for s in t.pendingSignals + t.threadGroup.pendingSignals { set.insert(Signal(s.signal)) } }
            try t.mm.write(a.a0, set.bits & t.signalMask.bits)
            return 0
        }
        register(SyscallNumber.rt_sigsuspend) { (t, a) throws(Errno) -> Int in
            guard a.a1 == 8 else { throw Errno.EINVAL }
            let mask = SignalSet(bits: try t.mm.read(a.a0, as: UInt64.self) & ~SignalSet.unblockable.bits)
            let old = t.signalMask
            t.kernel.taskLock.withLock { t.signalMask = mask }
            while !t.hasDeliverableSignal() { t.waiter.wait() }
            // The handler runs with the temporary mask; the frame records the old one so sigreturn restores it.
            t.savedMaskForSuspend = old
            throw Errno.ERESTARTNOHAND
        }
        register(SyscallNumber.pause) { (t, _) throws(Errno) -> Int in
            while !t.hasDeliverableSignal() { t.waiter.wait() }
            throw Errno.ERESTARTNOHAND
        }
        register(SyscallNumber.rt_sigtimedwait) { (t, a) throws(Errno) -> Int in
            guard a.a3 == 8 else { throw Errno.EINVAL }
            let set = SignalSet(bits: try t.mm.read(a.a0, as: UInt64.self) & ~SignalSet.unblockable.bits)
            let deadline = a.a2 == 0 ? nil : monotonicNanoseconds() + UInt64(try t.kernel.readTimespecNanos(t, a.a2))
            var taken: PendingSignal?
            let take = { () -> PendingSignal? in
                t.kernel.taskLock.withLock {
                    if let i = t.pendingSignals.firstIndex(where: { set.contains(Signal($0.signal)) }) { return t.pendingSignals.remove(at: i) }
                    if let i = t.threadGroup.pendingSignals.firstIndex(where: { set.contains(Signal($0.signal)) }) {
                        return t.threadGroup.pendingSignals.remove(at: i)
                    }
                    return nil
                }
            }
            do throws(Errno) {
                try t.block(on: [], deadline: deadline) { () throws(Errno) -> Bool in taken = take(); return taken != nil }
            } catch {
                if error == .ETIMEDOUT { throw Errno.EAGAIN }
                throw error == .ERESTARTSYS ? Errno.EINTR : error
            }
            guard let sig = taken else { throw Errno.EAGAIN }
            if a.a1 != 0 { try t.mm.copyOut(a.a1, sig.encode()) }
            return Int(sig.signal)
        }
        register(SyscallNumber.rt_sigqueueinfo) { (t, a) throws(Errno) -> Int in
            try t.kernel.queueSignalInfo(t, tgid: a.int0, tid: nil, signal: a.int1, info: a.a2)
        }
        register(SyscallNumber.rt_tgsigqueueinfo) { (t, a) throws(Errno) -> Int in
            try t.kernel.queueSignalInfo(t, tgid: a.int0, tid: a.int1, signal: a.int2, info: a.a3)
        }
        register(SyscallNumber.sigaltstack) { (t, a) throws(Errno) -> Int in
            if a.a1 != 0 {
                var b = [UInt8](repeating: 0, count: 24)
                b.withUnsafeMutableBytes {
                    $0.storeBytes(of: t.altStack.0, toByteOffset: 0, as: UInt64.self)
                    $0.storeBytes(of: t.altStack.0 == 0 ? Int32(2) : 0, toByteOffset: 8, as: Int32.self)  // SS_DISABLE
                    $0.storeBytes(of: t.altStack.1, toByteOffset: 16, as: UInt64.self)
                }
                try t.mm.copyOut(a.a1, b)
            }
            if a.a0 != 0 {
                let sp: UInt64 = try t.mm.read(a.a0, as: UInt64.self)
                let flags: Int32 = try t.mm.read(a.a0 + 8, as: Int32.self)
                let size: UInt64 = try t.mm.read(a.a0 + 16, as: UInt64.self)
                if flags & 2 != 0 { t.altStack = (0, 0) } else {
                    guard flags == 0 || flags == Int32(bitPattern: 0x8000_0000) else { throw Errno.EINVAL }
                    guard size >= 2048 else { throw Errno.ENOMEM }
                    t.altStack = (sp, size)
                }
            }
            return 0
        }
    }
}

extension Kernel {
    /// sigqueue: a signal with a caller-supplied si_code (negative: it may not pose as the kernel) and si_value.
    func queueSignalInfo(_ task: Task, tgid: Int32, tid: Int32?, signal: Int32, info: UInt64) throws(Errno) -> Int {
        guard signal >= 1, signal <= 64 else { throw Errno.EINVAL }
        let raw = try task.mm.copyIn(info, 128)
        let code = raw.withUnsafeBytes { $0.load(fromByteOffset: 8, as: Int32.self) }
        let value = raw.withUnsafeBytes { $0.load(fromByteOffset: 24, as: UInt64.self) }
        guard code < 0, code != -6 else { throw Errno.EPERM }  // not SI_USER/kernel codes, not SI_TKILL
        let pending = PendingSignal(signal: signal, code: code, senderPID: task.threadGroup.pid, senderUID: task.credentials.uid, value: value)
        if let tid {
            guard let target = self.task(tid), target.threadGroup.pid == tgid else { throw Errno.ESRCH }
            guard mayKill(task, target.threadGroup, signal: signal) else { throw Errno.EPERM }
            target.queueSignal(pending)
        } else {
            guard let g = group(tgid), g.zombieStatus == nil else { throw Errno.ESRCH }
            guard mayKill(task, g, signal: signal) else { throw Errno.EPERM }
            sendSignal(to: g, pending)
        }
        return 0
    }

    func tgkill(_ task: Task, tgid: Int32, tid: Int32, signal: Int32) throws(Errno) -> Int {
        guard signal >= 0, signal <= 64 else { throw Errno.EINVAL }
        guard let target = self.task(tid), tgid == -1 || target.threadGroup.pid == tgid else { throw Errno.ESRCH }
        guard mayKill(task, target.threadGroup, signal: signal) else { throw Errno.EPERM }
        if signal == 0 { return 0 }
        target.queueSignal(PendingSignal(signal: signal, code: -6, senderPID: task.threadGroup.pid, senderUID: task.credentials.uid))  // SI_TKILL
        return 0
    }
}
