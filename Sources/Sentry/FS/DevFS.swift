import CLinux
// The Sentry's /dev: character devices served by the Sentry itself, never host device nodes.
import Glibc
import LinuxABI

private let devDevice: UInt64 = 0x06

/// The kinds of character device the Sentry implements.
enum CharDeviceKind: Sendable {
    case null, zero, full, random

    var rdev: UInt64 {
        switch self {
        case .null: return (1 << 8) | 3
        case .zero: return (1 << 8) | 5
        case .full: return (1 << 8) | 7
        case .random: return (1 << 8) | 9
        }
    }
}

final class CharDeviceInode: Inode, @unchecked Sendable {
    let kind: CharDeviceKind
    let number = Inode.allocateNumber()
    init(_ kind: CharDeviceKind) { self.kind = kind }
    override func stat() throws(Errno) -> FileStat {
        let t = Timespec.now()
        return FileStat(device: devDevice, inode: number, mode: FileMode.S_IFCHR | 0o666, nlink: 1, rdev: kind.rdev,
                        atime: t, mtime: t, ctime: t)
    }
    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if flags & OpenFlags.O_DIRECTORY != 0 { throw Errno.ENOTDIR }
        return CharDeviceDescription(kind: kind, flags: flags, dentry: dentry)
    }
}

final class CharDeviceDescription: FileDescription, @unchecked Sendable {
    let kind: CharDeviceKind
    init(kind: CharDeviceKind, flags: Int, dentry: Dentry) { self.kind = kind; super.init(flags: flags, dentry: dentry) }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readable else { throw Errno.EBADF }
        switch kind {
        case .null: return 0
        case .zero, .full:
            var n = 0
            for b in buffers { b.initializeMemory(as: UInt8.self, repeating: 0); n += b.count }
            return n
        case .random:
            return buffers.reduce(0) { $0 + fillRandom($1) }
        }
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard writable else { throw Errno.EBADF }
        if kind == .full { throw Errno.ENOSPC }
        return buffers.reduce(0) { $0 + $1.count }
    }

    override func seek(_ offset: Int64, whence: Int) throws(Errno) -> Int64 { 0 }
}

/// /dev.
final class DevRoot: SyntheticDirectory, @unchecked Sendable {
    private let entries: [(String, Inode)]
    init(kernel: Kernel) {
        let fdLink = { (n: Int) in
            SyntheticSymlink(device: devDevice, target: { _ in "/proc/self/fd/\(n)" })
        }
        entries = [
            ("null", CharDeviceInode(.null)),
            ("zero", CharDeviceInode(.zero)),
            ("full", CharDeviceInode(.full)),
            ("random", CharDeviceInode(.random)),
            ("urandom", CharDeviceInode(.random)),
            ("fd", SyntheticSymlink(device: devDevice, target: { _ in "/proc/self/fd" })),
            ("stdin", fdLink(0)),
            ("stdout", fdLink(1)),
            ("stderr", fdLink(2)),
            ("shm", TmpfsInode.directory(mode: 0o1777)),
            // Pseudo-terminals (DevPTS.swift): docker's devpts mount on /dev/pts is this same directory.
            ("pts", DevPTSDirectory(kernel: kernel)),
            ("ptmx", PtmxInode(device: devDevice)),
            ("tty", ControllingTTYInode(device: devDevice)),
        ] + (kernel.config.consoleFD >= 0 ? [("console", ConsoleInode(device: devDevice))] : [])
        super.init(mode: 0o755, device: devDevice)
    }
    override func children(task: Task?) -> [(String, Inode)] { entries }
}

/// Fills `buffer` from the host's random source; returns how many bytes were filled.
func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
    var off = 0
    while off < buffer.count {
        let r = clinux_getrandom(buffer.baseAddress! + off, UInt(buffer.count - off), 0)
        if r <= 0 { break }
        off += r
    }
    return off
}
