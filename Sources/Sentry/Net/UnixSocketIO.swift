// Moving bytes (and passed files) through unix sockets: send and receive for the three socket types.
import LinuxABI

/// Copies `bytes` into the app buffers, starting `offset` bytes into them.
func scatter(_ bytes: ArraySlice<UInt8>, into buffers: [UnsafeMutableRawBufferPointer], at offset: Int) {
    var skip = offset
    var src = bytes.startIndex
    for b in buffers {
        if src == bytes.endIndex { break }
        if skip >= b.count { skip -= b.count; continue }
        let n = min(b.count - skip, bytes.endIndex - src)
        bytes.withUnsafeBytes { p in
            (b.baseAddress! + skip).copyMemory(from: p.baseAddress! + (src - bytes.startIndex), byteCount: n)
        }
        src += n
        skip = 0
    }
}

extension UnixSocket {
    /// Sends `data` with `rights` (whose in-flight references this takes over: they are dropped when the
    /// send fails). EPIPE raises SIGPIPE unless MSG_NOSIGNAL. Returns the bytes sent.
    func send(_ data: [UInt8], rights: [FileDescription], credentials: UnixCredentials?, to address: UnixAddress?,
              flags: Int32, task: Task) throws(Errno) -> Int {
        var pending = rights
        defer { dropInFlight(pending) }
        let creds = credentials ?? UnixCredentials(task: task)
        do throws(Errno) {
            if let host = hostConnection {
                // Sandbox files never reach the host (HostUnixSocket.swift); pending are dropped by the defer.
                guard rights.isEmpty else { throw Errno.EPERM }
                if address != nil { throw Errno.EISCONN }
                return try host.send(data, flags: flags, nonBlocking: nonBlocking(flags), task: task)
            }
            if type == SocketABI.SOCK_DGRAM { return try sendDatagram(data, rights: &pending, credentials: creds, to: address, flags: flags, task: task) }
            return try sendConnected(data, rights: &pending, credentials: creds, to: address, flags: flags, task: task)
        } catch {
            if error == .EPIPE && flags & SocketABI.MSG_NOSIGNAL == 0 {
                task.queueSignal(PendingSignal(signal: Signal.SIGPIPE.rawValue, code: 0, senderPID: task.threadGroup.pid))
            }
            throw error
        }
    }

    private func nonBlocking(_ flags: Int32) -> Bool { nonBlocking || flags & SocketABI.MSG_DONTWAIT != 0 }

    private func sendConnected(_ data: [UInt8], rights: inout [FileDescription], credentials: UnixCredentials,
                               to address: UnixAddress?, flags: Int32, task: Task) throws(Errno) -> Int {
        let stream = type == SocketABI.SOCK_STREAM
        if stream, address != nil {
            let connected = UnixSocket.stateLock.withLock { state == .connected }
            throw connected ? Errno.EISCONN : Errno.EOPNOTSUPP
        }
        let nonblock = nonBlocking(flags)
        let deadline = UnixSocket.stateLock.withLock { sendTimeout }.map { monotonicNanoseconds() &+ $0 }
        var sent = 0
        repeat {
            var target: UnixSocket?
            do {
                try task.block(on: [queue.waiters], deadline: deadline) { () throws(Errno) -> Bool in
                    try UnixSocket.locked { () throws(Errno) -> Bool in
                        guard state == .connected, let p = peer else { throw Errno.ENOTCONN }
                        if sendShut || p.released || p.receiveShut { throw Errno.EPIPE }
                        let remaining = data.count - sent
                        if stream && remaining == 0 { return true }  // a zero-length stream write sends nothing
                        let room = p.receiveBuffer - p.incomingBytes
                        if !stream && remaining > max(p.receiveBuffer, sendBuffer) { throw Errno.EMSGSIZE }
                        // Records go in whole; stream bytes go in as far as there is room.
                        if stream ? room <= 0 : (room < remaining && !p.incoming.isEmpty) {
                            if nonblock { throw Errno.EAGAIN }
                            return false
                        }
                        let n = stream ? min(room, remaining) : remaining
                        p.incoming.append(UnixMessage(data: Array(data[sent..<(sent + n)]), rights: rights, credentials: credentials,
                                                      sender: local ?? .unnamed))
                        rights = []
                        p.incomingBytes += n
                        sent += n
                        target = p
                        return true
                    }
                }
            } catch {
                // Linux returns what was sent before the error (and no SIGPIPE then).
                if sent > 0 && [Errno.EAGAIN, .ERESTARTSYS, .ETIMEDOUT, .EPIPE].contains(error) { return sent }
                throw error == .ETIMEDOUT ? Errno.EAGAIN : error
            }
            target?.queue.notify(PollEvents.POLLIN)
        } while sent < data.count
        return sent
    }

