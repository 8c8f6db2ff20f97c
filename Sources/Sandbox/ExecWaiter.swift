// The host process that stands for an exec'd process: clients that manage processes by host pid (containerd's
// shim, podman's conmon, a shell running `runsc exec`) wait for it and signal it; it waits for the process in
// the sandbox and passes on every signal it gets.
import Glibc

extension ContainerManager {
    /// Signals a waiter passes on: everything a user or a shim sends, but not what belongs to the waiter's
    /// own terminal or children (SIGCHLD, SIGWINCH, SIGURG, SIGPIPE) and not the two that cannot be caught.
    static let forwardedSignals: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU,
        SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGSYS, SIGTRAP, SIGABRT, SIGSTKFLT,
    ]

    /// Blocks until exec'd process `pid` exits, passing the signals this process receives on to it;
    /// returns its status (code, or 128+N for signal N).
    public func waitExecForwardingSignals(id: String, pid: Int32) throws(RuntimeError) -> Int32 {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in Self.forwardedSignals { sigaddset(&set, signal) }
        // Blocked before the forwarding thread exists, so every thread inherits the mask and sigwait sees all.
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let manager = self
        let blocked = set
        try HostThread.detach {
            var wanted = blocked
            while true {
                var signal: Int32 = 0
                guard sigwait(&wanted, &signal) == 0 else { continue }
                do {
                    try manager.signalExec(id: id, pid: pid, signal: signal)
                } catch {
                    manager.log.debug("container \"\(id)\": forwarding signal \(signal) to process \(pid): \(error)")
                }
            }
        }
        return try waitExec(id: id, pid: pid)
    }

    /// Writes the pid a client waits on to `path` (atomically).
    public func recordPid(_ path: String, pid: pid_t) throws(RuntimeError) {
        try writePidFile(path, pid: pid)
    }
}
