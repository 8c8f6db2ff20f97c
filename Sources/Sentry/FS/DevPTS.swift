// Pseudo-terminals: /dev/ptmx opens a new master, /dev/pts/N its replica, /dev/tty the caller's controlling
// terminal. A `PseudoTerminal` is the shared state of one pair: the line discipline (LineDiscipline.swift),
// window size, lock (TIOCSPTLCK), open counts, and the session it controls with its foreground process group.
// Ioctls and job control live in TerminalControl.swift; the bridge to a host console in ConsoleBridge.swift.
//
// Lock order: the kernel's taskLock is never taken while a terminal's lock is held (session and process-group
// ids are read first, then the terminal is locked).
import Glibc
import LinuxABI

private let devptsDevice: UInt64 = 0x0b
private let ttyMajor: UInt64 = 5, ptsMajor: UInt64 = 136

/// Linux's dev_t encoding of (major, minor).
func makeDeviceNumber(_ major: UInt64, _ minor: UInt64) -> UInt64 {
    ((major & 0xfff) << 8) | (minor & 0xff) | ((minor & ~0xff) << 12)
}

/// The sandbox's pseudo-terminals by index (one devpts instance per sandbox).
final class PTYRegistry: @unchecked Sendable {
    private let lock = Lock()
    private var terminals: [Int: PseudoTerminal] = [:]
    /// Linux's default /proc/sys/kernel/pty/max.
    static let maximum = 4096

    /// A new pair with the lowest free index, locked (as posix_openpt leaves it), its master counted open.
    func allocate(kernel: Kernel, owner: (UInt32, UInt32)) throws(Errno) -> PseudoTerminal {
        try lock.withLock { () throws(Errno) -> PseudoTerminal in
            guard terminals.count < PTYRegistry.maximum else { throw Errno.ENOSPC }
            var index = 0
            while terminals[index] != nil { index += 1 }
            let t = PseudoTerminal(index: index, kernel: kernel, registry: self, owner: owner)
            terminals[index] = t
            return t
        }
    }

    /// The replica's node goes away when its master is closed (the replica may stay open).
    func remove(_ t: PseudoTerminal) {
        lock.withLock { if terminals[t.index] === t { terminals.removeValue(forKey: t.index) } }
    }

    var all: [PseudoTerminal] { lock.withLock { terminals.values.sorted { $0.index < $1.index } } }
    func terminal(_ index: Int) -> PseudoTerminal? { lock.withLock { terminals[index] } }

    /// The leader of session `sid` has exited: its terminal is released, and the foreground group gets
    /// SIGHUP (as Linux does on exit; no SIGCONT then).
    func sessionEnded(_ sid: Int32, kernel: Kernel) {
        for t in all {
            let group: Int32? = t.lock.withLock {
                guard t.session == sid else { return nil }
                let g = t.foreground
                t.session = nil; t.foreground = 0
                return g
            }
            guard let group, group > 0 else { continue }
            kernel.signalProcessGroup(group, Signal.SIGHUP.rawValue)
        }
    }

    /// The controlling terminal of session `sid`, if the session still exists (its leader is alive).
    func controllingTerminal(session sid: Int32, kernel: Kernel) -> PseudoTerminal? {
        guard let t = all.first(where: { $0.controlledSession == sid }) else { return nil }
        return kernel.sessionAlive(sid) ? t : nil
    }
}

/// One master/replica pair.
final class PseudoTerminal: @unchecked Sendable {
    let index: Int
    unowned let kernel: Kernel
    private weak var registry: PTYRegistry?
    let lock = Lock()
    var ld = LineDiscipline()
    /// struct winsize: rows, columns, x pixels, y pixels.
    var windowSize: [UInt16] = [0, 0, 0, 0]
    var locked = true
    var masterOpen = 1
    var replicaOpen = 0
    var replicaEverOpened = false
    /// The master is gone: replica reads see end of file, writes EIO.
    var hungUp = false
    /// The session this is the controlling terminal of, and its foreground process group.
    var session: Int32?
    var foreground: Int32 = 0
    /// The master is readable when there is output, the replica when there is input.
    let masterQueue = ReadinessQueue()
    let replicaQueue = ReadinessQueue()
    private(set) var replicaInode: ReplicaInode!
    let owner: (uid: UInt32, gid: UInt32)

    init(index: Int, kernel: Kernel, registry: PTYRegistry, owner: (UInt32, UInt32)) {
        self.index = index; self.kernel = kernel; self.registry = registry; self.owner = owner
        replicaInode = ReplicaInode(terminal: self)
    }

    var controlledSession: Int32? { lock.withLock { session } }
    var replicaClosed: Bool { replicaEverOpened && replicaOpen == 0 }

