// The values that travel between the Sentry and the Gofer: handles, attributes, directory entries,
// file system statistics, and their fixed-size wire encodings.
import LinuxABI

/// A Gofer-side handle to one file (an O_PATH descriptor held by the Gofer). Only values the Gofer
/// handed out are valid; anything else is answered with EBADF.
public struct FileHandle: Hashable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public init(raw: UInt64) { self.raw = raw }
    public var description: String { "handle#\(raw)" }
}

/// A point in time as stat(2) reports it.
public struct FileTime: Sendable, Equatable {
    public var seconds: Int64
    /// Always in 0..<1_000_000_000 (the decoder rejects anything else).
    public var nanoseconds: Int64
    public init(seconds: Int64, nanoseconds: Int64) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// The stat(2) fields of a file, as the Gofer saw them with fstat on its handle (symlinks not followed).
public struct FileAttributes: Sendable, Equatable {
    public var dev: UInt64
    public var inode: UInt64
    /// File type and permission bits (S_IFMT | 07777).
    public var mode: UInt32
    public var nlink: UInt64
    public var uid: UInt32
    public var gid: UInt32
    public var rdev: UInt64
    public var size: Int64
    public var blockSize: Int64
    /// Number of 512-byte blocks.
    public var blocks: Int64
    public var atime: FileTime
    public var mtime: FileTime
    public var ctime: FileTime

    public init(dev: UInt64, inode: UInt64, mode: UInt32, nlink: UInt64, uid: UInt32, gid: UInt32,
                rdev: UInt64, size: Int64, blockSize: Int64, blocks: Int64,
                atime: FileTime, mtime: FileTime, ctime: FileTime) {
        self.dev = dev; self.inode = inode; self.mode = mode; self.nlink = nlink; self.uid = uid
        self.gid = gid; self.rdev = rdev; self.size = size; self.blockSize = blockSize
        self.blocks = blocks; self.atime = atime; self.mtime = mtime; self.ctime = ctime
    }

    /// The S_IFMT bits.
    public var fileType: UInt32 { mode & FileMode.S_IFMT }
    public var isDirectory: Bool { fileType == FileMode.S_IFDIR }
    public var isSymlink: Bool { fileType == FileMode.S_IFLNK }
    public var isRegular: Bool { fileType == FileMode.S_IFREG }

    /// Bytes one encoded value occupies.
    static let encodedSize = 8 + 8 + 4 + 8 + 4 + 4 + 8 + 8 + 8 + 8 + 3 * 16

    func encode(into w: inout WireWriter) {
        w.u64(dev); w.u64(inode); w.u32(mode); w.u64(nlink); w.u32(uid); w.u32(gid); w.u64(rdev)
        w.i64(size); w.i64(blockSize); w.i64(blocks)
        for t in [atime, mtime, ctime] { w.i64(t.seconds); w.i64(t.nanoseconds) }
    }

    static func decode(from r: inout WireReader) throws(GoferDecodeError) -> FileAttributes {
        let dev = try r.u64(), inode = try r.u64(), mode = try r.u32(), nlink = try r.u64()
        let uid = try r.u32(), gid = try r.u32(), rdev = try r.u64()
        let size = try r.i64(), blockSize = try r.i64(), blocks = try r.i64()
        var times: [FileTime] = []
        for _ in 0..<3 {
            let s = try r.i64(), ns = try r.i64()
            guard ns >= 0, ns < 1_000_000_000 else { throw .invalidValue }
            times.append(FileTime(seconds: s, nanoseconds: ns))
        }
        return FileAttributes(dev: dev, inode: inode, mode: mode, nlink: nlink, uid: uid, gid: gid,
                              rdev: rdev, size: size, blockSize: blockSize, blocks: blocks,
                              atime: times[0], mtime: times[1], ctime: times[2])
    }
}

/// One directory entry as getdents64 reports it. "." and ".." are never included: the Sentry
/// synthesizes them from its own dentry tree (the Gofer's ".." of the root would be wrong anyway).
public struct DirectoryEntry: Sendable, Equatable {
    /// The name's exact bytes (Linux names need not be UTF-8).
    public var rawName: [UInt8]
    public var inode: UInt64
    /// A DT_* value (DirentType).
    public var type: UInt8

    public init(rawName: [UInt8], inode: UInt64, type: UInt8) {
        self.rawName = rawName; self.inode = inode; self.type = type
    }

    /// The name as a String; bytes that are not UTF-8 become U+FFFD, so use rawName to walk to it.
    public var name: String { String(decoding: rawName, as: UTF8.self) }

    /// Encoded size of an entry with a name of `nameLength` bytes (the Gofer packs pages with it).
    public static func encodedSize(nameLength: Int) -> Int { 8 + 1 + 2 + nameLength }
    static let minEncodedSize = encodedSize(nameLength: 1)
}

/// One page of a directory listing.
public struct DirectoryPage: Sendable, Equatable {
    public var entries: [DirectoryEntry]
    /// Pass this as the cookie of the next request to continue after the last entry of this page.
    public var nextCookie: UInt64
    /// True when the directory has no entries after this page.
    public var end: Bool

    public init(entries: [DirectoryEntry], nextCookie: UInt64, end: Bool) {
        self.entries = entries; self.nextCookie = nextCookie; self.end = end
    }
}

/// statfs(2) fields the Sentry may report. The host's fsid is deliberately not sent.
public struct FileSystemStatistics: Sendable, Equatable {
    public var type: UInt64
    public var blockSize: UInt64
    public var blocks: UInt64
    public var blocksFree: UInt64
    public var blocksAvailable: UInt64
    public var files: UInt64
    public var filesFree: UInt64
    public var nameLength: UInt64
    public var fragmentSize: UInt64
    /// ST_* mount flags; ST_RDONLY (1) is set when the Gofer serves read-only.
    public var flags: UInt64

    public init(type: UInt64, blockSize: UInt64, blocks: UInt64, blocksFree: UInt64, blocksAvailable: UInt64,
                files: UInt64, filesFree: UInt64, nameLength: UInt64, fragmentSize: UInt64, flags: UInt64) {
        self.type = type; self.blockSize = blockSize; self.blocks = blocks; self.blocksFree = blocksFree
        self.blocksAvailable = blocksAvailable; self.files = files; self.filesFree = filesFree
        self.nameLength = nameLength; self.fragmentSize = fragmentSize; self.flags = flags
    }

    /// ST_RDONLY from statvfs.h.
    public static let readOnlyFlag: UInt64 = 1

    func encode(into w: inout WireWriter) {
        for v in [type, blockSize, blocks, blocksFree, blocksAvailable, files, filesFree, nameLength,
                  fragmentSize, flags] { w.u64(v) }
    }

    static func decode(from r: inout WireReader) throws(GoferDecodeError) -> FileSystemStatistics {
        FileSystemStatistics(type: try r.u64(), blockSize: try r.u64(), blocks: try r.u64(),
                             blocksFree: try r.u64(), blocksAvailable: try r.u64(), files: try r.u64(),
                             filesFree: try r.u64(), nameLength: try r.u64(), fragmentSize: try r.u64(),
                             flags: try r.u64())
    }
}
