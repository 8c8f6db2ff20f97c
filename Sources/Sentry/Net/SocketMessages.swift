// struct msghdr and ancillary data (SCM_RIGHTS, SCM_CREDENTIALS) between app memory and unix sockets.
import LinuxABI

/// The fields of a struct msghdr in app memory.
struct MessageHeader {
    var name: UInt64, nameLength: UInt32, iov: UInt64, iovCount: UInt64, control: UInt64, controlLength: UInt64

    init(task: Task, address: UInt64) throws(Errno) {
        let b = try task.mm.copyIn(address, SocketABI.msghdrSize)
        (name, nameLength, iov, iovCount, control, controlLength) = b.withUnsafeBytes {
            ($0.load(fromByteOffset: 0, as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt32.self),
             $0.load(fromByteOffset: 16, as: UInt64.self), $0.load(fromByteOffset: 24, as: UInt64.self),
             $0.load(fromByteOffset: 32, as: UInt64.self), $0.load(fromByteOffset: 40, as: UInt64.self))
        }
    }
}

/// Ancillary data a sender attached.
struct SendControl {
    /// Files to pass, each with one in-flight reference taken.
    var rights: [FileDescription] = []
    var credentials: UnixCredentials?
}

private func align8(_ n: Int) -> Int { (n + 7) & ~7 }

extension Kernel {
    /// Parses sendmsg's control buffer. Takes an in-flight reference on each passed file; on error none
    /// are left taken.
    func parseSendControl(_ task: Task, address: UInt64, length: UInt64) throws(Errno) -> SendControl {
        var control = SendControl()
        if address == 0 || length == 0 { return control }
        guard length <= 65536 else { throw Errno.ENOBUFS }
        guard length >= UInt64(SocketABI.cmsghdrSize) else { throw Errno.EINVAL }
        let raw = try task.mm.copyIn(address, Int(length))
        do throws(Errno) {
            var off = 0
            while off + SocketABI.cmsghdrSize <= raw.count {
                let (len, level, type) = raw.withUnsafeBytes {
                    ($0.load(fromByteOffset: off, as: UInt64.self), $0.load(fromByteOffset: off + 8, as: Int32.self),
                     $0.load(fromByteOffset: off + 12, as: Int32.self))
                }
                guard len >= UInt64(SocketABI.cmsghdrSize), len <= UInt64(raw.count - off) else { throw Errno.EINVAL }
                let data = Array(raw[(off + SocketABI.cmsghdrSize)..<(off + Int(len))])
                if level == SocketABI.SOL_SOCKET {
                    switch type {
                    case SocketABI.SCM_RIGHTS:
                        let count = data.count / 4
                        guard count <= SocketABI.maxRightsPerMessage, control.rights.count + count <= SocketABI.maxRightsPerMessage else { throw Errno.EINVAL }
                        for i in 0..<count {
                            let fd = data.withUnsafeBytes { $0.load(fromByteOffset: i * 4, as: Int32.self) }
                            let file = try task.fdTable.get(fd)
                            file.references.add()
                            control.rights.append(file)
                        }
                    case SocketABI.SCM_CREDENTIALS:
                        guard data.count == 12 else { throw Errno.EINVAL }
                        let c = data.withUnsafeBytes {
                            UnixCredentials(pid: $0.load(fromByteOffset: 0, as: Int32.self), uid: $0.load(fromByteOffset: 4, as: UInt32.self),
                                            gid: $0.load(fromByteOffset: 8, as: UInt32.self))
                        }
                        // Only root may claim to be someone else.
                        let cr = task.credentials
                        if cr.euid != 0 {
                            guard c.pid == task.threadGroup.pid, [cr.uid, cr.euid, cr.suid].contains(c.uid),
                                  [cr.gid, cr.egid, cr.sgid].contains(c.gid) else { throw Errno.EPERM }
                        }
                        control.credentials = c
                    default:
                        throw Errno.EINVAL
                    }
                }
                off += align8(Int(len))
            }
        } catch {
            dropInFlight(control.rights)
            throw error
        }
        return control
    }

    /// Builds recvmsg's ancillary data into at most `capacity` bytes: credentials (with SO_PASSCRED), then
    /// the passed files, installed in the receiver's table. Returns the bytes and MSG_CTRUNC if cut short.
    /// Consumes the in-flight references of `rights`.
    func buildReceiveControl(_ task: Task, capacity: Int, rights: [FileDescription], credentials: UnixCredentials?,
                             closeOnExec: Bool) -> ([UInt8], Int32) {
        var out: [UInt8] = []
        var flags: Int32 = 0
        func header(_ dataLength: Int, _ type: Int32) -> [UInt8] {
            var h = [UInt8](repeating: 0, count: SocketABI.cmsghdrSize)
            h.withUnsafeMutableBytes {
                $0.storeBytes(of: UInt64(SocketABI.cmsghdrSize + dataLength), toByteOffset: 0, as: UInt64.self)
                $0.storeBytes(of: SocketABI.SOL_SOCKET, toByteOffset: 8, as: Int32.self)
                $0.storeBytes(of: type, toByteOffset: 12, as: Int32.self)
            }
            return h
        }
        func pad(_ bytes: inout [UInt8]) {
            let target = min(align8(bytes.count), capacity)
            if bytes.count < target { bytes += [UInt8](repeating: 0, count: target - bytes.count) }
        }
        if let c = credentials {
            if out.count + SocketABI.cmsghdrSize + 12 <= capacity {
                out += header(12, SocketABI.SCM_CREDENTIALS)
                withUnsafeBytes(of: c.pid) { out += $0 }
                withUnsafeBytes(of: c.uid) { out += $0 }
                withUnsafeBytes(of: c.gid) { out += $0 }
                pad(&out)
            } else { flags |= SocketABI.MSG_CTRUNC }
        }
        if !rights.isEmpty {
            let room = max(0, (capacity - out.count - SocketABI.cmsghdrSize) / 4)
            var fds: [Int32] = []
            for f in rights.prefix(room) {
                guard let fd = try? task.fdTable.add(f, closeOnExec: closeOnExec) else { break }
                fds.append(fd)
            }
            if fds.count < rights.count { flags |= SocketABI.MSG_CTRUNC }
            if !fds.isEmpty {
                out += header(fds.count * 4, SocketABI.SCM_RIGHTS)
                for fd in fds { withUnsafeBytes(of: fd) { out += $0 } }
                pad(&out)
            }
            dropInFlight(rights)
        }
        return (out, flags)
    }
}
