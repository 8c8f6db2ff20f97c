// Sockets: AF_UNIX only (Net/UnixSocket.swift). Other families are EAFNOSUPPORT until networking exists;
// nothing here ever reaches a host socket.
import LinuxABI

extension Kernel {
    func unixSocket(_ task: Task, _ fd: Int32) throws(Errno) -> UnixSocket {
        guard let s = try task.fdTable.get(fd) as? UnixSocket else { throw Errno.ENOTSOCK }
        return s
    }

    /// The socket type and SOCK_NONBLOCK/SOCK_CLOEXEC of socket()/socketpair(), checked like Linux.
    private func socketType(domain: Int32, type: Int32, protocol proto: Int32) throws(Errno) -> (Int32, Int) {
        let flags = type & ~SocketABI.SOCK_TYPE_MASK
        guard flags & ~(SocketABI.SOCK_NONBLOCK | SocketABI.SOCK_CLOEXEC) == 0 else { throw Errno.EINVAL }
        var base = type & SocketABI.SOCK_TYPE_MASK
        guard base > 0, base < 11 else { throw Errno.EINVAL }
        guard domain == SocketABI.AF_UNIX else { throw Errno.EAFNOSUPPORT }
        guard proto == 0 || proto == SocketABI.AF_UNIX else { throw Errno.EPROTONOSUPPORT }
        if base == SocketABI.SOCK_RAW { base = SocketABI.SOCK_DGRAM }  // Linux treats unix SOCK_RAW as datagrams
        guard [SocketABI.SOCK_STREAM, SocketABI.SOCK_DGRAM, SocketABI.SOCK_SEQPACKET].contains(base) else { throw Errno.ESOCKTNOSUPPORT }
        return (base, Int(flags))
    }

    func socket(_ task: Task, domain: Int32, type: Int32, protocol proto: Int32) throws(Errno) -> Int {
        let (base, flags) = try socketType(domain: domain, type: type, protocol: proto)
        let s = UnixSocket(type: base, task: task, flags: flags)
        return Int(try task.fdTable.add(s, closeOnExec: flags & Int(SocketABI.SOCK_CLOEXEC) != 0))
    }

    func socketpair(_ task: Task, domain: Int32, type: Int32, protocol proto: Int32, address: UInt64) throws(Errno) -> Int {
        let (base, flags) = try socketType(domain: domain, type: type, protocol: proto)
        let (a, b) = UnixSocket.pair(type: base, task: task, flags: flags)
        let cloexec = flags & Int(SocketABI.SOCK_CLOEXEC) != 0
        let fa = try task.fdTable.add(a, closeOnExec: cloexec)
        let fb: Int32
        do throws(Errno) { fb = try task.fdTable.add(b, closeOnExec: cloexec) } catch { try? task.fdTable.remove(fa); throw error }
        do throws(Errno) { try task.mm.write(address, fa); try task.mm.write(address &+ 4, fb) } catch {
            try? task.fdTable.remove(fa); try? task.fdTable.remove(fb); throw error
        }
        return 0
    }

    /// A sockaddr argument: EINVAL for a bad length or family.
    func readUnixAddress(_ task: Task, _ address: UInt64, _ length: UInt32) throws(Errno) -> UnixAddress {
        guard length >= 2, length <= UInt32(SocketABI.sockaddrUnSize) else { throw Errno.EINVAL }
        return try UnixAddress.parse(try task.mm.copyIn(address, Int(length)))
    }

    /// Writes a socket address to (addr, *addrlen) the way Linux does: truncated to the buffer, with the
    /// full length stored back.
    func writeSocketAddress(_ task: Task, _ address: UInt64, lengthAddress: UInt64, _ value: UnixAddress) throws(Errno) {
        if address == 0 || lengthAddress == 0 { return }
        let room: Int32 = try task.mm.read(lengthAddress, as: Int32.self)
        guard room >= 0 else { throw Errno.EINVAL }
        let bytes = value.encode()
        let n = min(Int(room), bytes.count)
        if n > 0 { try task.mm.copyOut(address, Array(bytes[0..<n])) }
        try task.mm.write(lengthAddress, Int32(bytes.count))
    }