    /// Feeds bytes typed at the master through the line discipline; returns how many were taken. Raises the
    /// ISIG signals in the foreground group and wakes both ends.
    func receiveInput(_ bytes: UnsafeRawBufferPointer) -> Int {
        let (taken, signals, group, echoed) = lock.withLock { () -> (Int, [Int32], Int32, Bool) in
            let before = ld.output.count
            let (n, s) = ld.receive(bytes)
            return (n, s, session == nil ? 0 : foreground, ld.output.count != before || !s.isEmpty)
        }
        if taken > 0 { replicaQueue.notify(PollEvents.POLLIN) }
        if echoed { masterQueue.notify(PollEvents.POLLIN) }
        if group > 0 { for s in signals { kernel.signalProcessGroup(group, s) } }
        return taken
    }

    /// The last master descriptor is gone: hang up the replica (SIGHUP and SIGCONT to the foreground group
    /// and the session leader), and forget the session.
    func masterClosed() {
        let (sid, group): (Int32?, Int32) = lock.withLock {
            masterOpen -= 1
            guard masterOpen == 0 else { return (nil, 0) }
            hungUp = true
            let s = session
            session = nil
            return (s, s == nil ? 0 : foreground)
        }
        registry?.remove(self)
        replicaQueue.notify(PollEvents.POLLIN | PollEvents.POLLHUP)
        masterQueue.notify(PollEvents.POLLHUP)
        guard let sid else { return }
        for target in Set([group, sid]) where target > 0 {
            kernel.signalProcessGroup(target, Signal.SIGHUP.rawValue)
            kernel.signalProcessGroup(target, Signal.SIGCONT.rawValue)
        }
    }

    func replicaOpened() { lock.withLock { replicaOpen += 1; replicaEverOpened = true } }
    func replicaReleased() {
        lock.withLock { replicaOpen -= 1 }
        masterQueue.notify(PollEvents.POLLHUP | PollEvents.POLLIN)
    }

    /// The replica's stat: a character device (136, N) owned by whoever opened the master.
    var replicaStat: FileStat {
        let t = Timespec.now()
        return FileStat(device: devptsDevice, inode: replicaInode.number, mode: FileMode.S_IFCHR | 0o620, nlink: 1,
                        uid: owner.uid, gid: owner.gid, rdev: makeDeviceNumber(ptsMajor, UInt64(index)),
                        atime: t, mtime: t, ctime: t)
    }
}

// MARK: Inodes

/// /dev/pts/N.
final class ReplicaInode: Inode, @unchecked Sendable {
    unowned let terminal: PseudoTerminal
    let number = Inode.allocateNumber()
    init(terminal: PseudoTerminal) { self.terminal = terminal }
    override func stat() throws(Errno) -> FileStat { terminal.replicaStat }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        let closed = terminal.lock.withLock { terminal.locked || terminal.hungUp }
        if closed { throw Errno.EIO }
        let file = ReplicaDescription(terminal: terminal, flags: flags & ~OpenFlags.O_NOCTTY, dentry: dentry)
        if flags & OpenFlags.O_NOCTTY == 0 { terminal.acquireAsControllingTerminal(by: task) }
        return file
    }
}

/// A tty character device node of the Sentry's /dev (major 5): rw for everyone, like Linux's.
class TTYDeviceNodeInode: Inode, @unchecked Sendable {
    let number = Inode.allocateNumber()
    let device: UInt64
    let minor: UInt64
    init(device: UInt64, minor: UInt64) { self.device = device; self.minor = minor }
    override func stat() throws(Errno) -> FileStat {
        let t = Timespec.now()
        return FileStat(device: device, inode: number, mode: FileMode.S_IFCHR | 0o666, nlink: 1,
                        rdev: makeDeviceNumber(ttyMajor, minor), atime: t, mtime: t, ctime: t)
    }
}

/// /dev/ptmx and /dev/pts/ptmx (5:2): each open makes a new pair.
final class PtmxInode: TTYDeviceNodeInode, @unchecked Sendable {
    init(device: UInt64) { super.init(device: device, minor: 2) }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        let creds = task.credentials
        let t = try task.kernel.ptys.allocate(kernel: task.kernel, owner: (creds.euid, creds.egid))
        return MasterDescription(terminal: t, flags: flags & ~OpenFlags.O_NOCTTY, dentry: dentry)
    }
}

/// /dev/console (5:1), present when the container has a terminal (process.terminal): that terminal, as
/// runc binds the console pty there.
final class ConsoleInode: TTYDeviceNodeInode, @unchecked Sendable {
    init(device: UInt64) { super.init(device: device, minor: 1) }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        guard let bridge = task.kernel.consoleLock.withLock({ task.kernel.consoles.first }) else { throw Errno.ENXIO }
        return try ReplicaInode(terminal: bridge.terminal).open(flags, dentry: dentry, task: task)
    }
}

