// `--host-uds=create|all`: an app unix socket bound to a path on a Gofer-served mount. bind() asks the
// Gofer for a host AF_UNIX socket bound at that name (stream and seqpacket ones already listening), so
// host processes can reach a service in the sandbox. The donated descriptor is the socket's `hostBound`:
// listen() only marks the app socket listening, accept() takes host connections from it (each becomes a
// socket connected to a host peer, as in HostUnixSocket.swift), and a bound datagram socket receives
// from it. Closing closes the descriptor; the socket file stays on the host until unlinked, as on Linux.
// Sandbox sockets connecting to that path do not reach this listener inside the Sentry: with `all` they
// go out to the host file and back in, with `create` alone they are refused (ECONNREFUSED).
import CLinux
import Glibc
import LinuxABI

extension UnixSocket {
    /// bind() of a path whose directory is served by the Gofer, when --host-uds allows creating: returns
    /// false when the path is not such a place (the caller binds inside the sandbox as usual).
    func bindHost(_ address: UnixAddress, task: Task) throws(Errno) -> Bool {
        guard task.kernel.config.hostUDSCreate, !address.isAbstract, !address.isUnnamed else { return false }
        let (parent, name) = try task.kernel.resolveParent(task: task, path: address.pathString)
        guard let directory = parent.inode as? GoferInode else { return false }
        guard !name.isEmpty, name != ".", name != ".." else { throw Errno.EADDRINUSE }
        if (try? parent.child(name, task: task)) != nil { throw Errno.EADDRINUSE }
        guard !parent.readOnly else { throw Errno.EROFS }
        // Creating a name needs write and search permission on the directory (the Gofer runs as root).
        try task.kernel.checkAccess(task, try directory.stat(), read: false, write: true, execute: true)
        try UnixSocket.locked { () throws(Errno) in if local != nil { throw Errno.EINVAL } }
        let fd: Int32
        do { fd = try task.kernel.gofer.bindSocket(directory.handle, name: Array(name.utf8), type: type) } catch {
            throw error == .EEXIST ? Errno.EADDRINUSE : error
        }
        let host = HostUnixPeer(fd: fd, address: address)
        let lost = UnixSocket.stateLock.withLock { () -> Bool in
            if local != nil { return true }
            local = address
            hostBound = host
            return false
        }
        // Another thread bound this socket meanwhile: ours loses (its host file stays until unlinked).
        if lost { host.close(); throw Errno.EINVAL }
        parent.invalidate(name)
        return true
    }

    /// The host socket bound for this one, if any.
    var hostListener: HostUnixPeer? { UnixSocket.stateLock.withLock { hostBound } }

    /// accept(2) on a host-bound listener: the next host connection, as a socket with a host peer.
    func acceptHost(_ host: HostUnixPeer, task: Task) throws(Errno) -> UnixSocket {
        try UnixSocket.locked { () throws(Errno) in if state != .listening { throw Errno.EINVAL } }
        let fd = try host.accept(nonBlocking: nonBlocking, task: task)
        let conn = UnixSocket(type: type, kernelID: kernelID, credentials: UnixSocket.stateLock.withLock { ownCredentials })
        UnixSocket.stateLock.withLock {
            conn.local = local
            conn.hostPeer = HostUnixPeer(fd: Int32(fd), address: .unnamed)
            conn.state = .connected
        }
        return conn
    }

    /// Readiness of a host-bound socket: a waiting connection (listener) or datagram (POLLIN).
    func hostBoundEvents(_ host: HostUnixPeer) -> UInt32 {
        let e = host.pollEvents()
        let listening = UnixSocket.stateLock.withLock { state == .listening }
        if listening || isConnectionOriented { return e & (PollEvents.POLLIN | PollEvents.POLLRDNORM | PollEvents.POLLNVAL) }
        return e
    }
}

extension HostUnixPeer {
    /// accept4 on the host listener (non-blocking and close-on-exec on the host side, whatever the app
    /// asked: the app's flags live on the sandbox socket).
    func accept(nonBlocking: Bool, task: Task) throws(Errno) -> Int {
        let d = try hostDescriptor()
        return try task.blockingHostIO(fd: d, forWrite: false, nonBlocking: nonBlocking) {
            // Glibc's accept4 is not imported into Swift; the raw call sets errno the same way.
            clinux_syscall6(SyscallNumber.accept4, Int(d), 0, 0, Int(SocketABI.SOCK_NONBLOCK | SocketABI.SOCK_CLOEXEC), 0, 0)
        }
    }
}
