// Terminal ioctls (tty_ioctl(4), ioctl_tty(2)) and job control for the Sentry's pseudo-terminals: termios,
// window size, flushing, the pty master's own requests (TIOCGPTN, TIOCSPTLCK, TIOCGPTPEER), and controlling
// terminals (TIOCSCTTY, TIOCNOTTY, TIOCGPGRP/TIOCSPGRP, TIOCGSID) with SIGTTIN/SIGTTOU for background groups.
import LinuxABI

/// Request numbers of the terminal ioctls (x86-64).
enum TTYIoctl {
    static let TCGETS: UInt64 = 0x5401, TCSETS: UInt64 = 0x5402, TCSETSW: UInt64 = 0x5403, TCSETSF: UInt64 = 0x5404
    static let TCSBRK: UInt64 = 0x5409, TCXONC: UInt64 = 0x540A, TCFLSH: UInt64 = 0x540B
    static let TIOCEXCL: UInt64 = 0x540C, TIOCNXCL: UInt64 = 0x540D, TIOCSCTTY: UInt64 = 0x540E
    static let TIOCGPGRP: UInt64 = 0x540F, TIOCSPGRP: UInt64 = 0x5410, TIOCOUTQ: UInt64 = 0x5411
    static let TIOCSTI: UInt64 = 0x5412, TIOCGWINSZ: UInt64 = 0x5413, TIOCSWINSZ: UInt64 = 0x5414
    static let FIONREAD: UInt64 = 0x541B, TIOCPKT: UInt64 = 0x5420, TIOCNOTTY: UInt64 = 0x5422
    static let TIOCSETD: UInt64 = 0x5423, TIOCGETD: UInt64 = 0x5424, TCSBRKP: UInt64 = 0x5425
    static let TIOCSBRK: UInt64 = 0x5427, TIOCCBRK: UInt64 = 0x5428, TIOCGSID: UInt64 = 0x5429
    static let TCGETS2: UInt64 = 0x802C_542A, TCSETS2: UInt64 = 0x402C_542B, TCSETSW2: UInt64 = 0x402C_542C
    static let TCSETSF2: UInt64 = 0x402C_542D
    static let TIOCGPTN: UInt64 = 0x8004_5430, TIOCSPTLCK: UInt64 = 0x4004_5431, TIOCGPTLCK: UInt64 = 0x8004_5439
    static let TIOCSIG: UInt64 = 0x4004_5436, TIOCGPTPEER: UInt64 = 0x5441
}

