// Sending and receiving one packet on a connected AF_UNIX SOCK_SEQPACKET socket, with host descriptors
// passed as SCM_RIGHTS. Shared by the client (Sentry) and the server (Gofer).
import Glibc
import LinuxABI

/// A packet read from the socket.
public struct ReceivedPacket: Sendable {
    public var bytes: [UInt8]
    /// Descriptors that arrived with it (already close-on-exec). The receiver owns them.
    public var descriptors: [Int32]
}

/// Packet I/O on a connected SOCK_SEQPACKET socket.
public enum GoferSocket {
    /// Layout of struct cmsghdr on x86-64 glibc: size_t len; int level; int type; data aligned to 8.
    private static let cmsgHeaderSize = MemoryLayout<cmsghdr>.size
    /// Room for this many descriptors in one packet; more than that is a protocol violation.
    private static let maxDescriptors = 8

    private static func align(_ n: Int) -> Int { (n + 7) & ~7 }

    /// Creates a connected socket pair (close-on-exec) for tests and for the launcher.
    public static func pair() throws(Errno) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw Errno(Glibc.errno) }
        return (fds[0], fds[1])
    }

    /// Sends `bytes` as one packet, with `descriptor` attached if given. MSG_NOSIGNAL: a dead peer must
    /// give EPIPE, not a SIGPIPE that kills the Sentry or the Gofer.
    public static func send(_ socket: Int32, _ bytes: [UInt8], donating descriptor: Int32? = nil) throws(Errno) {
        let controlLength = descriptor == nil ? 0 : cmsgHeaderSize + align(MemoryLayout<Int32>.size)
        var control = [UInt64](repeating: 0, count: max(1, controlLength / 8))
        var bytes = bytes
        let sent: Int = bytes.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBuffer in
                if let descriptor {
                    let header = controlBuffer.baseAddress!.assumingMemoryBound(to: cmsghdr.self)
                    header.pointee.cmsg_len = cmsgHeaderSize + MemoryLayout<Int32>.size
                    header.pointee.cmsg_level = SOL_SOCKET
                    header.pointee.cmsg_type = Int32(SCM_RIGHTS)
                    controlBuffer.storeBytes(of: descriptor, toByteOffset: cmsgHeaderSize, as: Int32.self)
                }
                var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    var message = msghdr()
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    if controlLength > 0 {
                        message.msg_control = controlBuffer.baseAddress
                        message.msg_controllen = controlLength
                    }
                    while true {
                        let n = sendmsg(socket, &message, Int32(MSG_NOSIGNAL))
                        if n < 0 && Glibc.errno == EINTR { continue }
                        return n
                    }
                }
            }
        }
        if sent < 0 { throw Errno(Glibc.errno) }
        // SOCK_SEQPACKET sends are atomic; a short count means the socket is not what we were promised.
        if sent != bytes.count { throw .EIO }
    }

    /// Receives one packet of at most `maxSize` bytes. Returns nil at end of stream (the peer closed;
    /// our messages are never empty). A packet larger than `maxSize`, or one whose descriptors did not
    /// all fit, is an error (EMSGSIZE) and any descriptors that came with it are closed.
    public static func receive(_ socket: Int32, maxSize: Int = GoferWire.maxMessageSize) throws(Errno) -> ReceivedPacket? {
        var buffer = [UInt8](repeating: 0, count: maxSize)
        let controlLength = cmsgHeaderSize + align(maxDescriptors * MemoryLayout<Int32>.size)
        var control = [UInt64](repeating: 0, count: controlLength / 8)
        var descriptors: [Int32] = []
        var flags: Int32 = 0
        let received: Int = buffer.withUnsafeMutableBytes { data in
            control.withUnsafeMutableBytes { controlBuffer in
                var iov = iovec(iov_base: data.baseAddress, iov_len: data.count)
                return withUnsafeMutablePointer(to: &iov) { iovPointer in
                    var message = msghdr()
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlLength
                    var n: Int
                    repeat {
                        n = recvmsg(socket, &message, Int32(MSG_CMSG_CLOEXEC))
                    } while n < 0 && Glibc.errno == EINTR
                    if n >= 0 {
                        flags = message.msg_flags
                        descriptors = parseRights(UnsafeRawBufferPointer(controlBuffer),
                                                  length: min(message.msg_controllen, controlLength))
                    }
                    return n
                }
            }
        }
        if received < 0 { throw Errno(Glibc.errno) }
        if flags & Int32(MSG_TRUNC | MSG_CTRUNC) != 0 {
            for fd in descriptors { close(fd) }
            throw .EMSGSIZE
        }
        if received == 0 {
            for fd in descriptors { close(fd) }
            return nil
        }
        return ReceivedPacket(bytes: Array(buffer[0..<received]), descriptors: descriptors)
    }

    /// Collects every SCM_RIGHTS descriptor in a control buffer the kernel filled, checking every
    /// length against the buffer so a bad cmsg_len cannot make us read past it.
    private static func parseRights(_ buffer: UnsafeRawBufferPointer, length: Int) -> [Int32] {
        var fds: [Int32] = []
        var offset = 0
        while offset + cmsgHeaderSize <= length {
            let cmsgLength = buffer.loadUnaligned(fromByteOffset: offset, as: Int.self)
            let level = buffer.loadUnaligned(fromByteOffset: offset + 8, as: Int32.self)
            let type = buffer.loadUnaligned(fromByteOffset: offset + 12, as: Int32.self)
            guard cmsgLength >= cmsgHeaderSize, offset + cmsgLength <= length else { break }
            if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) {
                let count = (cmsgLength - cmsgHeaderSize) / MemoryLayout<Int32>.size
                for i in 0..<count {
                    fds.append(buffer.loadUnaligned(fromByteOffset: offset + cmsgHeaderSize + 4 * i, as: Int32.self))
                }
            }
            offset += align(cmsgLength)
        }
        return fds
    }
}
