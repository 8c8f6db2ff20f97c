// Host descriptors carried with a control message (SCM_RIGHTS on the unix control socket): `runsc exec`
// hands its stdio to the sandbox this way. The descriptors ride on the message's first byte.
import Glibc

enum DescriptorPassing {
    /// The most descriptors one control message may carry (exec needs three).
    static let limit = 3

    /// A cmsghdr (len, level, type) followed by the descriptors, padded as CMSG_SPACE pads.
    private static func controlLength(_ count: Int) -> Int { 16 + (count * 4 + 7) / 8 * 8 }

    /// Writes `text`, with `descriptors` attached to its first byte.
    static func send(_ fd: Int32, _ text: String, descriptors: [Int32], what: @autoclosure () -> String) throws(RuntimeError) {
        let bytes = Array(text.utf8)
        guard !descriptors.isEmpty, !bytes.isEmpty else { return try sendAll(fd, bytes[...], what: what()) }
        if sendMessage(fd, [bytes[0]], descriptors: descriptors) < 0 { throw RuntimeError.errno(what()) }
        try sendAll(fd, bytes[1...], what: what())
    }

    /// One sendmsg of `payload` with `descriptors` in SCM_RIGHTS (MSG_NOSIGNAL, EINTR retried): the bytes
    /// sent, or -1 with errno set.
    static func sendMessage(_ fd: Int32, _ payload: [UInt8], descriptors: [Int32]) -> Int {
        var control = [UInt8](repeating: 0, count: controlLength(descriptors.count))
        control.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: 16 + descriptors.count * 4, toByteOffset: 0, as: Int.self)
            raw.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
            raw.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: 12, as: Int32.self)
            for (i, d) in descriptors.enumerated() { raw.storeBytes(of: d, toByteOffset: 16 + 4 * i, as: Int32.self) }
        }
        var bytes = payload
        var sent: Int
        repeat {
            sent = bytes.withUnsafeMutableBytes { payloadBytes in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: payloadBytes.baseAddress, iov_len: payloadBytes.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBytes.baseAddress
                        header.msg_controllen = controlBytes.count
                        return sendmsg(fd, &header, Int32(MSG_NOSIGNAL))
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        return sent
    }

    /// Sends every byte with MSG_NOSIGNAL: a sandbox that exits while we talk to it is an EPIPE error
    /// (`runsc wait` racing the container's exit), never a SIGPIPE that kills the CLI.
    private static func sendAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>, what: @autoclosure () -> String) throws(RuntimeError) {
        var rest = bytes
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RuntimeError.errno(what())
            }
            rest = rest.dropFirst(n)
        }
    }

    /// Reads one '\n'-terminated line byte by byte, collecting descriptors that arrive with it (received
    /// close-on-exec). nil line at EOF. More than `limit` descriptors, or a truncated set, is an error (and
    /// closes what arrived).
    static func readLine(_ fd: Int32, limit byteLimit: Int = 1 << 20) throws(RuntimeError) -> (line: String?, descriptors: [Int32]) {
        var line: [UInt8] = []
        var descriptors: [Int32] = []
        var control = [UInt8](repeating: 0, count: controlLength(limit))
        while line.count < byteLimit {
            var byte: UInt8 = 0
            var flags: Int32 = 0
            let n = withUnsafeMutablePointer(to: &byte) { bytePointer in
                control.withUnsafeMutableBytes { controlBytes in
                    var vector = iovec(iov_base: UnsafeMutableRawPointer(bytePointer), iov_len: 1)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer -> Int in
                        var header = msghdr()
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBytes.baseAddress
                        header.msg_controllen = controlBytes.count
                        let n = recvmsg(fd, &header, Int32(MSG_CMSG_CLOEXEC))
                        flags = header.msg_flags
                        if n > 0 && header.msg_controllen >= 16 {
                            let length = controlBytes.load(fromByteOffset: 0, as: Int.self)
                            let level = controlBytes.load(fromByteOffset: 8, as: Int32.self)
                            let type = controlBytes.load(fromByteOffset: 12, as: Int32.self)
                            if level == SOL_SOCKET && type == Int32(SCM_RIGHTS) && length >= 16 && length <= controlBytes.count {
                                for i in 0..<(length - 16) / 4 {
                                    descriptors.append(controlBytes.load(fromByteOffset: 16 + 4 * i, as: Int32.self))
                                }
                            }
                        }
                        return n
                    }
                }
            }
            if n < 0 {
                if errno == EINTR { continue }
                descriptors.forEach { close($0) }
                throw RuntimeError.errno("read from control socket")
            }
            if flags & Int32(MSG_CTRUNC) != 0 || descriptors.count > limit {
                descriptors.forEach { close($0) }
                throw RuntimeError("control socket: more than \(limit) descriptors sent with a request")
            }
            if n == 0 { return (line.isEmpty ? nil : String(decoding: line, as: UTF8.self), descriptors) }
            if byte == UInt8(ascii: "\n") { return (String(decoding: line, as: UTF8.self), descriptors) }
            line.append(byte)
        }
        descriptors.forEach { close($0) }
        throw RuntimeError("control socket: line longer than \(byteLimit) bytes")
    }
}
