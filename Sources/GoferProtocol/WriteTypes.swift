// Values carried by the write operations (protocol v1, operations 10...17): the owner of a new file and
// the set of attribute changes of a setattr. Both have fixed-size encodings, validated on decode.
import LinuxABI

/// The owner a new file gets: the caller's fs uid and gid as the Sentry sees them.
public struct FileOwner: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public init(uid: UInt32, gid: UInt32) { self.uid = uid; self.gid = gid }

    func encode(into w: inout WireWriter) { w.u32(uid); w.u32(gid) }
    static func decode(from r: inout WireReader) throws(GoferDecodeError) -> FileOwner {
        FileOwner(uid: try r.u32(), gid: try r.u32())
    }
}

/// Which attributes a setattr changes, and to what. Fields whose bit is not in `mask` are ignored
/// (and encoded as zero).
public struct AttributeChanges: Sendable, Equatable {
    public static let mode: UInt32 = 1 << 0
    public static let uid: UInt32 = 1 << 1
    public static let gid: UInt32 = 1 << 2
    public static let size: UInt32 = 1 << 3
    /// Set atime to `atime`.
    public static let atime: UInt32 = 1 << 4
    /// Set mtime to `mtime`.
    public static let mtime: UInt32 = 1 << 5
    /// Set atime to the Gofer's current time (UTIME_NOW); excludes `atime`.
    public static let atimeNow: UInt32 = 1 << 6
    /// Set mtime to the Gofer's current time (UTIME_NOW); excludes `mtime`.
    public static let mtimeNow: UInt32 = 1 << 7
    static let allBits: UInt32 = (1 << 8) - 1

    public var mask: UInt32 = 0
    /// Permission bits only (07777); the type cannot change.
    public var mode: UInt32 = 0
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var size: Int64 = 0
    public var atime = FileTime(seconds: 0, nanoseconds: 0)
    public var mtime = FileTime(seconds: 0, nanoseconds: 0)

    public init() {}

    public func has(_ bit: UInt32) -> Bool { mask & bit != 0 }

    static let encodedSize = 4 + 4 + 4 + 4 + 8 + 16 + 16

    func encode(into w: inout WireWriter) {
        w.u32(mask); w.u32(mode); w.u32(uid); w.u32(gid); w.i64(size)
        for t in [atime, mtime] { w.i64(t.seconds); w.i64(t.nanoseconds) }
    }

    static func decode(from r: inout WireReader) throws(GoferDecodeError) -> AttributeChanges {
        var c = AttributeChanges()
        c.mask = try r.u32(); c.mode = try r.u32(); c.uid = try r.u32(); c.gid = try r.u32(); c.size = try r.i64()
        var times: [FileTime] = []
        for _ in 0..<2 {
            let s = try r.i64(), ns = try r.i64()
            guard ns >= 0, ns < 1_000_000_000 else { throw .invalidValue }
            times.append(FileTime(seconds: s, nanoseconds: ns))
        }
        c.atime = times[0]; c.mtime = times[1]
        guard c.mask & ~allBits == 0, c.mode & ~0o7777 == 0, c.size >= 0,
              !(c.has(atime) && c.has(atimeNow)), !(c.has(mtime) && c.has(mtimeNow))
        else { throw .invalidValue }
        return c
    }
}

/// Flags of a rename request: the renameat2(2) flags the Gofer accepts.
public enum RenameFlags {
    public static let noReplace: UInt32 = 1  // RENAME_NOREPLACE
    public static let exchange: UInt32 = 2   // RENAME_EXCHANGE
    static let all: UInt32 = noReplace | exchange
}

extension WireReader {
    /// A symlink target: 1...4095 bytes without NUL.
    mutating func linkTarget() throws(GoferDecodeError) -> [UInt8] {
        let target = try string(maxLength: GoferWire.maxLinkTargetLength)
        guard !target.isEmpty, !target.contains(0) else { throw .invalidValue }
        return target
    }
}
