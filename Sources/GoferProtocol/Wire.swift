// Bounds-checked little-endian encoding primitives for the Gofer wire format. Every read checks the
// remaining length first, so a truncated or hostile message becomes a GoferDecodeError, never a trap.
import LinuxABI

/// Why a message could not be decoded. Both sides treat any of these as "the peer is broken or hostile".
public enum GoferDecodeError: Error, Equatable, Sendable {
    /// The message ended before a field it announced.
    case truncated
    /// Bytes were left over after the last field.
    case trailingBytes
    /// The message, a count or a string is larger than the protocol allows.
    case oversized
    /// A header field (flags, errno) holds a value v1 does not define.
    case badHeader
    /// The operation code is not one this protocol version knows (the server answers ENOSYS).
    case unknownOperation(UInt16)
    /// A file name is empty, too long, contains '/' or NUL, or is "." or "..".
    case invalidName
    /// A field holds a value outside its range (nanoseconds >= 1e9, errno out of range, ...).
    case invalidValue
}

/// Protocol-wide constants and validation rules shared by the client and the server.
public enum GoferWire {
    /// The highest protocol version this build speaks. Bump it when a message layout changes; new
    /// operations can be added without a bump because unknown operations are answered with ENOSYS.
    public static let currentVersion: UInt32 = 1
    /// The lowest protocol version this build still speaks.
    public static let oldestVersion: UInt32 = 1
    /// Largest message either side sends or accepts. Well under the default AF_UNIX socket buffer, so
    /// a SOCK_SEQPACKET send of this size never fails with EMSGSIZE.
    public static let maxMessageSize = 65536
    /// Largest number of names in one walk request; the client splits longer walks.
    public static let maxWalkComponents = 128
    /// NAME_MAX: the longest single path component.
    public static let maxNameLength = 255
    /// PATH_MAX minus the terminating NUL: the longest symlink target.
    public static let maxLinkTargetLength = 4095
    /// Largest errno a reply may carry (the kernel's MAX_ERRNO).
    static let maxErrno: Int32 = 4095

    /// Checks one path component as the Gofer walks it. Returns nil if valid, otherwise the errno a
    /// Linux kernel would give: ENAMETOOLONG for > 255 bytes, EINVAL for everything else. "." and ".."
    /// are rejected because the Sentry walks paths itself and never needs the Gofer to resolve them.
    public static func nameError(_ name: [UInt8]) -> Errno? {
        if name.count > maxNameLength { return .ENAMETOOLONG }
        if name.isEmpty || name == [0x2E] || name == [0x2E, 0x2E] { return .EINVAL }
        if name.contains(0) || name.contains(0x2F) { return .EINVAL }
        return nil
    }
}

/// Appends little-endian fields to a byte array.
struct WireWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    /// A byte string with a u16 length prefix. Callers validate lengths before encoding; the
    /// precondition only guards against a programming error inside this module.
    mutating func string(_ s: [UInt8]) {
        precondition(s.count <= Int(UInt16.max), "GoferWire: string too long to encode")
        u16(UInt16(s.count))
        bytes.append(contentsOf: s)
    }
}

/// Reads little-endian fields from a byte array; every read is bounds-checked.
struct WireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int) throws(GoferDecodeError) -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw .truncated }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    /// Assembles an unsigned integer from `n` little-endian bytes without any unaligned loads.
    private mutating func integer(_ n: Int) throws(GoferDecodeError) -> UInt64 {
        var value: UInt64 = 0
        for (i, b) in try take(n).enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    mutating func u8() throws(GoferDecodeError) -> UInt8 { UInt8(try integer(1)) }
    mutating func u16() throws(GoferDecodeError) -> UInt16 { UInt16(try integer(2)) }
    mutating func u32() throws(GoferDecodeError) -> UInt32 { UInt32(try integer(4)) }
    mutating func u64() throws(GoferDecodeError) -> UInt64 { try integer(8) }
    mutating func i32() throws(GoferDecodeError) -> Int32 { Int32(bitPattern: try u32()) }
    mutating func i64() throws(GoferDecodeError) -> Int64 { Int64(bitPattern: try u64()) }

    /// A u16-length-prefixed byte string of at most `maxLength` bytes.
    mutating func string(maxLength: Int) throws(GoferDecodeError) -> [UInt8] {
        let length = Int(try u16())
        guard length <= maxLength else { throw .oversized }
        return Array(try take(length))
    }

    /// A path component, validated with the same rules the server applies.
    mutating func name() throws(GoferDecodeError) -> [UInt8] {
        let n = try string(maxLength: GoferWire.maxNameLength)
        guard GoferWire.nameError(n) == nil else { throw .invalidName }
        return n
    }

    /// An element count that must not exceed `limit`, and whose elements (each at least `minSize` bytes)
    /// must fit in what is left: rejects a huge count before any allocation is sized from it.
    mutating func count(limit: Int, minElementSize: Int) throws(GoferDecodeError) -> Int {
        let n = Int(try u16())
        guard n <= limit else { throw .oversized }
        guard n * minElementSize <= remaining else { throw .truncated }
        return n
    }

    /// An errno field: 0 means "none", otherwise 1...4095.
    mutating func errno() throws(GoferDecodeError) -> Errno? {
        let raw = try i32()
        guard raw >= 0, raw <= GoferWire.maxErrno else { throw .invalidValue }
        return raw == 0 ? nil : Errno(raw)
    }

    /// Succeeds only if every byte was consumed: v1 messages have no optional tails.
    func finish() throws(GoferDecodeError) {
        guard remaining == 0 else { throw .trailingBytes }
    }
}
