// A container's console: the host gives the Sentry the replica of a host pty (its master went to the
// --console-socket); the Sentry puts that host replica in raw mode and copies bytes both ways between it and
// the master of a Sentry pseudo-terminal, whose replica is the process's terminal. So the line discipline,
// echo and ^C → SIGINT are the Sentry's own; the host tty only carries bytes.
//
// Window size: a resize on the host master (docker resize) changes the host replica's size and sends
// SIGWINCH to the host replica's foreground group — but the Sentry is not in a session with that terminal,
// and a SIGWINCH handler in the Sentry would interrupt host waits on arbitrary threads (signals are the
// ptrace platform's channel). So the input thread wakes at least every 100 ms and compares TIOCGWINSZ
// (one ioctl), passing a change on as TIOCSWINSZ on the Sentry pty (SIGWINCH to the app's foreground group).
import CLinux
import Glibc
import LinuxABI

final class ConsoleBridge: @unchecked Sendable {
    let hostFD: Int32
    let terminal: PseudoTerminal
    /// Wakes the output thread when the app wrote something.
    private let outputWaiter = Waiter()
    private let lock = Lock()
    private var writing = false
    private var closed = false
    static let resizePollMillis: Int32 = 100

    init(hostFD: Int32, terminal: PseudoTerminal) {
        self.hostFD = hostFD; self.terminal = terminal
    }

    /// Raw mode on the host replica: no echo, no line editing, no signals, no CR/NL translation there.
    static func makeRaw(_ fd: Int32) throws(Errno) {
        var t = termios()
        if tcgetattr(fd, &t) != 0 { throw Errno(errno) }
        cfmakeraw(&t)
        if tcsetattr(fd, TCSANOW, &t) != 0 { throw Errno(errno) }
    }

    static func hostWindowSize(_ fd: Int32) -> [UInt16]? {
        var ws = winsize()
        guard clinuxIoctl(fd, TTYIoctl.TIOCGWINSZ, UInt(bitPattern: withUnsafeMutablePointer(to: &ws) { UnsafeMutableRawPointer($0) })) == 0 else { return nil }
        return [ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel]
    }

    func start() {
        terminal.masterQueue.waiters.add(outputWaiter)
        let input: @Sendable () -> Void = { [self] in runInput() }
        let output: @Sendable () -> Void = { [self] in runOutput() }
        startHostThread(input)
        startHostThread(output)
    }

    /// Host → Sentry: typed bytes go through the Sentry's line discipline.
    private func runInput() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var lastSize = ConsoleBridge.hostWindowSize(hostFD)
        while true {
            var p = pollfd(fd: hostFD, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, ConsoleBridge.resizePollMillis)
            if let size = ConsoleBridge.hostWindowSize(hostFD), size != lastSize {
                lastSize = size
                terminal.setWindowSize(size)
            }
            if lock.withLock({ closed }) { break }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(hostFD, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }  // the host master is gone (EIO) or closed
            var done = 0
            let waiter = Waiter()
            terminal.masterQueue.waiters.add(waiter)
            while done < n {
                let k = buffer[done..<n].withUnsafeBytes { terminal.receiveInput($0) }
                done += k
                if k == 0 { waiter.wait(deadline: monotonicNanoseconds() + 100_000_000) }  // input queue full
            }
            terminal.masterQueue.waiters.remove(waiter)
        }
        shutDown()
        close(hostFD)  // only this thread uses the descriptor for waiting, so only it closes it
    }

    /// Sentry → host: what the app (and the echo) wrote.
    private func runOutput() {
        while true {
            let chunk: ArraySlice<UInt8>? = terminal.lock.withLock {
                if terminal.ld.output.isEmpty { return nil }
                return terminal.ld.takeOutput(4096)
            }
            guard let chunk else {
                if lock.withLock({ closed }) { return }
                // Every replica descriptor is closed and all output is out: the host master sees the hang-up
                // once the input thread closes the host replica.
                if terminal.lock.withLock({ terminal.replicaClosed }) { shutDown(); return }
                outputWaiter.wait(deadline: monotonicNanoseconds() + 500_000_000)
                continue
            }
            lock.withLock { writing = true }
            terminal.replicaQueue.notify(PollEvents.POLLOUT)
            var off = chunk.startIndex
            while off < chunk.endIndex {
                let n = chunk[off...].withUnsafeBytes { Glibc.write(hostFD, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                off += n
            }
            lock.withLock { writing = false }
        }
    }

    /// The host side went away (or the app closed its terminal): like closing the master of the Sentry pty
    /// (SIGHUP to the session if it still has the terminal).
    func shutDown() {
        let first = lock.withLock { () -> Bool in
            if closed { return false }
            closed = true
            return true
        }
        if first { terminal.masterClosed() }
        outputWaiter.notify()
    }

    /// Waits (up to `timeout` nanoseconds) until what the app wrote has reached the host: the boot exits
    /// right after init, and the last line of output must not be lost.
    func drain(timeout: UInt64) {
        let deadline = monotonicNanoseconds() + timeout
        while monotonicNanoseconds() < deadline {
            let pending = terminal.lock.withLock { !terminal.ld.output.isEmpty } || lock.withLock { writing }
            if !pending || lock.withLock({ closed }) { return }
            outputWaiter.notify()
            usleep(2_000)
        }
    }
}

/// Runs `body` on a detached host thread (the bridge's threads live as long as the sandbox).
private func startHostThread(_ body: @escaping @Sendable () -> Void) {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let box = Unmanaged.passRetained(Box(body))
    var thread = pthread_t()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setstacksize(&attr, 256 << 10)
    let r = pthread_create(&thread, &attr, { arg in
        guard let arg else { return nil }
        let b = Unmanaged<Box>.fromOpaque(arg).takeRetainedValue()
        b.body()
        return nil
    }, box.toOpaque())
    pthread_attr_destroy(&attr)
    if r == 0 { pthread_detach(thread) } else { box.release() }
}

extension Kernel {
    /// Makes host descriptor `hostFD` (a host pty replica) the terminal of `task`: a new Sentry pty whose
    /// replica becomes fds 0, 1 and 2 and the controlling terminal of the task's session (the task leads
    /// its own session and process group). The kernel owns `hostFD` from now on.
    func attachConsole(hostFD: Int32, task: Task) throws -> ConsoleBridge {
        do { try ConsoleBridge.makeRaw(hostFD) } catch {
            throw SentryError("the console descriptor \(hostFD) is not a terminal: \(error)")
        }
        let creds = task.credentials
        let terminal: PseudoTerminal
        do { terminal = try ptys.allocate(kernel: self, owner: (creds.uid, creds.gid)) } catch {
            throw SentryError("cannot allocate a pseudo-terminal for the console: \(error)")
        }
        let (sid, pgid) = taskLock.withLock { (task.threadGroup.sessionID, task.threadGroup.processGroupID) }
        terminal.lock.withLock {
            terminal.locked = false
            terminal.session = sid
            terminal.foreground = pgid
            if let size = ConsoleBridge.hostWindowSize(hostFD) { terminal.windowSize = size }
        }
        let named = try? resolve(task: task, path: "/dev/pts/\(terminal.index)", follow: true)
        let dentry = named.flatMap { $0.inode === terminal.replicaInode ? $0 : nil }
        let file = ReplicaDescription(terminal: terminal, flags: OpenFlags.O_RDWR, dentry: dentry)
        for fd in 0..<3 { _ = try? task.fdTable.set(Int32(fd), file, closeOnExec: false) }
        let bridge = ConsoleBridge(hostFD: hostFD, terminal: terminal)
        bridge.start()
        return bridge
    }
}