/// /dev/tty (5:0): the caller's controlling terminal (ENXIO without one).
final class ControllingTTYInode: TTYDeviceNodeInode, @unchecked Sendable {
    init(device: UInt64) { super.init(device: device, minor: 0) }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        let sid = task.kernel.taskLock.withLock { task.threadGroup.sessionID }
        guard let t = task.kernel.ptys.controllingTerminal(session: sid, kernel: task.kernel) else { throw Errno.ENXIO }
        if t.lock.withLock({ t.hungUp }) { throw Errno.EIO }
        return ReplicaDescription(terminal: t, flags: flags & ~OpenFlags.O_NOCTTY, dentry: dentry)
    }
}

/// The devpts directory: `ptmx` and one node per pair whose master is open.
final class DevPTSDirectory: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    let ptmx = PtmxInode(device: devptsDevice)
    init(kernel: Kernel) { self.kernel = kernel; super.init(mode: 0o755, device: devptsDevice) }
    override func children(task: Task?) -> [(String, Inode)] {
        [("ptmx", ptmx)] + kernel.ptys.all.map { (String($0.index), $0.replicaInode as Inode) }
    }
}

// MARK: Descriptions

/// Shared by both ends: stat as the replica node, never seekable.
class TerminalDescription: FileDescription, @unchecked Sendable {
    let terminal: PseudoTerminal
    init(terminal: PseudoTerminal, flags: Int, dentry: Dentry?) {
        self.terminal = terminal
        super.init(flags: flags, dentry: dentry)
    }
    var isMaster: Bool { false }
    override func stat() throws(Errno) -> FileStat {
        if let d = dentry { return try d.inode.stat() }
        return terminal.replicaStat
    }
    override func seek(_ offset: Int64, whence: Int) throws(Errno) -> Int64 { throw Errno.ESPIPE }
    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        try terminalIoctl(request, argument, task: task)
    }

    /// The most one read or write moves: a huge app buffer is not copied whole into the Sentry (the queues
    /// hold a few KiB anyway); a write of more returns a short count, as tty writes may.
    static let transferLimit = 65536

    /// Copies app buffers into one array, up to `transferLimit` bytes.
    static func gather(_ buffers: [UnsafeMutableRawBufferPointer]) -> [UInt8] {
        var data: [UInt8] = []
        for b in buffers where data.count < transferLimit {
            data.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[0..<min(b.count, transferLimit - data.count)]))
        }
        return data
    }

    /// Scatters `data` into `buffers`.
    static func scatter(_ data: ArraySlice<UInt8>, into buffers: [UnsafeMutableRawBufferPointer]) {
        var i = data.startIndex
        for b in buffers where i < data.endIndex {
            let n = min(b.count, data.endIndex - i)
            data[i..<(i + n)].withUnsafeBytes { src in
                if let s = src.baseAddress, let d = b.baseAddress { d.copyMemory(from: s, byteCount: n) }
            }
            i += n
        }
    }
}

/// The master end (an open of /dev/ptmx).
final class MasterDescription: TerminalDescription, @unchecked Sendable {
    override var isMaster: Bool { true }
    override var readinessQueue: ReadinessQueue { terminal.masterQueue }

    override func release() {
        super.release()
        terminal.masterClosed()
    }