extension TerminalDescription {
    func terminalIoctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        let t = terminal
        switch request {
        case TTYIoctl.TCGETS, TTYIoctl.TCGETS2:
            let bytes = t.lock.withLock { t.ld.termios.encode(termios2: request == TTYIoctl.TCGETS2) }
            try task.mm.copyOut(argument, bytes)
            return 0
        case TTYIoctl.TCSETS, TTYIoctl.TCSETSW, TTYIoctl.TCSETSF, TTYIoctl.TCSETS2, TTYIoctl.TCSETSW2, TTYIoctl.TCSETSF2:
            let two = request == TTYIoctl.TCSETS2 || request == TTYIoctl.TCSETSW2 || request == TTYIoctl.TCSETSF2
            let bytes = try task.mm.copyIn(argument, two ? Termios.size2 : Termios.size)
            if !isMaster { try t.checkBackgroundChange(task) }
            // Output to a pty is "sent" as soon as it is queued for the master, so the W variants need no wait.
            let flush = request == TTYIoctl.TCSETSF || request == TTYIoctl.TCSETSF2
            t.lock.withLock {
                if flush { t.ld.flushInput() }
                t.ld.setTermios(Termios(bytes: bytes, keeping: t.ld.termios))
            }
            t.replicaQueue.notify(); t.masterQueue.notify()
            return 0
        case TTYIoctl.TIOCGWINSZ:
            let ws = t.lock.withLock { t.windowSize }
            var bytes: [UInt8] = []
            for v in ws { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
            try task.mm.copyOut(argument, bytes)
            return 0
        case TTYIoctl.TIOCSWINSZ:
            let b = try task.mm.copyIn(argument, 8)
            let ws = (0..<4).map { UInt16(b[2 * $0]) | UInt16(b[2 * $0 + 1]) << 8 }
            t.setWindowSize(ws)
            return 0
        case TTYIoctl.FIONREAD:
            let n = t.lock.withLock { isMaster ? t.ld.output.count : t.ld.readyCount }
            try task.mm.write(argument, Int32(clamping: n))
            return 0
        case TTYIoctl.TIOCOUTQ:
            let n = t.lock.withLock { isMaster ? 0 : t.ld.output.count }
            try task.mm.write(argument, Int32(clamping: n))
            return 0
        case TTYIoctl.TCFLSH:
            // Seen from the master, its input is the replica's output and the other way round.
            var which = Int(Int32(truncatingIfNeeded: argument))
            guard (0...2).contains(which) else { throw Errno.EINVAL }
            if isMaster && which != 2 { which = 1 - which }
            t.lock.withLock {
                if which == 0 || which == 2 { t.ld.flushInput() }
                if which == 1 || which == 2 { t.ld.flushOutput() }
            }
            t.replicaQueue.notify(); t.masterQueue.notify()
            return 0
        case TTYIoctl.TCXONC:
            // Flow control is not modelled: suspending or resuming output is accepted and does nothing.
            guard (0...3).contains(Int32(truncatingIfNeeded: argument)) else { throw Errno.EINVAL }
            return 0
        case TTYIoctl.TCSBRK, TTYIoctl.TCSBRKP, TTYIoctl.TIOCSBRK, TTYIoctl.TIOCCBRK, TTYIoctl.TIOCEXCL, TTYIoctl.TIOCNXCL:
            return 0  // breaks and exclusive mode mean nothing on a pseudo-terminal here
        case TTYIoctl.TIOCGETD:
            try task.mm.write(argument, Int32(0))  // N_TTY
            return 0
        case TTYIoctl.TIOCSETD:
            let d: Int32 = try task.mm.read(argument, as: Int32.self)
            guard d == 0 else { throw Errno.EINVAL }
            return 0
        case TTYIoctl.TIOCPKT:
            // Packet mode is not implemented: turning it off is the only accepted request.
            let on: Int32 = try task.mm.read(argument, as: Int32.self)
            guard isMaster else { throw Errno.ENOTTY }
            guard on == 0 else { throw Errno.EINVAL }
            return 0
        case TTYIoctl.TIOCSTI:
            throw Errno.EIO  // as Linux with dev.tty.legacy_tiocsti=0 for unprivileged callers
        case TTYIoctl.TIOCSCTTY:
            try t.setControllingTerminal(task, steal: argument == 1)
            return 0
        case TTYIoctl.TIOCNOTTY:
            guard !isMaster else { throw Errno.ENOTTY }
            try t.dropControllingTerminal(task)
            return 0
        case TTYIoctl.TIOCGPGRP:
            let group = try t.controlInfo(task, master: isMaster).foreground
            try task.mm.write(argument, group)
            return 0
        case TTYIoctl.TIOCGSID:
            let sid = try t.controlInfo(task, master: isMaster).session
            try task.mm.write(argument, sid)
            return 0
        case TTYIoctl.TIOCSPGRP:
            let group: Int32 = try task.mm.read(argument, as: Int32.self)
            try t.setForeground(group, task: task, master: isMaster)
            return 0
        case TTYIoctl.TIOCGPTN where isMaster:
            try task.mm.write(argument, UInt32(t.index))
            return 0
        case TTYIoctl.TIOCSPTLCK where isMaster:
            let v: Int32 = try task.mm.read(argument, as: Int32.self)
            t.lock.withLock { t.locked = v != 0 }
            return 0
        case TTYIoctl.TIOCGPTLCK where isMaster:
            let v: Int32 = t.lock.withLock { t.locked ? 1 : 0 }
            try task.mm.write(argument, v)
            return 0
        case TTYIoctl.TIOCSIG where isMaster:
            let sig = Int32(truncatingIfNeeded: argument)
            guard sig >= 1 && sig <= 64 else { throw Errno.EINVAL }
            let group = t.lock.withLock { t.session == nil ? 0 : t.foreground }
            if group > 0 { t.kernel.signalProcessGroup(group, sig) }
            return 0
        case TTYIoctl.TIOCGPTPEER where isMaster:
            return try openPeer(flags: Int(Int32(truncatingIfNeeded: argument)), task: task)
        default:
            throw Errno.ENOTTY
        }
    }

