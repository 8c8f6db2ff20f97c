// AF_UNIX sockets: stream, seqpacket and datagram, with SCM_RIGHTS/SCM_CREDENTIALS carried alongside the
// bytes. A connected socket writes into its peer's receive queue; connect() creates the server-side
// socket at once and queues it on the listener until accept() takes it (as Linux does).
//
// All unix socket state is guarded by one lock (`UnixSocket.stateLock`): operations touch both ends of a
// connection, and one lock rules out ordering mistakes. Notifications and releases of passed files
// happen after it is dropped.
import LinuxABI

/// struct ucred: who sent a message, or who is at the other end (SO_PEERCRED).
struct UnixCredentials: Equatable {
    var pid: Int32, uid: UInt32, gid: UInt32
    init(pid: Int32, uid: UInt32, gid: UInt32) { self.pid = pid; self.uid = uid; self.gid = gid }
    init(task: Task) { self.init(pid: task.threadGroup.pid, uid: task.credentials.euid, gid: task.credentials.egid) }
}

/// One queued write (a datagram, a seqpacket record, or a run of stream bytes).
final class UnixMessage {
    var data: [UInt8]
    var consumed = 0
    /// Files in flight (SCM_RIGHTS); each holds one reference of its description until received or dropped.
    var rights: [FileDescription]
    let credentials: UnixCredentials
    let sender: UnixAddress
    init(data: [UInt8], rights: [FileDescription], credentials: UnixCredentials, sender: UnixAddress) {
        self.data = data; self.rights = rights; self.credentials = credentials; self.sender = sender
    }
    var remaining: Int { data.count - consumed }
}

/// What one receive produced.
struct UnixReceived {
    var copied = 0
    /// The length of the datagram/record (for MSG_TRUNC), or `copied` for streams.
    var fullLength = 0
    var truncated = false
    /// Received files: the caller installs them and drops one reference of each.
    var rights: [FileDescription] = []
    var credentials: UnixCredentials?
    var sender = UnixAddress.unnamed
}

/// Drops the in-flight reference of passed files (closing those no descriptor refers to any more).
func dropInFlight(_ files: [FileDescription]) {
    for f in files where f.references.drop() { f.release() }
}

final class UnixSocket: FileDescription, @unchecked Sendable {
    enum State { case unconnected, listening, connected }
    static let stateLock = Lock()
    static let maxQueuedDatagrams = 512

    let type: Int32
    let kernelID: ObjectIdentifier
    let number = Inode.allocateNumber()
    let queue = ReadinessQueue()
    // Guarded by stateLock:
    var state = State.unconnected
    var local: UnixAddress?
    var peer: UnixSocket?
    var incoming: [UnixMessage] = []
    var incomingBytes = 0
    var backlog: [UnixSocket] = []
    var backlogLimit = 0
    /// Linux's sk_shutdown: set by our own shutdown() and by the peer's (its SHUT_WR is our read side).
    var receiveShut = false, sendShut = false
    var released = false
    var pendingError: Errno?
    var receiveBuffer = SocketABI.defaultBufferSize, sendBuffer = SocketABI.defaultBufferSize
    var passCredentials = false, reuseAddress = false
    var peerCredentials: UnixCredentials?
    /// The creator's credentials: what a connecting peer sees through SO_PEERCRED of a listener.
    var ownCredentials: UnixCredentials
    /// Datagram sockets connected to this one: told when room appears in our queue.
    var datagramSenders: [ObjectIdentifier: UnixSocketRef] = [:]
    var receiveTimeout: UInt64?, sendTimeout: UInt64?
    /// Set by bind(); server-side sockets report their listener's name without owning it.
    var ownsName = false
    /// Set by connect() to a host socket file (`--host-uds`, HostUnixSocket.swift): I/O goes there.
    var hostPeer: HostUnixPeer?
    /// Set by bind() on a Gofer mount (`--host-uds=create|all`, HostUnixListener.swift): a host socket
    /// bound there, accepted from (stream, seqpacket) or received from (datagram).
    var hostBound: HostUnixPeer?

