// Reads one page of a directory with getdents64. Pages are stateless on the Gofer side: each request
// opens the directory afresh and seeks to the client's cookie, which is the d_off the kernel reported
// for the last entry sent (the same value telldir would give). So a huge directory costs the Gofer no
// memory between requests and a client that stops listing leaks nothing.
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

enum DirectoryReader {
    /// Bytes of a page reply that are not entries: header, errno, end flag, cookie, count.
    static let pageOverhead = 8 + 4 + 1 + 8 + 2
    /// Fixed part of struct linux_dirent64 before d_name: d_ino, d_off, d_reclen, d_type.
    private static let direntHeaderSize = 19

    /// Reads entries of the directory `directory` (an O_PATH descriptor) starting at `cookie`, as many as
    /// fit in `budget` encoded bytes. "." and ".." are skipped.
    static func page(of directory: Int32, cookie: UInt64,
                     budget: Int = GoferWire.maxMessageSize - pageOverhead) throws(Errno) -> DirectoryPage {
        // Opening "." through the O_PATH descriptor yields a readable descriptor of the same directory
        // without resolving any name.
        let fd = try HostFile.openAt(directory, [0x2E], flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY))
        defer { close(fd) }
        if cookie != 0 && lseek(fd, off_t(Int64(bitPattern: cookie)), SEEK_SET) < 0 { throw HostFile.lastError() }

        var entries: [DirectoryEntry] = []
        var used = 0
        var next = cookie
        var buffer = [UInt8](repeating: 0, count: 32768)
        while true {
            let n = buffer.withUnsafeMutableBytes { b in
                clinux_syscall6(SyscallNumber.getdents64, Int(fd), Int(bitPattern: b.baseAddress), b.count, 0, 0, 0)
            }
            if n < 0 { throw HostFile.lastError() }
            if n == 0 { return DirectoryPage(entries: entries, nextCookie: next, end: true) }
            var offset = 0
            while offset < n {
                // The kernel fills this buffer, but a bad record length must not send us out of bounds.
                guard offset + direntHeaderSize < n else { throw .EIO }
                let inode = load(buffer, offset, as: UInt64.self)
                let entryCookie = load(buffer, offset + 8, as: UInt64.self)
                let recordLength = Int(load(buffer, offset + 16, as: UInt16.self))
                var type = buffer[offset + 18]
                guard recordLength > direntHeaderSize, offset + recordLength <= n else { throw .EIO }
                let nameBytes = buffer[(offset + direntHeaderSize)..<(offset + recordLength)]
                let name = Array(nameBytes.prefix { $0 != 0 })
                if GoferWire.nameError(name) == nil {
                    // Some file systems (XFS without ftype, old ext2) do not fill d_type; the Sentry
                    // should not need a round trip per entry to learn it.
                    if type == DirentType.DT_UNKNOWN { type = lookUpType(fd, name) }
                    let size = DirectoryEntry.encodedSize(nameLength: name.count)
                    if used + size > budget || entries.count == Int(UInt16.max) {
                        return DirectoryPage(entries: entries, nextCookie: next, end: false)
                    }
                    entries.append(DirectoryEntry(rawName: name, inode: inode, type: type))
                    used += size
                }
                // "." and ".." (and anything the protocol cannot carry) are passed over, not resent.
                next = entryCookie
                offset += recordLength
            }
        }
    }

    /// The DT_* type of `name` in the directory, from fstatat without following symlinks.
    private static func lookUpType(_ directory: Int32, _ name: [UInt8]) -> UInt8 {
        var st = stat()
        let rc = HostFile.withCName(name) { fstatat(directory, $0, &st, AT_SYMLINK_NOFOLLOW) }
        return rc == 0 ? DirentType.from(mode: UInt32(st.st_mode)) : DirentType.DT_UNKNOWN
    }

    private static func load<T: FixedWidthInteger>(_ buffer: [UInt8], _ offset: Int, as: T.Type) -> T {
        buffer.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }
}