    /// TIOCGPTPEER: opens the replica from the master without a path walk (flags: access mode, O_NOCTTY,
    /// O_CLOEXEC, O_NONBLOCK).
    private func openPeer(flags: Int, task: Task) throws(Errno) -> Int {
        let allowed = OpenFlags.O_ACCMODE | OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK
        guard flags & ~allowed == 0, flags & OpenFlags.O_ACCMODE != OpenFlags.O_ACCMODE else { throw Errno.EINVAL }
        let closed = terminal.lock.withLock { terminal.locked || terminal.hungUp }
        if closed { throw Errno.EIO }
        // Name it /dev/pts/N when that path leads to this very node (ttyname reads the fd's link).
        let named = try? task.kernel.resolve(task: task, path: "/dev/pts/\(terminal.index)", follow: true)
        let dentry = named.flatMap { $0.inode === terminal.replicaInode ? $0 : nil }
        let file = ReplicaDescription(terminal: terminal, flags: flags & ~(OpenFlags.O_NOCTTY | OpenFlags.O_CLOEXEC), dentry: dentry)
        if flags & OpenFlags.O_NOCTTY == 0 { terminal.acquireAsControllingTerminal(by: task) }
        return Int(try task.fdTable.add(file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0))
    }
}

// MARK: Controlling terminals and job control

extension PseudoTerminal {
    /// The caller's session id, process group id and whether it leads its session.
    private func identity(_ task: Task) -> (sid: Int32, pgid: Int32, leader: Bool) {
        kernel.taskLock.withLock {
            let g = task.threadGroup
            return (g.sessionID, g.processGroupID, g.pid == g.sessionID)
        }
    }

    /// Whether this terminal is the controlling terminal of session `sid` (a dead session's claim is dropped).
    private func controls(_ sid: Int32) -> Bool {
        guard lock.withLock({ session == sid }) else { return false }
        if kernel.sessionAlive(sid) { return true }
        lock.withLock { if session == sid { session = nil; foreground = 0 } }
        return false
    }

    /// Opening a terminal without O_NOCTTY makes it the controlling terminal of a session leader that has none.
    func acquireAsControllingTerminal(by task: Task) {
        let me = identity(task)
        guard me.leader else { return }
        if kernel.ptys.controllingTerminal(session: me.sid, kernel: kernel) != nil { return }
        if let other = controlledSession, other != me.sid, kernel.sessionAlive(other) { return }
        lock.withLock {
            guard !hungUp else { return }
            session = me.sid
            foreground = me.pgid
        }
    }

    /// TIOCSCTTY: only a session leader without a controlling terminal; taking a terminal that controls
    /// another session needs `steal` and CAP_SYS_ADMIN.
    func setControllingTerminal(_ task: Task, steal: Bool) throws(Errno) {
        let me = identity(task)
        guard me.leader else { throw Errno.EPERM }
        if controls(me.sid) { return }
        if kernel.ptys.controllingTerminal(session: me.sid, kernel: kernel) != nil { throw Errno.EPERM }
        if let other = controlledSession, other != me.sid, kernel.sessionAlive(other) {
            let capSysAdmin: UInt64 = 1 << 21
            guard steal, task.capabilities.effective & capSysAdmin != 0 else { throw Errno.EPERM }
        }
        lock.withLock { session = me.sid; foreground = me.pgid }
    }

    /// TIOCNOTTY: a session leader gives up its controlling terminal (its foreground group gets SIGHUP and
    /// SIGCONT); another member only loses its own association, which this model does not keep per process.
    func dropControllingTerminal(_ task: Task) throws(Errno) {
        let me = identity(task)
        guard controls(me.sid) else { throw Errno.ENOTTY }
        guard me.leader else { return }
        let group: Int32 = lock.withLock {
            let g = foreground
            session = nil; foreground = 0
            return g
        }
        if group > 0 {
            kernel.signalProcessGroup(group, Signal.SIGHUP.rawValue)
            kernel.signalProcessGroup(group, Signal.SIGCONT.rawValue)
        }
    }

