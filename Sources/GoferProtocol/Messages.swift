// Requests and replies of the Gofer protocol and their encodings.
//
// Wire format, version 1. One message per SOCK_SEQPACKET packet; integers little-endian.
//   request: u16 op | u16 flags (0) | u32 tag | payload
//   reply:   u16 op | u16 flags (0) | u32 tag | i32 errno | payload (present only when errno == 0)
// A string is u16 length + bytes; a handle is u64; attributes are fixed-size (FileAttributes).
// The first request must be `version`; the server answers requests it cannot decode with EINVAL and
// unknown operations with ENOSYS, so later versions can add operations (write ops: create, mkdir,
// unlink, rename, setattr, ...) without breaking older peers. Layout changes of existing messages
// require a new version, negotiated by the handshake. An `open` success reply carries exactly one
// host descriptor as SCM_RIGHTS; no other message carries descriptors.
import LinuxABI

/// Operation codes. Values are part of the wire format: never renumber, only append.
public enum GoferOperation: UInt16, Sendable, CaseIterable {
    case version = 1
    case attach = 2
    case walk = 3
    case open = 4
    case getAttributes = 5
    case readDirectory = 6
    case readlink = 7
    case statfs = 8
    case close = 9
}

/// A request from the Sentry to the Gofer.
public enum GoferRequest: Sendable, Equatable {
    /// Handshake: the client speaks every version in minVersion...maxVersion.
    case version(minVersion: UInt32, maxVersion: UInt32)
    /// A new handle to the served root.
    case attach
    /// Look up `names` one component at a time from `directory` (at most maxWalkComponents).
    case walk(directory: FileHandle, names: [[UInt8]])
    /// Open the file for I/O with open(2) flags; the reply donates the host descriptor.
    case open(file: FileHandle, flags: UInt32)
    case getAttributes(FileHandle)
    /// One page of entries starting at `cookie` (0 = the beginning).
    case readDirectory(FileHandle, cookie: UInt64)
    case readlink(FileHandle)
    case statfs(FileHandle)
    /// Releases the handle; the client must not use it afterwards.
    case close(FileHandle)

    public var operation: GoferOperation {
        switch self {
        case .version: .version
        case .attach: .attach
        case .walk: .walk
        case .open: .open
        case .getAttributes: .getAttributes
        case .readDirectory: .readDirectory
        case .readlink: .readlink
        case .statfs: .statfs
        case .close: .close
        }
    }
}

/// One component a walk resolved.
public struct WalkedComponent: Sendable, Equatable {
    public var handle: FileHandle
    public var attributes: FileAttributes
    public init(handle: FileHandle, attributes: FileAttributes) {
        self.handle = handle; self.attributes = attributes
    }
}

/// The payload of a successful reply.
public enum GoferReply: Sendable, Equatable {
    case version(UInt32, maxMessageSize: UInt32)
    case attach(FileHandle, FileAttributes)
    /// The components resolved, and the errno of the component that failed to resolve, if any.
    case walk([WalkedComponent], failure: Errno?)
    /// The descriptor travels beside the message (SCM_RIGHTS).
    case open
    case attributes(FileAttributes)
    case directory(DirectoryPage)
    case readlink([UInt8])
    case statfs(FileSystemStatistics)
    case close

    public var operation: GoferOperation {
        switch self {
        case .version: .version
        case .attach: .attach
        case .walk: .walk
        case .open: .open
        case .attributes: .getAttributes
        case .directory: .readDirectory
        case .readlink: .readlink
        case .statfs: .statfs
        case .close: .close
        }
    }
}

/// A request with its tag.
public struct GoferRequestMessage: Sendable, Equatable {
    public var tag: UInt32
    public var request: GoferRequest
    public init(tag: UInt32, request: GoferRequest) { self.tag = tag; self.request = request }
}

/// A reply: the operation and tag it answers, and either a payload or an errno.
public struct GoferReplyMessage: Sendable, Equatable {
    /// Raw, so a reply can answer an operation this side does not know (with ENOSYS).
    public var operation: UInt16
    public var tag: UInt32
    public var result: Result<GoferReply, Errno>

    public init(tag: UInt32, reply: GoferReply) {
        self.operation = reply.operation.rawValue; self.tag = tag; self.result = .success(reply)
    }
    public init(operation: UInt16, tag: UInt32, error: Errno) {
        self.operation = operation; self.tag = tag; self.result = .failure(error)
    }
}

extension GoferWire {
    static let headerSize = 8

    /// The op and tag of a request, if at least its header is present: lets the server answer a
    /// request it cannot decode with an errno carrying the right tag.
    public static func requestHeader(_ bytes: [UInt8]) -> (operation: UInt16, tag: UInt32)? {
        var r = WireReader(bytes)
        guard let op = try? r.u16(), let _ = try? r.u16(), let tag = try? r.u32() else { return nil }
        return (op, tag)
    }

    public static func encode(_ m: GoferRequestMessage) -> [UInt8] {
        var w = WireWriter()
        w.u16(m.request.operation.rawValue); w.u16(0); w.u32(m.tag)
        switch m.request {
        case let .version(minVersion, maxVersion): w.u32(minVersion); w.u32(maxVersion)
        case .attach: break
        case let .walk(directory, names):
            w.u64(directory.raw); w.u16(UInt16(clamping: names.count))
            for n in names { w.string(n) }
        case let .open(file, flags): w.u64(file.raw); w.u32(flags)
        case let .getAttributes(h), let .readlink(h), let .statfs(h), let .close(h): w.u64(h.raw)
        case let .readDirectory(h, cookie): w.u64(h.raw); w.u64(cookie)
        }
        return w.bytes
    }