    /// Output of the replica; EIO once every replica descriptor has been closed and the output is drained.
    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        let want = buffers.reduce(0) { $0 + $1.count }
        if want == 0 { return 0 }
        var data = ArraySlice<UInt8>()
        try task.block(on: [terminal.masterQueue.waiters]) { () throws(Errno) -> Bool in
            try terminal.lock.withLock { () throws(Errno) -> Bool in
                if !terminal.ld.output.isEmpty { data = terminal.ld.takeOutput(want); return true }
                if terminal.replicaClosed { throw Errno.EIO }
                if nonBlocking { throw Errno.EAGAIN }
                return false
            }
        }
        TerminalDescription.scatter(data, into: buffers)
        terminal.replicaQueue.notify(PollEvents.POLLOUT)
        return data.count
    }

    /// Typing at the terminal: blocks while the replica's input queue is full.
    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        let data = TerminalDescription.gather(buffers)
        var written = 0
        while written < data.count {
            do {
                try task.block(on: [terminal.masterQueue.waiters]) { () throws(Errno) -> Bool in
                    let n = data[written...].withUnsafeBytes { terminal.receiveInput($0) }
                    written += n
                    if n > 0 { return true }
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
            } catch {
                if written > 0 { return written }
                throw error
            }
        }
        return written
    }

    override func pollEvents(task: Task?) -> UInt32 {
        terminal.lock.withLock {
            var e: UInt32 = 0
            if !terminal.ld.output.isEmpty { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if terminal.ld.inputRoom > 0 { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
            if terminal.replicaClosed { e |= PollEvents.POLLHUP }
            return e
        }
    }
}

/// The replica end (/dev/pts/N, /dev/tty, TIOCGPTPEER, or a console).
final class ReplicaDescription: TerminalDescription, @unchecked Sendable {
    override init(terminal: PseudoTerminal, flags: Int, dentry: Dentry?) {
        super.init(terminal: terminal, flags: flags, dentry: dentry)
        terminal.replicaOpened()
    }
    override var readinessQueue: ReadinessQueue { terminal.replicaQueue }

    override func release() {
        super.release()
        terminal.replicaReleased()
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        try terminal.checkBackgroundAccess(task, signal: Signal.SIGTTIN.rawValue)
        let want = min(buffers.reduce(0) { $0 + $1.count }, TerminalDescription.transferLimit)
        if want == 0 { return 0 }
        var data = [UInt8](repeating: 0, count: want)
        let (canonical, vmin, vtime) = terminal.lock.withLock {
            (terminal.ld.canonical, Int(terminal.ld.termios.cc[TermiosBits.VMIN]), UInt64(terminal.ld.termios.cc[TermiosBits.VTIME]))
        }
        // How many bytes must be queued before a read returns, and the timeout (VTIME, tenths of a second).
        let needed = canonical ? 1 : min(max(vmin, 0), want)
        let interval = vtime * 100_000_000
        var deadline: UInt64? = !canonical && vmin == 0 && vtime > 0 ? monotonicNanoseconds() + interval : nil
        var got = 0
        var lastCount = 0
        while true {
            var restart = false
            do {
                try task.block(on: [terminal.replicaQueue.waiters], deadline: deadline) { () throws(Errno) -> Bool in
                    try terminal.lock.withLock { () throws(Errno) -> Bool in
                        let queued = terminal.ld.readyCount
                        let ready: Bool
                        if canonical { ready = terminal.ld.readable }
                        else if vmin == 0 { ready = vtime == 0 || queued > 0 }
                        else { ready = queued >= needed }
                        // Non-blocking reads return what there is; a hung-up terminal reads as end of file.
                        if ready || terminal.hungUp || (nonBlocking && !canonical && queued > 0) {
                            got = data.withUnsafeMutableBytes { terminal.ld.read(into: $0) }
                            return true
                        }
                        if nonBlocking { throw Errno.EAGAIN }
                        // VMIN and VTIME both set: VTIME is the gap allowed between bytes once one has come.
                        if !canonical && vmin > 0 && vtime > 0 && queued > lastCount {
                            lastCount = queued
                            deadline = monotonicNanoseconds() + interval
                            restart = true
                            return true
                        }
                        return false
                    }
                }
                if restart { continue }
                break
            } catch {
                guard error == .ETIMEDOUT else { throw error }
                // The timer ran out: whatever has arrived is the answer (possibly nothing).
                got = terminal.lock.withLock { data.withUnsafeMutableBytes { terminal.ld.read(into: $0) } }
                break
            }
        }
        TerminalDescription.scatter(data[0..<got], into: buffers)
        if got > 0 { terminal.masterQueue.notify(PollEvents.POLLOUT) }
        return got
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        let tostop = terminal.lock.withLock { terminal.ld.termios.has(l: TermiosBits.TOSTOP) }
        if tostop { try terminal.checkBackgroundAccess(task, signal: Signal.SIGTTOU.rawValue) }
        let data = TerminalDescription.gather(buffers)
        if data.isEmpty { return 0 }
        var written = 0
        while written < data.count {
            do {
                try task.block(on: [terminal.replicaQueue.waiters]) { () throws(Errno) -> Bool in
                    try terminal.lock.withLock { () throws(Errno) -> Bool in
                        if terminal.hungUp { throw Errno.EIO }
                        let n = data[written...].withUnsafeBytes { terminal.ld.transmit($0) }
                        written += n
                        if n > 0 { return true }
                        if nonBlocking { throw Errno.EAGAIN }
                        return false
                    }
                }
            } catch {
                if written > 0 { terminal.masterQueue.notify(PollEvents.POLLIN); return written }
                throw error
            }
            terminal.masterQueue.notify(PollEvents.POLLIN)
        }
        return written
    }

    override func pollEvents(task: Task?) -> UInt32 {
        terminal.lock.withLock {
            if terminal.hungUp {
                return PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLOUT | PollEvents.POLLWRNORM
                    | PollEvents.POLLERR | PollEvents.POLLHUP
            }
            var e: UInt32 = 0
            if terminal.ld.readable { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if terminal.ld.outputRoom > 1 { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
            return e
        }
    }
}