    init(type: Int32, task: Task, flags: Int) {
        self.type = type
        kernelID = ObjectIdentifier(task.kernel)
        ownCredentials = UnixCredentials(task: task)
        super.init(flags: OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK), dentry: nil)
    }

    var isConnectionOriented: Bool { type != SocketABI.SOCK_DGRAM }
    override var readinessQueue: ReadinessQueue { queue }

    static func locked<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T { try stateLock.withLock(body) }

    /// A connected pair (socketpair).
    static func pair(type: Int32, task: Task, flags: Int) -> (UnixSocket, UnixSocket) {
        let a = UnixSocket(type: type, task: task, flags: flags), b = UnixSocket(type: type, task: task, flags: flags)
        a.state = .connected; b.state = .connected
        a.peer = b; b.peer = a
        a.peerCredentials = a.ownCredentials; b.peerCredentials = b.ownCredentials
        if type == SocketABI.SOCK_DGRAM {
            a.datagramSenders[ObjectIdentifier(b)] = UnixSocketRef(b)
            b.datagramSenders[ObjectIdentifier(a)] = UnixSocketRef(a)
        }
        return (a, b)
    }

    // MARK: Names and connections

    func bind(_ address: UnixAddress, task: Task) throws(Errno) -> UnixAddress {
        try UnixSocket.locked { () throws(Errno) in if local != nil { throw Errno.EINVAL } }
        if try bindHost(address, task: task) { return address }
        let bound = address.isUnnamed ? try UnixNamespace.shared.autobind(self, task: task) : address
        if !address.isUnnamed { try UnixNamespace.shared.bind(self, to: address, task: task) }
        let lost = UnixSocket.stateLock.withLock { () -> Bool in
            if local != nil { return true }
            local = bound
            ownsName = true
            return false
        }
        if lost { UnixNamespace.shared.unbind(self, address: bound, kernel: kernelID); throw Errno.EINVAL }
        return bound
    }

    func listen(backlog requested: Int32, task: Task) throws(Errno) {
        guard isConnectionOriented else { throw Errno.EOPNOTSUPP }
        try UnixSocket.locked { () throws(Errno) in
            guard local != nil, state != .connected else { throw Errno.EINVAL }
            state = .listening
            backlogLimit = Int(UInt32(bitPattern: requested) > 4096 ? 4096 : requested)
            ownCredentials = UnixCredentials(task: task)
        }
        queue.notify(PollEvents.POLLOUT)
    }

    /// connect(2) of a stream/seqpacket socket: queues a new server-side socket on the listener.
    func connect(to address: UnixAddress, task: Task) throws(Errno) {
        if type == SocketABI.SOCK_DGRAM { return try connectDatagram(to: address, task: task) }
        let listener: UnixSocket
        do { listener = try UnixNamespace.shared.lookup(address, type: type, task: task) } catch {
            if error == .ECONNREFUSED, try connectHost(address, task: task) { return }
            throw error
        }
        let nonblock = nonBlocking
        try task.block(on: [listener.queue.waiters]) { () throws(Errno) -> Bool in
            try UnixSocket.locked { () throws(Errno) -> Bool in
                if state == .connected { throw Errno.EISCONN }
                if state == .listening { throw Errno.EINVAL }
                guard listener.type == type else { throw Errno.EPROTOTYPE }
                guard listener.state == .listening, !listener.released else { throw Errno.ECONNREFUSED }
                if listener.backlog.count > listener.backlogLimit {
                    if nonblock { throw Errno.EAGAIN }
                    return false
                }
                let server = UnixSocket(type: type, kernelID: kernelID, credentials: listener.ownCredentials)
                server.state = .connected
                server.peer = self
                server.local = listener.local
                server.peerCredentials = UnixCredentials(task: task)
                server.passCredentials = listener.passCredentials
                state = .connected
                peer = server
                peerCredentials = listener.ownCredentials
                listener.backlog.append(server)
                return true
            }
        }
        listener.queue.notify(PollEvents.POLLIN)
    }

    /// A server-side socket made by connect(); it has no descriptor until accept() installs it.
    init(type: Int32, kernelID: ObjectIdentifier, credentials: UnixCredentials) {
        self.type = type; self.kernelID = kernelID; ownCredentials = credentials
        super.init(flags: OpenFlags.O_RDWR, dentry: nil)
    }

    private func connectDatagram(to address: UnixAddress, task: Task) throws(Errno) {
        let target: UnixSocket
        do { target = try UnixNamespace.shared.lookup(address, type: type, task: task) } catch {
            if error == .ECONNREFUSED, try connectHost(address, task: task) { return }
            throw error
        }
        try UnixSocket.locked { () throws(Errno) in
            guard target.type == type else { throw Errno.EPROTOTYPE }
            guard !target.released else { throw Errno.ECONNREFUSED }
            // A socket connected to someone else takes datagrams only from that peer.
            if let tp = target.peer, tp !== self, target !== self { throw Errno.EPERM }
            if let old = peer { old.datagramSenders.removeValue(forKey: ObjectIdentifier(self)) }
            peer = target
            peerCredentials = target.ownCredentials
            target.datagramSenders[ObjectIdentifier(self)] = UnixSocketRef(self)
            state = .connected
        }
        queue.notify()
    }

    /// connect(AF_UNSPEC) on a datagram socket: forget the default destination.
    func disconnect() throws(Errno) {
        guard type == SocketABI.SOCK_DGRAM else { throw Errno.EAFNOSUPPORT }
        UnixSocket.stateLock.withLock {
            if let old = peer { old.datagramSenders.removeValue(forKey: ObjectIdentifier(self)) }
            peer = nil
            state = .unconnected
        }
        queue.notify()
    }

    /// accept(2): the next queued connection.
    func accept(task: Task) throws(Errno) -> UnixSocket {
        if let host = hostListener { return try acceptHost(host, task: task) }
        try UnixSocket.locked { () throws(Errno) in if state != .listening { throw Errno.EINVAL } }
        var taken: UnixSocket?
        let deadline = UnixSocket.stateLock.withLock { receiveTimeout }.map { monotonicNanoseconds() &+ $0 }
        do {
            try task.block(on: [queue.waiters], deadline: deadline) { () throws(Errno) -> Bool in
                try UnixSocket.locked { () throws(Errno) -> Bool in
                    if state != .listening { throw Errno.EINVAL }
                    if backlog.isEmpty {
                        if nonBlocking { throw Errno.EAGAIN }
                        return false
                    }
                    taken = backlog.removeFirst()
                    return true
                }
            }
        } catch {
            throw error == .ETIMEDOUT ? Errno.EAGAIN : error  // SO_RCVTIMEO ran out
        }
        queue.notify(PollEvents.POLLOUT)  // room in the backlog for a blocked connect()
        guard let taken else { throw Errno.EAGAIN }
        return taken
    }

    func shutdown(_ how: Int32) throws(Errno) {
        guard how >= SocketABI.SHUT_RD, how <= SocketABI.SHUT_RDWR else { throw Errno.EINVAL }
        if let host = hostConnection { try host.shutdown(how) }
        let p: UnixSocket? = try UnixSocket.locked { () throws(Errno) -> UnixSocket? in
            let rd = how != SocketABI.SHUT_WR, wr = how != SocketABI.SHUT_RD
            if rd { receiveShut = true }
            if wr { sendShut = true }
            guard isConnectionOriented, let p = peer else { return nil }
            if rd { p.sendShut = true }
            if wr { p.receiveShut = true }
            return p
        }
        queue.notify()
        p?.queue.notify()
    }

    var localAddress: UnixAddress { UnixSocket.stateLock.withLock { local ?? .unnamed } }

    func peerAddress() throws(Errno) -> UnixAddress {
        try UnixSocket.locked { () throws(Errno) -> UnixAddress in
            if state == .connected, let host = hostPeer { return host.address }
            guard state == .connected, let p = peer else { throw Errno.ENOTCONN }
            return p.local ?? .unnamed
        }
    }

    // MARK: Closing

    override func release() {
        var dropped: [FileDescription] = []
        var embryos: [UnixSocket] = []
        var toNotify: [UnixSocket] = []
        let name: UnixAddress? = UnixSocket.stateLock.withLock {
            released = true
            hostPeer?.close()
            hostBound?.close()
            for m in incoming { dropped += m.rights }
            let hadUnread = !incoming.isEmpty
            incoming = []; incomingBytes = 0
            embryos = backlog; backlog = []
            if let p = peer {
                if isConnectionOriented {
                    p.receiveShut = true; p.sendShut = true
                    if hadUnread { p.pendingError = .ECONNRESET }
                } else {
                    p.datagramSenders.removeValue(forKey: ObjectIdentifier(self))
                }
                toNotify.append(p)
            }
            for s in datagramSenders.values { if let s = s.socket { toNotify.append(s) } }
            datagramSenders = [:]
            peer = nil  // the peer keeps pointing at us (getpeername); dropping ours breaks the cycle
            return local
        }
        if let name, ownsName { UnixNamespace.shared.unbind(self, address: name, kernel: kernelID) }
        queue.notifyReleased(self)
        queue.notify()
        for s in toNotify { s.queue.notify() }
        for e in embryos { e.release() }
        dropInFlight(dropped)
    }

    // MARK: Poll

    override func pollEvents(task: Task?) -> UInt32 {
        if let host = hostConnection { return host.pollEvents() }
        if let host = hostListener { return hostBoundEvents(host) }
        return UnixSocket.stateLock.withLock {
            var e: UInt32 = 0
            if state == .listening { return backlog.isEmpty ? 0 : PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if pendingError != nil { e |= PollEvents.POLLERR }
            if receiveShut && sendShut { e |= PollEvents.POLLHUP }
            if receiveShut { e |= PollEvents.POLLRDHUP | PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if !incoming.isEmpty { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if isConnectionOriented && state == .unconnected { e |= PollEvents.POLLHUP }
            var writable = true
            if let p = peer, !p.released, !sendShut, state == .connected {
                writable = p.incomingBytes < p.receiveBuffer && (isConnectionOriented || p.incoming.count < UnixSocket.maxQueuedDatagrams)
            }
            if writable { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
            return e
        }
    }

    /// A host-connected socket cannot notify: pollers look at it again on a short interval.
    override var readinessNeedsRecheck: Bool { UnixSocket.stateLock.withLock { hostPeer != nil || hostBound != nil } }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        // read(2) has no control buffer: files passed with the bytes are closed.
        let r = try receive(into: buffers, flags: 0, task: task)
        dropInFlight(r.rights)
        return r.copied
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        if at != nil { throw Errno.ESPIPE }
        var data: [UInt8] = []
        for b in buffers { data.append(contentsOf: b) }
        return try send(data, rights: [], credentials: nil, to: nil, flags: 0, task: task)
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x08, inode: number, mode: FileMode.S_IFSOCK | 0o777, nlink: 1, blockSize: 4096)
    }

    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        switch request {
        case SocketABI.SIOCINQ:
            let n = UnixSocket.stateLock.withLock { () -> Int in
                if state == .listening { return 0 }
                return isConnectionOriented && type == SocketABI.SOCK_STREAM ? incomingBytes : (incoming.first?.remaining ?? 0)
            }
            try task.mm.write(argument, Int32(clamping: n))
            return 0
        case SocketABI.SIOCOUTQ:
            let n = UnixSocket.stateLock.withLock { peer.map { $0.incomingBytes } ?? 0 }
            try task.mm.write(argument, Int32(clamping: n))
            return 0
        default:
            throw Errno.ENOTTY
        }
    }
}

/// A weak reference to a socket (datagram senders).
struct UnixSocketRef {
    weak var socket: UnixSocket?
    init(_ s: UnixSocket) { socket = s }
}