    private func sendDatagram(_ data: [UInt8], rights: inout [FileDescription], credentials: UnixCredentials,
                              to address: UnixAddress?, flags: Int32, task: Task) throws(Errno) -> Int {
        let target: UnixSocket
        if let address {
            target = try UnixNamespace.shared.lookup(address, type: type, task: task)
        } else {
            target = try UnixSocket.locked { () throws(Errno) -> UnixSocket in
                guard let p = peer else { throw Errno.ENOTCONN }
                return p
            }
        }
        let nonblock = nonBlocking(flags)
        let deadline = UnixSocket.stateLock.withLock { sendTimeout }.map { monotonicNanoseconds() &+ $0 }
        do {
            try task.block(on: [queue.waiters, target.queue.waiters], deadline: deadline) { () throws(Errno) -> Bool in
                try UnixSocket.locked { () throws(Errno) -> Bool in
                    if sendShut { throw Errno.EPIPE }
                    guard target.type == type else { throw Errno.EPROTOTYPE }
                    if target.released { throw Errno.ECONNREFUSED }
                    // A socket connected to someone else takes datagrams only from that peer.
                    if let tp = target.peer, tp !== self, target !== self { throw Errno.EPERM }
                    if data.count > target.receiveBuffer { throw Errno.EMSGSIZE }
                    if target.incoming.count >= UnixSocket.maxQueuedDatagrams
                        || (target.incomingBytes + data.count > target.receiveBuffer && !target.incoming.isEmpty) {
                        if nonblock { throw Errno.EAGAIN }
                        return false
                    }
                    target.incoming.append(UnixMessage(data: data, rights: rights, credentials: credentials, sender: local ?? .unnamed))
                    rights = []
                    target.incomingBytes += data.count
                    return true
                }
            }
        } catch {
            throw error == .ETIMEDOUT ? Errno.EAGAIN : error
        }
        target.queue.notify(PollEvents.POLLIN)
        return data.count
    }

    /// Receives into `buffers`. Passed files come back in `rights` with one reference each for the caller.
    func receive(into buffers: [UnsafeMutableRawBufferPointer], flags: Int32, task: Task) throws(Errno) -> UnixReceived {
        if let host = hostConnection {
            return try host.receive(into: buffers, flags: flags, nonBlocking: nonBlocking(flags), task: task)
        }
        if type == SocketABI.SOCK_DGRAM, let host = hostListener {
            return try host.receive(into: buffers, flags: flags, nonBlocking: nonBlocking(flags), task: task)
        }
        let want = buffers.reduce(0) { $0 + $1.count }
        let deadline = UnixSocket.stateLock.withLock { receiveTimeout }.map { monotonicNanoseconds() &+ $0 }
        var result = UnixReceived()
        var consumed = false
        do {
            try task.block(on: [queue.waiters], deadline: deadline) { () throws(Errno) -> Bool in
                try UnixSocket.locked { () throws(Errno) -> Bool in
                    if type == SocketABI.SOCK_STREAM {
                        return try receiveStream(into: buffers, want: want, flags: flags, result: &result, consumed: &consumed)
                    }
                    return try receiveRecord(into: buffers, want: want, flags: flags, result: &result, consumed: &consumed)
                }
            }
        } catch {
            if !(result.copied > 0 && [Errno.EAGAIN, .ERESTARTSYS, .ETIMEDOUT].contains(error)) {
                throw error == .ETIMEDOUT ? Errno.EAGAIN : error
            }
        }
        if type == SocketABI.SOCK_STREAM { result.fullLength = result.copied }
        if consumed {
            // Room appeared in our queue: writers blocked on it (the peer, datagram senders) may go on.
            let others: [UnixSocket] = UnixSocket.stateLock.withLock {
                (peer.map { [$0] } ?? []) + datagramSenders.values.compactMap { $0.socket }
            }
            queue.notify(PollEvents.POLLOUT)
            for s in others { s.queue.notify(PollEvents.POLLOUT) }
        }
        return result
    }