    func bind(_ task: Task, fd: Int32, address: UInt64, length: UInt32) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        _ = try s.bind(try readUnixAddress(task, address, length), task: task)
        return 0
    }

    func connect(_ task: Task, fd: Int32, address: UInt64, length: UInt32) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        if length >= 2, s.type == SocketABI.SOCK_DGRAM, try task.mm.read(address, as: UInt16.self) == UInt16(SocketABI.AF_UNSPEC) {
            try s.disconnect()
            return 0
        }
        let target = try readUnixAddress(task, address, length)
        guard !target.isUnnamed else { throw Errno.EINVAL }
        try s.connect(to: target, task: task)
        return 0
    }

    func accept(_ task: Task, fd: Int32, address: UInt64, lengthAddress: UInt64, flags: Int32) throws(Errno) -> Int {
        guard flags & ~(SocketABI.SOCK_NONBLOCK | SocketABI.SOCK_CLOEXEC) == 0 else { throw Errno.EINVAL }
        let s = try unixSocket(task, fd)
        guard s.type != SocketABI.SOCK_DGRAM else { throw Errno.EOPNOTSUPP }
        let conn = try s.accept(task: task)
        if flags & SocketABI.SOCK_NONBLOCK != 0 { conn.lock.withLock { conn.flags |= OpenFlags.O_NONBLOCK } }
        let newFD = try task.fdTable.add(conn, closeOnExec: flags & SocketABI.SOCK_CLOEXEC != 0)
        do throws(Errno) {
            try writeSocketAddress(task, address, lengthAddress: lengthAddress, (try? conn.peerAddress()) ?? .unnamed)
        } catch { try? task.fdTable.remove(newFD); throw error }
        return Int(newFD)
    }

    /// sendto/sendmsg: `iov` are the data buffers, `name` the destination (optional).
    func sendMessage(_ task: Task, fd: Int32, buffers: [UnsafeMutableRawBufferPointer], name: UInt64, nameLength: UInt32,
                     control: SendControl, flags: Int32) throws(Errno) -> Int {
        let s: UnixSocket
        do throws(Errno) { s = try unixSocket(task, fd) } catch { dropInFlight(control.rights); throw error }
        var destination: UnixAddress?
        if name != 0 && nameLength != 0 {
            do throws(Errno) { destination = try readUnixAddress(task, name, nameLength) } catch { dropInFlight(control.rights); throw error }
        }
        var data: [UInt8] = []
        for b in buffers { data.append(contentsOf: b) }
        return try s.send(data, rights: control.rights, credentials: control.credentials, to: destination, flags: flags, task: task)
    }

    func sendmsg(_ task: Task, fd: Int32, header address: UInt64, flags: Int32) throws(Errno) -> Int {
        let h = try MessageHeader(task: task, address: address)
        let buffers = try iovecBuffers(task, h.iov, Int(clamping: h.iovCount), write: false)
        let control = try parseSendControl(task, address: h.control, length: h.controlLength)
        return try sendMessage(task, fd: fd, buffers: buffers, name: h.name, nameLength: h.nameLength, control: control, flags: flags)
    }

    func recvmsg(_ task: Task, fd: Int32, header address: UInt64, flags: Int32) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        let h = try MessageHeader(task: task, address: address)
        let buffers = try iovecBuffers(task, h.iov, Int(clamping: h.iovCount), write: true)
        let r = try s.receive(into: buffers, flags: flags, task: task)
        let passCred = UnixSocket.stateLock.withLock { s.passCredentials }
        let capacity = h.control == 0 ? 0 : Int(min(h.controlLength, 65536))
        let (control, controlFlags) = buildReceiveControl(task, capacity: capacity, rights: r.rights,
                                                         credentials: passCred ? r.credentials : nil,
                                                         closeOnExec: flags & SocketABI.MSG_CMSG_CLOEXEC != 0)
        if !control.isEmpty { try task.mm.copyOut(h.control, control) }
        var outFlags = controlFlags
        if r.truncated { outFlags |= SocketABI.MSG_TRUNC }
        if h.name != 0 {
            // The sender's name; an unnamed sender gives length 0 (unlike getpeername's bare family).
            let bytes = r.sender.isUnnamed ? [] : r.sender.encode()
            let n = min(Int(h.nameLength), bytes.count)
            if n > 0 { try task.mm.copyOut(h.name, Array(bytes[0..<n])) }
            try task.mm.write(address &+ 8, UInt32(bytes.count))
        }
        try task.mm.write(address &+ 40, UInt64(control.count))
        try task.mm.write(address &+ 48, outFlags)
        return flags & SocketABI.MSG_TRUNC != 0 ? r.fullLength : r.copied
    }

    func recvfrom(_ task: Task, fd: Int32, buffer: UInt64, length: Int, flags: Int32, address: UInt64, lengthAddress: UInt64) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        let r = try s.receive(into: try task.mm.segments(buffer, length, write: true), flags: flags, task: task)
        dropInFlight(r.rights)  // no control buffer: passed files are closed
        if address != 0 && lengthAddress != 0 {
            if r.sender.isUnnamed { try task.mm.write(lengthAddress, Int32(0)) }
            else { try writeSocketAddress(task, address, lengthAddress: lengthAddress, r.sender) }
        }
        return flags & SocketABI.MSG_TRUNC != 0 ? r.fullLength : r.copied
    }

    /// sendmmsg/recvmmsg: one sendmsg/recvmsg per struct mmsghdr (msghdr + u32 msg_len, 64 bytes).
    func multipleMessages(_ task: Task, fd: Int32, vector: UInt64, count: UInt32, flags: Int32, receive: Bool) throws(Errno) -> Int {
        let n = Int(min(count, 1024))
        var done = 0
        var f = flags
        while done < n {
            let entry = vector &+ UInt64(done * 64)
            let len: Int
            do {
                len = receive ? try recvmsg(task, fd: fd, header: entry, flags: f & ~0x10000) : try sendmsg(task, fd: fd, header: entry, flags: f)
            } catch {
                if done > 0 { break }
                throw error
            }
            try task.mm.write(entry &+ 56, UInt32(truncatingIfNeeded: len))
            done += 1
            if receive && flags & 0x10000 != 0 { f |= SocketABI.MSG_DONTWAIT }  // MSG_WAITFORONE
        }
        return done
    }
}