    public static func decodeRequest(_ bytes: [UInt8]) throws(GoferDecodeError) -> GoferRequestMessage {
        guard bytes.count <= maxMessageSize else { throw .oversized }
        var r = WireReader(bytes)
        let rawOp = try r.u16(), flags = try r.u16(), tag = try r.u32()
        guard flags == 0 else { throw .badHeader }
        guard let op = GoferOperation(rawValue: rawOp) else { throw .unknownOperation(rawOp) }
        let request: GoferRequest
        switch op {
        case .version: request = .version(minVersion: try r.u32(), maxVersion: try r.u32())
        case .attach: request = .attach
        case .walk:
            let directory = FileHandle(raw: try r.u64())
            let n = try r.count(limit: maxWalkComponents, minElementSize: 2)
            var names: [[UInt8]] = []
            names.reserveCapacity(n)
            for _ in 0..<n { names.append(try r.name()) }
            request = .walk(directory: directory, names: names)
        case .open: request = .open(file: FileHandle(raw: try r.u64()), flags: try r.u32())
        case .getAttributes: request = .getAttributes(FileHandle(raw: try r.u64()))
        case .readDirectory: request = .readDirectory(FileHandle(raw: try r.u64()), cookie: try r.u64())
        case .readlink: request = .readlink(FileHandle(raw: try r.u64()))
        case .statfs: request = .statfs(FileHandle(raw: try r.u64()))
        case .close: request = .close(FileHandle(raw: try r.u64()))
        }
        try r.finish()
        return GoferRequestMessage(tag: tag, request: request)
    }

    public static func encode(_ m: GoferReplyMessage) -> [UInt8] {
        var w = WireWriter(capacity: 256)
        w.u16(m.operation); w.u16(0); w.u32(m.tag)
        let reply: GoferReply
        switch m.result {
        case let .failure(e): w.i32(e.rawValue); return w.bytes
        case let .success(r): w.i32(0); reply = r
        }
        switch reply {
        case let .version(v, maxMessageSize): w.u32(v); w.u32(maxMessageSize)
        case let .attach(h, a): w.u64(h.raw); a.encode(into: &w)
        case let .walk(components, failure):
            w.u16(UInt16(clamping: components.count))
            for c in components { w.u64(c.handle.raw); c.attributes.encode(into: &w) }
            w.i32(failure?.rawValue ?? 0)
        case .open, .close: break
        case let .attributes(a): a.encode(into: &w)
        case let .directory(page):
            w.u8(page.end ? 1 : 0); w.u64(page.nextCookie); w.u16(UInt16(clamping: page.entries.count))
            for e in page.entries { w.u64(e.inode); w.u8(e.type); w.string(e.rawName) }
        case let .readlink(target): w.string(target)
        case let .statfs(s): s.encode(into: &w)
        }
        return w.bytes
    }

    public static func decodeReply(_ bytes: [UInt8]) throws(GoferDecodeError) -> GoferReplyMessage {
        guard bytes.count <= maxMessageSize else { throw .oversized }
        var r = WireReader(bytes)
        let rawOp = try r.u16(), flags = try r.u16(), tag = try r.u32()
        guard flags == 0 else { throw .badHeader }
        if let error = try r.errno() {
            try r.finish()
            return GoferReplyMessage(operation: rawOp, tag: tag, error: error)
        }
        guard let op = GoferOperation(rawValue: rawOp) else { throw .unknownOperation(rawOp) }
        let reply: GoferReply
        switch op {
        case .version: reply = .version(try r.u32(), maxMessageSize: try r.u32())
        case .attach: reply = .attach(FileHandle(raw: try r.u64()), try FileAttributes.decode(from: &r))
        case .walk:
            let n = try r.count(limit: maxWalkComponents, minElementSize: 8 + FileAttributes.encodedSize)
            var components: [WalkedComponent] = []
            components.reserveCapacity(n)
            for _ in 0..<n {
                let h = FileHandle(raw: try r.u64())
                components.append(WalkedComponent(handle: h, attributes: try FileAttributes.decode(from: &r)))
            }
            reply = .walk(components, failure: try r.errno())
        case .open: reply = .open
        case .getAttributes: reply = .attributes(try FileAttributes.decode(from: &r))
        case .readDirectory:
            let end = try r.u8()
            guard end <= 1 else { throw .invalidValue }
            let cookie = try r.u64()
            let n = try r.count(limit: Int(UInt16.max), minElementSize: DirectoryEntry.minEncodedSize)
            var entries: [DirectoryEntry] = []
            entries.reserveCapacity(n)
            for _ in 0..<n {
                let inode = try r.u64(), type = try r.u8(), name = try r.name()
                entries.append(DirectoryEntry(rawName: name, inode: inode, type: type))
            }
            reply = .directory(DirectoryPage(entries: entries, nextCookie: cookie, end: end == 1))
        case .readlink:
            let target = try r.string(maxLength: maxLinkTargetLength)
            guard !target.isEmpty, !target.contains(0) else { throw .invalidValue }
            reply = .readlink(target)
        case .statfs: reply = .statfs(try FileSystemStatistics.decode(from: &r))
        case .close: reply = .close
        }
        try r.finish()
        return GoferReplyMessage(tag: tag, reply: reply)
    }
}
