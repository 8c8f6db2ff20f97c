// The boot process's side of the control socket. A dedicated host thread accepts connections and answers
// requests; operations that must run on the boot's main thread (start: the Sentry's init is started on the
// thread that prepared it, because ptrace ties tracees to a thread) are handed over through a pipe, and the
// main thread answers them itself.
import CLinux
import Glibc
import Sentry
import Synchronization

/// What the boot's main thread is asked to do next.
public enum BootCommand: Equatable, Sendable {
    /// Start init, then answer the CLI on `connection` (answered by the main thread, so the answer is
    /// written before a quickly exiting container ends the process).
    case start(connection: Int32)
    /// A terminating signal arrived before `start`: the container ends without running.
    case killedBeforeStart(Int32)
    /// The control thread is gone (should not happen): treat as a kill.
    case controlLost
}

/// Shared state of a boot process between its main thread and its control thread.
public final class BootSupervisor: Sendable {
    enum Phase: Equatable { case created, starting, running, exited(Int32) }

    struct Shared {
        var phase: Phase = .created
        var waiters: [Int32] = []
        /// Requests being answered by the control thread; `finish` lets them complete before exiting.
        var inFlight = 0
    }

    private let shared = Mutex(Shared())
    private let commands: (read: Int32, write: Int32)
    private let exitStatusFD: Int32
    private let signalSandbox: @Sendable (Int32, Bool) throws -> Void
    /// The Sentry, for exec and ps (nil in tests of the protocol alone).
    let kernel: (any SentryKernel)?

    /// - Parameters:
    ///   - exitStatusFD: the file in the state directory where the final status is recorded, or -1.
    ///   - signalSandbox: delivers a signal to the container's init (or all processes) once it runs.
    public init(exitStatusFD: Int32, kernel: (any SentryKernel)? = nil,
                signalSandbox: @escaping @Sendable (Int32, Bool) throws -> Void) throws(RuntimeError) {
        self.kernel = kernel
        self.commands = try Sys.pipe()
        self.exitStatusFD = exitStatusFD
        self.signalSandbox = signalSandbox
    }