    /// For TIOCGPGRP/TIOCGSID: ENOTTY unless this is the caller's controlling terminal (the master may ask
    /// whenever the replica controls a session).
    func controlInfo(_ task: Task, master: Bool) throws(Errno) -> (session: Int32, foreground: Int32) {
        if master {
            guard let sid = controlledSession, kernel.sessionAlive(sid) else { throw Errno.ENOTTY }
            return lock.withLock { (sid, foreground) }
        }
        let me = identity(task)
        guard controls(me.sid) else { throw Errno.ENOTTY }
        return lock.withLock { (me.sid, foreground) }
    }

    /// TIOCSPGRP: the group must exist in the caller's session, whose controlling terminal this is.
    func setForeground(_ group: Int32, task: Task, master: Bool) throws(Errno) {
        guard group >= 0 else { throw Errno.EINVAL }
        let sid: Int32
        if master {
            guard let s = controlledSession, kernel.sessionAlive(s) else { throw Errno.ENOTTY }
            sid = s
        } else {
            let me = identity(task)
            guard controls(me.sid) else { throw Errno.ENOTTY }
            try checkBackgroundChange(task)
            sid = me.sid
        }
        switch kernel.processGroupSession(group) {
        case nil: throw Errno.ESRCH
        case let s? where s != sid: throw Errno.EPERM
        default: break
        }
        lock.withLock { foreground = group }
    }

    /// A read (SIGTTIN) or a TOSTOP write (SIGTTOU) from a background group of the session this terminal
    /// controls stops that group. A read with SIGTTIN ignored or blocked fails with EIO; a write with SIGTTOU
    /// ignored or blocked goes ahead.
    func checkBackgroundAccess(_ task: Task, signal: Int32) throws(Errno) {
        let me = identity(task)
        let background = lock.withLock { session == me.sid && foreground != me.pgid }
        guard background, kernel.sessionAlive(me.sid) else { return }
        if signalIgnoredOrBlocked(task, signal) {
            if signal == Signal.SIGTTIN.rawValue { throw Errno.EIO }
            return
        }
        kernel.signalProcessGroup(me.pgid, signal)
        throw Errno.ERESTARTSYS
    }

    /// tcsetattr and tcsetpgrp from a background group: SIGTTOU unless it is ignored or blocked.
    func checkBackgroundChange(_ task: Task) throws(Errno) {
        let me = identity(task)
        let background = lock.withLock { session == me.sid && foreground != me.pgid }
        guard background, kernel.sessionAlive(me.sid) else { return }
        if signalIgnoredOrBlocked(task, Signal.SIGTTOU.rawValue) { return }
        kernel.signalProcessGroup(me.pgid, Signal.SIGTTOU.rawValue)
        throw Errno.ERESTARTSYS
    }

    private func signalIgnoredOrBlocked(_ task: Task, _ signal: Int32) -> Bool {
        let handlers = task.threadGroup.handlers
        let ignored = handlers.lock.withLock { handlers.actions[Int(signal)].handler == SignalConstants.SIG_IGN }
        let blocked = kernel.taskLock.withLock { task.signalMask.contains(Signal(signal)) }
        return ignored || blocked
    }

    /// TIOCSWINSZ (or a resized host console): a change is announced to the foreground group with SIGWINCH.
    func setWindowSize(_ ws: [UInt16]) {
        let group: Int32? = lock.withLock {
            guard windowSize != ws else { return nil }
            windowSize = ws
            return session == nil ? 0 : foreground
        }
        if let group, group > 0 { kernel.signalProcessGroup(group, Signal.SIGWINCH.rawValue) }
    }
}

extension Kernel {
    /// Sends `signal` (as the kernel: SI_KERNEL) to every live process of process group `pgid`.
    func signalProcessGroup(_ pgid: Int32, _ signal: Int32) {
        let targets = taskLock.withLock { groups.values.filter { $0.processGroupID == pgid && $0.zombieStatus == nil } }
        for g in targets { sendSignal(to: g, PendingSignal(signal: signal, code: 0x80)) }
    }

    /// A session exists while its leader (the process whose pid is the session id) is alive in it.
    func sessionAlive(_ sid: Int32) -> Bool {
        taskLock.withLock {
            guard let g = groups[sid] else { return false }
            return g.zombieStatus == nil && !g.exiting && g.sessionID == sid
        }
    }

    /// The session of live process group `pgid`, nil if no process is in it.
    func processGroupSession(_ pgid: Int32) -> Int32? {
        taskLock.withLock { groups.values.first { $0.processGroupID == pgid && $0.zombieStatus == nil }?.sessionID }
    }
}
