// Requests and replies of the Gofer protocol and their encodings.
//
// Wire format, version 1. One message per SOCK_SEQPACKET packet; integers little-endian.
//   request: u16 op | u16 flags (0) | u32 tag | payload
//   reply:   u16 op | u16 flags (0) | u32 tag | i32 errno | payload (present only when errno == 0)
// A string is u16 length + bytes; a handle is u64; attributes are fixed-size (FileAttributes).
// The first request must be `version`; the server answers requests it cannot decode with EINVAL and
// unknown operations with ENOSYS, so later versions can add operations without breaking older peers
// (the write operations 10...17 and attachBind 18 were added that way: a Gofer that predates them
// answers ENOSYS).
// Layout changes of existing messages require a new version, negotiated by the handshake. An `open` or
// `create` (or `connectSocket`, `bindSocket`) success reply carries exactly one host descriptor as SCM_RIGHTS; no other
// message carries any.
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
    // Write operations: answered with EROFS by a read-only Gofer.
    case create = 10
    case mkdir = 11
    case mknod = 12
    case symlink = 13
    case link = 14
    case unlink = 15
    case rename = 16
    case setAttributes = 17
    /// A new handle to the root of one of the spec's bind mounts (a directory or a single file).
    case attachBind = 18
    /// Host unix sockets (`--host-uds`), 40...49.
    case connectSocket = 40
    /// A new host socket bound to a name in a directory (`--host-uds=create|all`).
    case bindSocket = 41
    // Extended attributes (XattrWire.swift): set and remove are write operations (EROFS when read-only).
    case getXattr = 30
    case setXattr = 31
    case listXattr = 32
    case removeXattr = 33

    /// Operations whose success reply is a new file's handle and attributes.
    public var createsFile: Bool { [.create, .mkdir, .mknod, .symlink, .link].contains(self) }
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
    /// Creates a regular file `name` (O_CREAT|O_EXCL: never an existing file or symlink) and opens it
    /// with the access mode of `flags` (O_RDONLY/O_WRONLY/O_RDWR, O_APPEND); the reply donates it.
    case create(directory: FileHandle, name: [UInt8], flags: UInt32, mode: UInt32, owner: FileOwner)
    case mkdir(directory: FileHandle, name: [UInt8], mode: UInt32, owner: FileOwner)
    /// `mode` carries the type: S_IFREG or S_IFIFO only (devices are refused with EPERM).
    case mknod(directory: FileHandle, name: [UInt8], mode: UInt32, owner: FileOwner)
    case symlink(directory: FileHandle, name: [UInt8], target: [UInt8], owner: FileOwner)
    /// A new name for `file` (never a directory).
    case link(file: FileHandle, directory: FileHandle, name: [UInt8])
    /// `flags` is 0 or AT_REMOVEDIR.
    case unlink(directory: FileHandle, name: [UInt8], flags: UInt32)
    /// renameat2 with RenameFlags.
    case rename(directory: FileHandle, name: [UInt8], newDirectory: FileHandle, newName: [UInt8], flags: UInt32)
    case setAttributes(FileHandle, AttributeChanges)
    /// A new handle to the root of bind mount `index` (in the order the Gofer was given them): a
    /// directory or a regular file. ENOENT for an index the Gofer does not serve.
    case attachBind(index: UInt32)
    /// Connects a new host AF_UNIX socket of `type` (SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM) to the
    /// socket file; the reply donates the connected descriptor. Refused with ECONNREFUSED unless the Gofer
    /// runs with --host-uds=open or all.
    case connectSocket(file: FileHandle, type: UInt32)
    /// Binds a new host AF_UNIX socket of `type` to `name` in `directory` (listening already for stream
    /// and seqpacket); the reply donates it. EPERM unless the Gofer runs with --host-uds=create or all.
    case bindSocket(directory: FileHandle, name: [UInt8], type: UInt32)
    /// getxattr of `name` (validated by XattrWire.nameError); the reply is the whole value.
    case getXattr(FileHandle, name: [UInt8])
    /// setxattr with XattrWire flags (create / replace).
    case setXattr(FileHandle, name: [UInt8], value: [UInt8], flags: UInt32)
    /// The file's attribute names, each NUL-terminated, as listxattr(2) returns them.
    case listXattr(FileHandle)
    case removeXattr(FileHandle, name: [UInt8])

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
        case .create: .create
        case .mkdir: .mkdir
        case .mknod: .mknod
        case .symlink: .symlink
        case .link: .link
        case .unlink: .unlink
        case .rename: .rename
        case .setAttributes: .setAttributes
        case .attachBind: .attachBind
        case .connectSocket: .connectSocket
        case .bindSocket: .bindSocket
        case .getXattr: .getXattr
        case .setXattr: .setXattr
        case .listXattr: .listXattr
        case .removeXattr: .removeXattr
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
    /// The new file of a create (whose descriptor travels beside the message), mkdir, mknod, symlink or
    /// link; the operation must be one whose `createsFile` is true.
    case created(GoferOperation, WalkedComponent)
    /// Success of an unlink or rename (no payload).
    case done(GoferOperation)
    /// The attributes after a setattr.
    case setAttributes(FileAttributes)
    /// The root of a bind mount (same payload as `attach`).
    case attachedBind(FileHandle, FileAttributes)
    /// The connected host socket is the donated descriptor.
    case connectedSocket
    /// The bound host socket is the donated descriptor.
    case boundSocket
    /// A getxattr value or a listxattr list (the operation says which).
    case xattr(GoferOperation, [UInt8])

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
        case let .created(op, _): op
        case let .done(op): op
        case .setAttributes: .setAttributes
        case .attachedBind: .attachBind
        case .connectedSocket: .connectSocket
        case .boundSocket: .bindSocket
        case let .xattr(op, _): op
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
        case let .create(d, name, flags, mode, owner):
            w.u64(d.raw); w.string(name); w.u32(flags); w.u32(mode); owner.encode(into: &w)
        case let .mkdir(d, name, mode, owner), let .mknod(d, name, mode, owner):
            w.u64(d.raw); w.string(name); w.u32(mode); owner.encode(into: &w)
        case let .symlink(d, name, target, owner): w.u64(d.raw); w.string(name); w.string(target); owner.encode(into: &w)
        case let .link(f, d, name): w.u64(f.raw); w.u64(d.raw); w.string(name)
        case let .unlink(d, name, flags): w.u64(d.raw); w.string(name); w.u32(flags)
        case let .rename(d, name, nd, newName, flags):
            w.u64(d.raw); w.string(name); w.u64(nd.raw); w.string(newName); w.u32(flags)
        case let .setAttributes(h, changes): w.u64(h.raw); changes.encode(into: &w)
        case let .attachBind(index): w.u32(index)
        case let .connectSocket(file, type): w.u64(file.raw); w.u32(type)
        case let .bindSocket(d, name, type): w.u64(d.raw); w.string(name); w.u32(type)
        case let .getXattr(h, name), let .removeXattr(h, name): w.u64(h.raw); w.string(name)
        case let .setXattr(h, name, value, flags): w.u64(h.raw); w.string(name); w.string(value); w.u32(flags)
        case let .listXattr(h): w.u64(h.raw)
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
        case .create:
            let d = FileHandle(raw: try r.u64()), name = try r.name(), flags = try r.u32(), mode = try r.u32()
            guard mode & ~0o7777 == 0 else { throw .invalidValue }
            request = .create(directory: d, name: name, flags: flags, mode: mode, owner: try FileOwner.decode(from: &r))
        case .mkdir:
            let d = FileHandle(raw: try r.u64()), name = try r.name(), mode = try r.u32()
            guard mode & ~0o7777 == 0 else { throw .invalidValue }
            request = .mkdir(directory: d, name: name, mode: mode, owner: try FileOwner.decode(from: &r))
        case .mknod:
            let d = FileHandle(raw: try r.u64()), name = try r.name(), mode = try r.u32()
            guard mode & ~(FileMode.S_IFMT | 0o7777) == 0 else { throw .invalidValue }
            request = .mknod(directory: d, name: name, mode: mode, owner: try FileOwner.decode(from: &r))
        case .symlink:
            let d = FileHandle(raw: try r.u64()), name = try r.name(), target = try r.linkTarget()
            request = .symlink(directory: d, name: name, target: target, owner: try FileOwner.decode(from: &r))
        case .link:
            request = .link(file: FileHandle(raw: try r.u64()), directory: FileHandle(raw: try r.u64()), name: try r.name())
        case .unlink:
            let d = FileHandle(raw: try r.u64()), name = try r.name(), flags = try r.u32()
            guard flags & ~UInt32(AtFlags.AT_REMOVEDIR) == 0 else { throw .invalidValue }
            request = .unlink(directory: d, name: name, flags: flags)
        case .rename:
            let d = FileHandle(raw: try r.u64()), name = try r.name()
            let nd = FileHandle(raw: try r.u64()), newName = try r.name(), flags = try r.u32()
            guard flags & ~RenameFlags.all == 0, flags != RenameFlags.all else { throw .invalidValue }
            request = .rename(directory: d, name: name, newDirectory: nd, newName: newName, flags: flags)
        case .setAttributes:
            request = .setAttributes(FileHandle(raw: try r.u64()), try AttributeChanges.decode(from: &r))
        case .attachBind: request = .attachBind(index: try r.u32())
        case .connectSocket: request = .connectSocket(file: FileHandle(raw: try r.u64()), type: try r.u32())
        case .bindSocket:
            let d = FileHandle(raw: try r.u64()), name = try r.name()
            request = .bindSocket(directory: d, name: name, type: try r.u32())
        case .getXattr: request = .getXattr(FileHandle(raw: try r.u64()), name: try r.xattrName())
        case .removeXattr: request = .removeXattr(FileHandle(raw: try r.u64()), name: try r.xattrName())
        case .listXattr: request = .listXattr(FileHandle(raw: try r.u64()))
        case .setXattr:
            let h = FileHandle(raw: try r.u64()), name = try r.xattrName()
            let value = try r.string(maxLength: XattrWire.maxValueSize), flags = try r.u32()
            guard flags & ~XattrWire.allFlags == 0 else { throw .invalidValue }
            request = .setXattr(h, name: name, value: value, flags: flags)
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
        case let .attach(h, a), let .attachedBind(h, a): w.u64(h.raw); a.encode(into: &w)
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
        case let .created(_, c): w.u64(c.handle.raw); c.attributes.encode(into: &w)
        case .done, .connectedSocket, .boundSocket: break
        case let .xattr(_, bytes): w.string(bytes)
        case let .setAttributes(a): a.encode(into: &w)
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
        case .create, .mkdir, .mknod, .symlink, .link:
            let h = FileHandle(raw: try r.u64())
            reply = .created(op, WalkedComponent(handle: h, attributes: try FileAttributes.decode(from: &r)))
        case .unlink, .rename: reply = .done(op)
        case .setAttributes: reply = .setAttributes(try FileAttributes.decode(from: &r))
        case .attachBind: reply = .attachedBind(FileHandle(raw: try r.u64()), try FileAttributes.decode(from: &r))
        case .connectSocket: reply = .connectedSocket
        case .bindSocket: reply = .boundSocket
        case .setXattr, .removeXattr: reply = .done(op)
        case .getXattr, .listXattr: reply = .xattr(op, try r.string(maxLength: XattrWire.maxValueSize))
        }
        try r.finish()
        return GoferReplyMessage(tag: tag, reply: reply)
    }
}
