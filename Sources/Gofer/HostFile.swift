// Small, named wrappers over the host system calls the Gofer server makes. Each returns the host errno
// as a typed Errno, so the server logic reads as a sequence of checked steps.
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

enum HostFile {
    static func lastError() -> Errno { Errno(clinux_errno()) }

    /// Runs `body` with `name` as a NUL-terminated C string. Names were validated (no NUL) by the decoder.
    static func withCName<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (name + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// openat(2) of one component relative to a held directory descriptor. `flags` always gets
    /// O_CLOEXEC so no descriptor leaks if the process ever execs.
    static func openAt(_ directory: Int32, _ name: [UInt8], flags: Int32, mode: UInt32 = 0) throws(Errno) -> Int32 {
        let fd = withCName(name) { clinux_openat(directory, $0, flags | Int32(OpenFlags.O_CLOEXEC), mode) }
        if fd < 0 { throw lastError() }
        return fd
    }

    /// Throws the host errno when a system call returned a negative value.
    static func check(_ rc: Int32) throws(Errno) { if rc < 0 { throw lastError() } }

    /// fstat(2); works on O_PATH descriptors and never follows a symlink the descriptor refers to.
    static func attributes(_ fd: Int32) throws(Errno) -> FileAttributes {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw lastError() }
        func time(_ t: timespec) -> FileTime { FileTime(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }
        return FileAttributes(
            dev: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: UInt32(st.st_mode),
            nlink: UInt64(st.st_nlink), uid: UInt32(st.st_uid), gid: UInt32(st.st_gid),
            rdev: UInt64(st.st_rdev), size: Int64(st.st_size), blockSize: Int64(st.st_blksize),
            blocks: Int64(st.st_blocks), atime: time(st.st_atim), mtime: time(st.st_mtim),
            ctime: time(st.st_ctim))
    }

    /// readlinkat(fd, "") reads the target of the symlink an O_PATH|O_NOFOLLOW descriptor refers to.
    static func readlink(_ fd: Int32) throws(Errno) -> [UInt8] {
        let capacity = GoferWire.maxLinkTargetLength + 1
        var buffer = [UInt8](repeating: 0, count: capacity)
        let n = buffer.withUnsafeMutableBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { readlinkat(fd, "", $0.baseAddress!, capacity) }
        }
        if n < 0 { throw lastError() }
        // A full buffer means the target may have been cut short; the kernel's own limit is PATH_MAX.
        guard n > 0, n < capacity else { throw .ENAMETOOLONG }
        return Array(buffer[0..<n])
    }

    /// fstatfs(2), made raw because Glibc's module does not export <sys/statfs.h>. The x86-64 struct
    /// statfs is fifteen 8-byte words: type, bsize, blocks, bfree, bavail, files, ffree, fsid, namelen,
    /// frsize, flags, spare[4]. The host's fsid is not passed on.
    static func fileSystemStatistics(_ fd: Int32) throws(Errno) -> FileSystemStatistics {
        var w = [UInt64](repeating: 0, count: 15)
        let rc = w.withUnsafeMutableBytes { clinux_syscall6(SyscallNumber.fstatfs, Int(fd), Int(bitPattern: $0.baseAddress), 0, 0, 0, 0) }
        guard rc == 0 else { throw lastError() }
        return FileSystemStatistics(
            type: w[0], blockSize: w[1], blocks: w[2], blocksFree: w[3], blocksAvailable: w[4],
            files: w[5], filesFree: w[6], nameLength: w[8], fragmentSize: w[9], flags: w[10])
    }

    /// Clears O_NONBLOCK, which the Gofer sets only so that opening a file swapped for a FIFO cannot hang it.
    static func clearNonBlocking(_ fd: Int32) throws(Errno) {
        let flags = clinux_fcntl(fd, Int32(FcntlCommands.F_GETFL), 0)
        guard flags >= 0 else { throw lastError() }
        guard clinux_fcntl(fd, Int32(FcntlCommands.F_SETFL), Int(flags & ~Int32(OpenFlags.O_NONBLOCK))) == 0 else {
            throw lastError()
        }
    }
}