extension SyscallTable {
    func registerSocketSyscalls() {
        register(SyscallNumber.socket) { (t, a) throws(Errno) -> Int in try t.kernel.socket(t, domain: a.int0, type: a.int1, protocol: a.int2) }
        register(SyscallNumber.socketpair) { (t, a) throws(Errno) -> Int in
            try t.kernel.socketpair(t, domain: a.int0, type: a.int1, protocol: a.int2, address: a.a3)
        }
        register(SyscallNumber.bind) { (t, a) throws(Errno) -> Int in try t.kernel.bind(t, fd: a.int0, address: a.a1, length: UInt32(truncatingIfNeeded: a.a2)) }
        register(SyscallNumber.listen) { (t, a) throws(Errno) -> Int in
            try t.kernel.unixSocket(t, a.int0).listen(backlog: a.int1, task: t)
            return 0
        }
        register(SyscallNumber.connect) { (t, a) throws(Errno) -> Int in try t.kernel.connect(t, fd: a.int0, address: a.a1, length: UInt32(truncatingIfNeeded: a.a2)) }
        register(SyscallNumber.accept) { (t, a) throws(Errno) -> Int in try t.kernel.accept(t, fd: a.int0, address: a.a1, lengthAddress: a.a2, flags: 0) }
        register(SyscallNumber.accept4) { (t, a) throws(Errno) -> Int in try t.kernel.accept(t, fd: a.int0, address: a.a1, lengthAddress: a.a2, flags: a.int3) }
        register(SyscallNumber.sendto) { (t, a) throws(Errno) -> Int in
            let buffers = try t.mm.segments(a.a1, Int(min(a.a2, 0x7fff_f000)), write: false)
            return try t.kernel.sendMessage(t, fd: a.int0, buffers: buffers, name: a.a4, nameLength: UInt32(truncatingIfNeeded: a.a5),
                                            control: SendControl(), flags: a.int3)
        }
        register(SyscallNumber.recvfrom) { (t, a) throws(Errno) -> Int in
            try t.kernel.recvfrom(t, fd: a.int0, buffer: a.a1, length: Int(min(a.a2, 0x7fff_f000)), flags: a.int3, address: a.a4, lengthAddress: a.a5)
        }
        register(SyscallNumber.sendmsg) { (t, a) throws(Errno) -> Int in try t.kernel.sendmsg(t, fd: a.int0, header: a.a1, flags: a.int2) }
        register(SyscallNumber.recvmsg) { (t, a) throws(Errno) -> Int in try t.kernel.recvmsg(t, fd: a.int0, header: a.a1, flags: a.int2) }
        register(SyscallNumber.sendmmsg) { (t, a) throws(Errno) -> Int in
            try t.kernel.multipleMessages(t, fd: a.int0, vector: a.a1, count: UInt32(truncatingIfNeeded: a.a2), flags: a.int3, receive: false)
        }
        register(SyscallNumber.recvmmsg) { (t, a) throws(Errno) -> Int in
            try t.kernel.multipleMessages(t, fd: a.int0, vector: a.a1, count: UInt32(truncatingIfNeeded: a.a2), flags: a.int3, receive: true)
        }
        register(SyscallNumber.shutdown) { (t, a) throws(Errno) -> Int in try t.kernel.unixSocket(t, a.int0).shutdown(a.int1); return 0 }
        register(SyscallNumber.getsockname) { (t, a) throws(Errno) -> Int in
            let s = try t.kernel.unixSocket(t, a.int0)
            guard a.a1 != 0, a.a2 != 0 else { throw Errno.EFAULT }
            try t.kernel.writeSocketAddress(t, a.a1, lengthAddress: a.a2, s.localAddress)
            return 0
        }
        register(SyscallNumber.getpeername) { (t, a) throws(Errno) -> Int in
            let s = try t.kernel.unixSocket(t, a.int0)
            let peer = try s.peerAddress()
            guard a.a1 != 0, a.a2 != 0 else { throw Errno.EFAULT }
            try t.kernel.writeSocketAddress(t, a.a1, lengthAddress: a.a2, peer)
            return 0
        }
        register(SyscallNumber.getsockopt) { (t, a) throws(Errno) -> Int in
            try t.kernel.getsockopt(t, fd: a.int0, level: a.int1, name: a.int2, value: a.a3, lengthAddress: a.a4)
        }
        register(SyscallNumber.setsockopt) { (t, a) throws(Errno) -> Int in
            try t.kernel.setsockopt(t, fd: a.int0, level: a.int1, name: a.int2, value: a.a3, length: UInt32(truncatingIfNeeded: a.a4))
        }
    }
}
