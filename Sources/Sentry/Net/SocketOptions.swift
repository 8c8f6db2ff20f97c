// getsockopt/setsockopt for unix sockets: the SOL_SOCKET options programs ask about.
import LinuxABI

extension Kernel {
    func getsockopt(_ task: Task, fd: Int32, level: Int32, name: Int32, value: UInt64, lengthAddress: UInt64) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        guard level == SocketABI.SOL_SOCKET else { throw Errno.EOPNOTSUPP }
        let room: Int32 = try task.mm.read(lengthAddress, as: Int32.self)
        guard room >= 0 else { throw Errno.EINVAL }
        func int(_ v: Int) -> [UInt8] { withUnsafeBytes(of: Int32(clamping: v)) { Array($0) } }
        func timeval(_ ns: UInt64?) -> [UInt8] {
            let v = ns ?? 0
            var b = [UInt8](repeating: 0, count: 16)
            b.withUnsafeMutableBytes {
                $0.storeBytes(of: Int64(v / 1_000_000_000), toByteOffset: 0, as: Int64.self)
                $0.storeBytes(of: Int64(v % 1_000_000_000 / 1000), toByteOffset: 8, as: Int64.self)
            }
            return b
        }
        let bytes: [UInt8] = try UnixSocket.locked { () throws(Errno) -> [UInt8] in
            switch name {
            case SocketABI.SO_TYPE: return int(Int(s.type))
            case SocketABI.SO_ERROR:
                let e = s.pendingError
                s.pendingError = nil
                return int(Int(e?.rawValue ?? 0))
            case SocketABI.SO_PEERCRED:
                // No peer: pid 0 and the overflow ids, as Linux reports.
                let c = s.peerCredentials ?? UnixCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max)
                var b: [UInt8] = []
                withUnsafeBytes(of: c.pid) { b += $0 }
                withUnsafeBytes(of: c.uid) { b += $0 }
                withUnsafeBytes(of: c.gid) { b += $0 }
                return b
            case SocketABI.SO_RCVBUF: return int(s.receiveBuffer)
            case SocketABI.SO_SNDBUF: return int(s.sendBuffer)
            case SocketABI.SO_PASSCRED: return int(s.passCredentials ? 1 : 0)
            case SocketABI.SO_REUSEADDR: return int(s.reuseAddress ? 1 : 0)
            case SocketABI.SO_ACCEPTCONN: return int(s.state == .listening ? 1 : 0)
            case SocketABI.SO_DOMAIN: return int(Int(SocketABI.AF_UNIX))
            case SocketABI.SO_PROTOCOL: return int(0)
            case SocketABI.SO_KEEPALIVE, SocketABI.SO_BROADCAST, SocketABI.SO_DEBUG, SocketABI.SO_DONTROUTE,
                 SocketABI.SO_OOBINLINE, SocketABI.SO_REUSEPORT:
                return int(0)
            case SocketABI.SO_RCVLOWAT, SocketABI.SO_SNDLOWAT: return int(1)
            case SocketABI.SO_LINGER: return [UInt8](repeating: 0, count: 8)
            case SocketABI.SO_RCVTIMEO: return timeval(s.receiveTimeout)
            case SocketABI.SO_SNDTIMEO: return timeval(s.sendTimeout)
            default: throw Errno.ENOPROTOOPT
            }
        }
        let n = min(Int(room), bytes.count)
        if n > 0 { try task.mm.copyOut(value, Array(bytes[0..<n])) }
        try task.mm.write(lengthAddress, Int32(n))
        return 0
    }

    func setsockopt(_ task: Task, fd: Int32, level: Int32, name: Int32, value: UInt64, length: UInt32) throws(Errno) -> Int {
        let s = try unixSocket(task, fd)
        guard level == SocketABI.SOL_SOCKET else { throw Errno.EOPNOTSUPP }
        func intValue() throws(Errno) -> Int32 {
            guard length >= 4 else { throw Errno.EINVAL }
            return try task.mm.read(value, as: Int32.self)
        }
        func timeoutValue() throws(Errno) -> UInt64? {
            guard length >= 16 else { throw Errno.EINVAL }
            let sec: Int64 = try task.mm.read(value, as: Int64.self), usec: Int64 = try task.mm.read(value + 8, as: Int64.self)
            guard usec >= 0, usec < 1_000_000 else { throw Errno.EDOM }
            if sec < 0 || (sec == 0 && usec == 0) { return nil }
            return UInt64(min(sec, 1 << 32)) * 1_000_000_000 + UInt64(usec) * 1000
        }
        switch name {
        case SocketABI.SO_RCVBUF, SocketABI.SO_SNDBUF, SocketABI.SO_RCVBUFFORCE, SocketABI.SO_SNDBUFFORCE:
            // Linux doubles the request (room for its bookkeeping) within fixed limits.
            let v = Int(max(0, try intValue()))
            let size = min(max(v * 2, SocketABI.minBufferSize), SocketABI.maxBufferSize)
            let receive = name == SocketABI.SO_RCVBUF || name == SocketABI.SO_RCVBUFFORCE
            UnixSocket.stateLock.withLock { if receive { s.receiveBuffer = size } else { s.sendBuffer = size } }
            s.queue.notify()
        case SocketABI.SO_PASSCRED:
            let on = try intValue() != 0
            UnixSocket.stateLock.withLock { s.passCredentials = on }
        case SocketABI.SO_REUSEADDR:
            let on = try intValue() != 0
            UnixSocket.stateLock.withLock { s.reuseAddress = on }
        case SocketABI.SO_KEEPALIVE, SocketABI.SO_BROADCAST, SocketABI.SO_DEBUG, SocketABI.SO_DONTROUTE,
             SocketABI.SO_OOBINLINE, SocketABI.SO_REUSEPORT, SocketABI.SO_RCVLOWAT:
            _ = try intValue()  // accepted; no effect on unix sockets
        case SocketABI.SO_LINGER:
            guard length >= 8 else { throw Errno.EINVAL }
        case SocketABI.SO_RCVTIMEO:
            let t = try timeoutValue()
            UnixSocket.stateLock.withLock { s.receiveTimeout = t }
        case SocketABI.SO_SNDTIMEO:
            let t = try timeoutValue()
            UnixSocket.stateLock.withLock { s.sendTimeout = t }
        default:
            throw Errno.ENOPROTOOPT
        }
        return 0
    }
}