    /// One pass of a stream receive, under the state lock: true when the call should return.
    private func receiveStream(into buffers: [UnsafeMutableRawBufferPointer], want: Int, flags: Int32,
                               result r: inout UnixReceived, consumed: inout Bool) throws(Errno) -> Bool {
        guard state == .connected else { throw Errno.EINVAL }
        let peek = flags & SocketABI.MSG_PEEK != 0
        let waitAll = flags & SocketABI.MSG_WAITALL != 0 && !peek
        if want == 0 { return true }
        var index = 0
        var tookRights = false
        while r.copied < want, !tookRights, index < incoming.count {
            let m = incoming[index]
            // With SO_PASSCRED, bytes of different senders are not glued together (Linux's rule); a message
            // carrying files ends the read after it.
            if r.copied > 0 && passCredentials && r.credentials != m.credentials { break }
            if r.credentials == nil { r.credentials = m.credentials; r.sender = m.sender }
            let n = min(want - r.copied, m.remaining)
            scatter(m.data[m.consumed..<(m.consumed + n)], into: buffers, at: r.copied)
            r.copied += n
            if !m.rights.isEmpty {
                if peek { for f in m.rights { f.references.add() }; r.rights = m.rights } else { r.rights = m.rights; m.rights = [] }
                tookRights = true
            }
            if peek { index += 1; continue }
            m.consumed += n
            incomingBytes -= n
            consumed = true
            if m.remaining == 0 { incoming.removeFirst() }
        }
        if r.copied >= want || tookRights { return true }
        if r.copied > 0 && !waitAll { return true }
        if r.copied == 0, let e = pendingError { pendingError = nil; throw e }
        if receiveShut { return true }
        if nonBlocking(flags) {
            if r.copied > 0 { return true }
            throw Errno.EAGAIN
        }
        return false
    }

    /// A seqpacket or datagram receive, under the state lock: one record, truncated to the buffers.
    private func receiveRecord(into buffers: [UnsafeMutableRawBufferPointer], want: Int, flags: Int32,
                               result r: inout UnixReceived, consumed: inout Bool) throws(Errno) -> Bool {
        if type == SocketABI.SOCK_SEQPACKET && state != .connected { throw state == .listening ? Errno.EINVAL : Errno.ENOTCONN }
        guard let m = incoming.first else {
            if let e = pendingError { pendingError = nil; throw e }
            if receiveShut { return true }
            if nonBlocking(flags) { throw Errno.EAGAIN }
            return false
        }
        let n = min(want, m.data.count)
        scatter(m.data[0..<n], into: buffers, at: 0)
        r.copied = n
        r.fullLength = m.data.count
        r.truncated = n < m.data.count
        r.credentials = m.credentials
        r.sender = m.sender
        if flags & SocketABI.MSG_PEEK != 0 {
            for f in m.rights { f.references.add() }
            r.rights = m.rights
        } else {
            r.rights = m.rights
            m.rights = []
            incoming.removeFirst()
            incomingBytes -= m.data.count
            consumed = true
        }
        return true
    }
}