    /// Serves `listenFD` on a new host thread until the process exits.
    public func serve(listenFD: Int32) throws(RuntimeError) {
        try HostThread.detach { [self] in
            while true {
                let connection = Int32(truncatingIfNeeded: clinux_syscall6(288 /* accept4 */, Int(listenFD), 0, 0, Int(O_CLOEXEC), 0, 0))
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    // The listening socket is unusable: let the main thread know rather than hang forever.
                    _ = try? Sys.writeAll(self.commands.write, [UInt8(ascii: "x"), 0, 0, 0, 0], what: "control")
                    return
                }
                self.serveConnection(connection)
            }
        }
    }

    private func serveConnection(_ fd: Int32) {
        shared.withLock { $0.inFlight += 1 }
        defer { shared.withLock { $0.inFlight -= 1 } }
        let response: ControlResponse?
        let received = try? DescriptorPassing.readLine(fd)
        var descriptors = received?.descriptors ?? []
        defer { descriptors.forEach { close($0) } }  // those an operation did not take over
        switch received?.line.map(ControlProtocol.decodeRequest) {
        case .success(let request)? where request.op == .exec:
            response = handleExec(request, descriptors: &descriptors)
        case .success(let request)?: response = handle(request, connection: fd)
        case .failure(let error)?: response = .failure(error.message)
        case nil: response = .failure("empty control request")
        }
        if let response {
            try? Sys.writeAll(fd, ControlProtocol.encode(response), what: "control response")
            close(fd)
        }
    }

    /// true once init runs and until it has exited.
    var isRunning: Bool { shared.withLock { $0.phase == .running } }

    /// true once init has exited.
    var hasExited: Bool { shared.withLock { if case .exited = $0.phase { return true } else { return false } } }

    /// Counts a request answered on another thread, so `finish` lets it complete.
    func beginRequest() { shared.withLock { $0.inFlight += 1 } }
    func endRequest() { shared.withLock { $0.inFlight -= 1 } }

    /// Answers one request; nil means the connection was kept (a waiter) and is answered at exit.
    func handle(_ request: ControlRequest, connection fd: Int32) -> ControlResponse? {
        switch request.op {
        case .exec:
            return .failure("exec needs its stdio descriptors")  // served by handleExec
        case .execWait:
            return handleExecWait(request, connection: fd)
        case .ps:
            return handlePs()
        case .pause, .resume, .stats, .update:
            return handleLifecycleExtra(request)  // ControlLifecycle.swift
        case .state:
            let status: String
            switch shared.withLock({ $0.phase }) {
            case .created, .starting: status = "created"
            case .running: status = kernel?.isPaused == true ? "paused" : "running"
            case .exited: status = "stopped"
            }
            return ControlResponse(ok: true, status: status)
        case .wait:
            return shared.withLock { state -> ControlResponse? in
                if case .exited(let code) = state.phase { return ControlResponse(ok: true, exitStatus: code) }
                state.waiters.append(fd)
                return nil
            }
        case .start:
            let accepted = shared.withLock { state -> Bool in
                guard state.phase == .created else { return false }
                state.phase = .starting
                return true
            }
            guard accepted else { return .failure("container is not in the created state") }
            do {
                try Sys.writeAll(commands.write, message(UInt8(ascii: "s"), fd), what: "start")
                return nil
            } catch {
                return .failure(error.description)
            }
        case .signal:
            guard let signal = request.signal, signal >= 1, signal <= 64 else {
                return .failure("signal must be a number from 1 to 64")
            }
            switch shared.withLock({ $0.phase }) {
            case .exited:
                return .failure("container not running")
            case .starting:
                return .failure("container is starting; try again")
            case .created:
                // Nothing runs yet: a signal whose default action ends a process ends the container.
                if [17, 18, 19, 20, 21, 22, 23, 28].contains(signal) { return ControlResponse(ok: true) }
                do {
                    try Sys.writeAll(commands.write, message(UInt8(ascii: "k"), signal), what: "kill")
                } catch {
                    return .failure(error.description)
                }
                return ControlResponse(ok: true)
            case .running:
                do {
                    if let pid = request.pid {
                        guard let kernel else { return .failure("no sandbox kernel to signal process \(pid)") }
                        try kernel.signal(signal, process: pid)
                        return ControlResponse(ok: true)
                    }
                    try signalSandbox(signal, request.all ?? false)
                    return ControlResponse(ok: true)
                } catch {
                    return .failure("cannot deliver signal \(signal): \(error)")
                }
            }
        }
    }

    /// A command for the main thread: one byte and a 32-bit argument.
    private func message(_ op: UInt8, _ argument: Int32) -> [UInt8] {
        var bytes = [op]
        withUnsafeBytes(of: argument.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    // MARK: main thread

    /// Blocks until the CLI starts the container (or kills it first).
    public func waitForCommand() -> BootCommand {
        var message = [UInt8](repeating: 0, count: 5)
        var got = 0
        while got < 5 {
            let n = message.withUnsafeMutableBytes { Glibc.read(commands.read, $0.baseAddress! + got, 5 - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .controlLost }
            got += n
        }
        let argument = Int32(littleEndian: message[1...4].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) })
        switch message[0] {
        case UInt8(ascii: "s"): return .start(connection: argument)
        case UInt8(ascii: "k"): return .killedBeforeStart(argument)
        default: return .controlLost
        }
    }

    /// Answers the `start` request on `connection` (nil: started) and records the new phase.
    public func reportStart(connection: Int32, error: String?) {
        shared.withLock { $0.phase = error == nil ? .running : .created }
        let response = error.map { ControlResponse.failure($0) } ?? ControlResponse(ok: true)
        try? Sys.writeAll(connection, ControlProtocol.encode(response), what: "start response")
        close(connection)
    }

    /// Records the exit status, answers every waiter, and exits the boot process with `code`.
    public func finish(code: Int32) -> Never {
        let waiters = shared.withLock { state -> [Int32] in
            state.phase = .exited(code)
            let waiting = state.waiters
            state.waiters = []
            return waiting
        }
        if exitStatusFD >= 0 {
            let bytes = ExitStatusFile.encode(code)
            _ = bytes.withUnsafeBytes { pwrite(exitStatusFD, $0.baseAddress, $0.count, 0) }
        }
        let response = ControlProtocol.encode(ControlResponse(ok: true, exitStatus: code))
        for fd in waiters {
            try? Sys.writeAll(fd, response, what: "wait response")
            close(fd)
        }
        // A request answered right now (e.g. the kill that ended init) must reach its client: give the
        // control thread a moment, bounded so a stuck client cannot keep the sandbox alive.
        for _ in 0..<200 where shared.withLock({ $0.inFlight }) > 0 {
            usleep(5_000)
        }
        exit(code)
    }
}
