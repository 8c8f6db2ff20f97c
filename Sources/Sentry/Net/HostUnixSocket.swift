// `--host-uds=open|all`: an app unix socket connected to a host socket file. connect() to a socket file
// on a Gofer-served mount that no sandbox socket is bound to asks the Gofer for a host AF_UNIX socket of
// the same type, connected to that file; the donated descriptor becomes the app socket's peer and its
// I/O, shutdown and readiness go to the host. The Sentry itself never calls socket() or connect().
// Passing descriptors over it is refused in both directions: SCM_RIGHTS on send gives EPERM, and any
// the host peer sends are discarded by the host kernel (no control buffer: MSG_CTRUNC). SO_PEERCRED
// shows no peer (pid 0, overflow ids): the host peer's identity is not the app's business.
import Glibc
import LinuxABI

/// The host end of a host-connected app socket: a non-blocking host descriptor the Sentry owns.
final class HostUnixPeer: @unchecked Sendable {
    private let lock = Lock()
    private var fd: Int32
    /// What getpeername() reports: the path the app connected to.
    let address: UnixAddress

    init(fd: Int32, address: UnixAddress) { self.fd = fd; self.address = address }
    deinit { close() }

    /// The descriptor, or EBADF once closed.
    private func descriptor() throws(Errno) -> Int32 {
        let d = lock.withLock { fd }
        if d < 0 { throw Errno.EBADF }
        return d
    }

    func hostDescriptor() throws(Errno) -> Int32 { try descriptor() }

    func close() {
        let d: Int32 = lock.withLock { let d = fd; fd = -1; return d }
        if d >= 0 { Glibc.close(d) }
    }

    /// Host readiness, polled without waiting (the poll bits are Linux's on both sides).
    func pollEvents() -> UInt32 {
        guard let d = try? descriptor() else { return PollEvents.POLLNVAL }
        var p = pollfd(fd: d, events: Int16(truncatingIfNeeded: POLLIN | POLLOUT | POLLPRI | Int32(PollEvents.POLLRDHUP)), revents: 0)
        guard Glibc.poll(&p, 1, 0) > 0 else { return 0 }
        var e = UInt32(UInt16(bitPattern: p.revents))
        if e & PollEvents.POLLIN != 0 { e |= PollEvents.POLLRDNORM }
        if e & PollEvents.POLLOUT != 0 { e |= PollEvents.POLLWRNORM }
        return e
    }

    func send(_ data: [UInt8], flags: Int32, nonBlocking: Bool, task: Task) throws(Errno) -> Int {
        let d = try descriptor()
        // MSG_NOSIGNAL always: SIGPIPE is the caller's to raise, to the app, not to the Sentry.
        let hostFlags = (flags & (SocketABI.MSG_EOR | SocketABI.MSG_MORE)) | SocketABI.MSG_NOSIGNAL | SocketABI.MSG_DONTWAIT
        return try task.blockingHostIO(fd: d, forWrite: true, nonBlocking: nonBlocking) {
            Glibc.send(d, data, data.count, hostFlags)
        }
    }

    func receive(into buffers: [UnsafeMutableRawBufferPointer], flags: Int32, nonBlocking: Bool,
                 task: Task) throws(Errno) -> UnixReceived {
        let d = try descriptor()
        let want = buffers.reduce(0) { $0 + $1.count }
        let hostFlags = (flags & (SocketABI.MSG_PEEK | SocketABI.MSG_TRUNC | SocketABI.MSG_WAITALL)) | SocketABI.MSG_DONTWAIT
        var iov = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        var result = UnixReceived()
        var messageFlags: Int32 = 0
        let n = try iov.withUnsafeMutableBufferPointer { v throws(Errno) -> Int in
            try task.blockingHostIO(fd: d, forWrite: false, nonBlocking: nonBlocking) {
                // No control buffer: descriptors the host peer passes are closed by the host kernel.
                var header = msghdr(msg_name: nil, msg_namelen: 0, msg_iov: v.baseAddress, msg_iovlen: v.count,
                                    msg_control: nil, msg_controllen: 0, msg_flags: 0)
                let r = Glibc.recvmsg(d, &header, hostFlags)
                messageFlags = header.msg_flags
                return r
            }
        }
        result.copied = min(n, want)
        result.fullLength = n
        result.truncated = messageFlags & SocketABI.MSG_TRUNC != 0
        return result
    }

    func shutdown(_ how: Int32) throws(Errno) {
        let d = try descriptor()
        if Glibc.shutdown(d, how) != 0 { throw Errno(errno) }
    }
}

extension UnixSocket {
    /// connect() to `address` when no sandbox socket is bound there: with --host-uds=open|all and a socket
    /// file on a Gofer-served mount, connects through the Gofer and returns true. Returns false when the
    /// path is not such a file (the caller reports ECONNREFUSED, as without the flag).
    func connectHost(_ address: UnixAddress, task: Task) throws(Errno) -> Bool {
        guard task.kernel.config.hostUDSConnect, !address.isAbstract, !address.isUnnamed else { return false }
        let dentry = try task.kernel.resolve(task: task, path: address.pathString, follow: true)
        let st = try dentry.inode.stat()
        guard st.mode & FileMode.S_IFMT == FileMode.S_IFSOCK else { return false }
        let gofer: GoferInode?
        if let g = dentry.inode as? GoferInode { gofer = g } else { gofer = (dentry.inode as? OverlayInode)?.lower }
        guard let gofer else { return false }
        // Linux asks for write permission on the socket file; the Gofer's own connect would not check ours.
        try task.kernel.checkAccess(task, st, read: false, write: true, execute: false)
        try UnixSocket.locked { () throws(Errno) in
            if state == .connected { throw Errno.EISCONN }
            if state == .listening { throw Errno.EINVAL }
        }
        let fd = try task.kernel.gofer.connectSocket(gofer.handle, type: type)
        let host = HostUnixPeer(fd: fd, address: address)
        try UnixSocket.locked { () throws(Errno) in
            if state != .unconnected { throw Errno.EISCONN }  // another thread connected meanwhile; host closes
            hostPeer = host
            state = .connected
        }
        queue.notify()
        return true
    }

    /// The host peer, if this socket is connected to a host socket.
    var hostConnection: HostUnixPeer? { UnixSocket.stateLock.withLock { hostPeer } }
}
