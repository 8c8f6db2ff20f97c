// The Sentry's side of the Gofer protocol: one request/reply exchange at a time under a lock, so any
// number of task threads may share one connection. Every failure of the transport or of the peer's
// replies becomes EIO (and the connection is abandoned); the Sentry never traps on a Gofer's answer.
import Glibc
import LinuxABI
import Synchronization

/// A connection to one Gofer. Thread-safe. Owns the socket and closes it when released.
public final class GoferClient: Sendable {
    private struct State {
        var nextTag: UInt32 = 1
        /// Set after a transport or protocol failure: the stream may be out of step, so every later
        /// call fails with EIO instead of pairing a request with someone else's reply.
        var broken = false
        /// The version the server agreed to, once the handshake happened.
        var version: UInt32?
    }

    private let socket: Int32
    private let state = Mutex(State())

    /// Most entries readDirectory will collect, so a hostile Gofer cannot exhaust the Sentry's memory.
    public static let maxDirectoryEntries = 1 << 22

    /// Takes ownership of `socket`, a connected SOCK_SEQPACKET socket to a Gofer. The version handshake
    /// happens with the first request.
    public init(socket: Int32) { self.socket = socket }

    deinit { Glibc.close(socket) }

    /// The protocol version agreed with the server (performs the handshake if it has not happened).
    public func negotiatedVersion() throws(Errno) -> UInt32 {
        try state.withLock { (s: inout State) throws(Errno) -> UInt32 in
            try handshake(&s)
            return s.version ?? GoferWire.currentVersion
        }
    }

    /// A new handle to the root the Gofer serves, and its attributes.
    public func attach() throws(Errno) -> (FileHandle, FileAttributes) {
        guard case let (.attach(h, a), nil) = try call(.attach) else { throw poison() }
        return (h, a)
    }

    /// A new handle to the root of bind mount `index` (a directory or a regular file), and its attributes.
    public func attach(bind index: Int) throws(Errno) -> (FileHandle, FileAttributes) {
        guard let raw = UInt32(exactly: index) else { throw .EINVAL }
        guard case let (.attachedBind(h, a), nil) = try call(.attachBind(index: raw)) else { throw poison() }
        return (h, a)
    }

    /// Walks `names` from `directory`, one component at a time, never following symlinks. Stops after a
    /// component that is a symlink or not a directory, or at the first component that does not resolve.
    /// Returns every component walked (each a new handle the caller must close), and the errno of the
    /// failing component if the walk stopped on an error. Throws for a bad handle or an invalid name
    /// (EINVAL: empty, '/', NUL, "." or ".."; ENAMETOOLONG: over 255 bytes).
    public func walk(_ directory: FileHandle, _ names: [String]) throws(Errno) -> (walked: [WalkedComponent], failure: Errno?) {
        try walk(directory, rawNames: names.map { Array($0.utf8) })
    }

    /// walk(_:_:) with names as raw bytes (Linux names need not be UTF-8).
    public func walk(_ directory: FileHandle, rawNames names: [[UInt8]]) throws(Errno) -> (walked: [WalkedComponent], failure: Errno?) {
        for name in names { if let e = GoferWire.nameError(name) { throw e } }
        var walked: [WalkedComponent] = []
        var from = directory
        var start = 0
        // Long paths go in several requests; each continues from the last directory resolved.
        repeat {
            let chunk = Array(names[start..<min(names.count, start + GoferWire.maxWalkComponents)])
            guard case let (.walk(components, failure), nil) = try call(.walk(directory: from, names: chunk)),
                  components.count <= chunk.count,
                  failure == nil || components.count < chunk.count,
                  components.dropLast().allSatisfy(\.attributes.isDirectory)  // a walk goes on only through directories
            else { throw poison() }
            walked += components
            start += chunk.count
            guard failure == nil, components.count == chunk.count, let last = components.last,
                  last.attributes.isDirectory, start < names.count
            else { return (walked, failure) }
            from = last.handle
        } while true
    }

    /// Opens the file for I/O and returns the host descriptor the Gofer donated (close-on-exec; the
    /// caller owns it). Only regular files and directories can be opened. A read-only Gofer refuses
    /// O_WRONLY, O_RDWR and O_TRUNC with EROFS.
    public func open(_ file: FileHandle, flags: Int32) throws(Errno) -> Int32 {
        guard case let (.open, fd?) = try call(.open(file: file, flags: UInt32(bitPattern: flags))) else {
            throw poison()
        }
        return fd
    }

    /// A new host AF_UNIX socket of `type`, connected by the Gofer to the socket file (`--host-uds`); the
    /// caller owns the returned descriptor. ECONNREFUSED when the Gofer does not allow it.
    public func connectSocket(_ file: FileHandle, type: Int32) throws(Errno) -> Int32 {
        guard case let (.connectedSocket, fd?) = try call(.connectSocket(file: file, type: UInt32(bitPattern: type))) else {
            throw poison()
        }
        return fd
    }

    /// A new host AF_UNIX socket of `type` bound by the Gofer to `name` in `directory` (`--host-uds`),
    /// already listening unless it is a datagram socket; the caller owns it. EPERM when not allowed.
    public func bindSocket(_ directory: FileHandle, name: [UInt8], type: Int32) throws(Errno) -> Int32 {
        guard case let (.boundSocket, fd?) = try call(.bindSocket(directory: directory, name: name,
                                                                   type: UInt32(bitPattern: type))) else {
            throw poison()
        }
        return fd
    }

    /// The file's current attributes (fstat on the Gofer's handle; symlinks are not followed).
    public func attributes(_ file: FileHandle) throws(Errno) -> FileAttributes {
        guard case let (.attributes(a), nil) = try call(.getAttributes(file)) else { throw poison() }
        return a
    }

    /// One page of the directory's entries starting at `cookie` (0 = from the start). "." and ".." are
    /// not included.
    public func readDirectory(_ directory: FileHandle, cookie: UInt64) throws(Errno) -> DirectoryPage {
        guard case let (.directory(page), nil) = try call(.readDirectory(directory, cookie: cookie)) else {
            throw poison()
        }
        return page
    }

    /// Every entry of the directory, fetched page by page. "." and ".." are not included: the Sentry
    /// synthesizes them from its own dentry tree.
    public func readDirectory(_ directory: FileHandle) throws(Errno) -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        var cookie: UInt64 = 0
        while true {
            let page = try readDirectory(directory, cookie: cookie)
            entries += page.entries
            if page.end { return entries }
            // A page that brings nothing new, or an endless listing, means the Gofer misbehaves.
            guard !page.entries.isEmpty, entries.count <= Self.maxDirectoryEntries else { throw poison() }
            cookie = page.nextCookie
        }
    }

    /// The target of a symlink (EINVAL if the file is not one). Non-UTF-8 bytes become U+FFFD; use
    /// readlinkBytes for the exact target.
    public func readlink(_ file: FileHandle) throws(Errno) -> String {
        String(decoding: try readlinkBytes(file), as: UTF8.self)
    }

    /// The exact bytes of a symlink's target.
    public func readlinkBytes(_ file: FileHandle) throws(Errno) -> [UInt8] {
        guard case let (.readlink(target), nil) = try call(.readlink(file)) else { throw poison() }
        return target
    }

    /// statfs(2) of the file system holding the file.
    public func statfs(_ file: FileHandle) throws(Errno) -> FileSystemStatistics {
        guard case let (.statfs(s), nil) = try call(.statfs(file)) else { throw poison() }
        return s
    }

    /// Releases a handle. Errors are ignored: there is nothing a caller could do about them.
    public func close(_ file: FileHandle) {
        _ = try? call(.close(file))
    }

    // MARK: - Write operations (EROFS from a read-only Gofer)

    /// Creates and opens a new regular file (never an existing one: EEXIST, even for a dangling symlink).
    /// Returns its handle and attributes and the donated host descriptor (the caller owns it).
    public func create(_ directory: FileHandle, _ name: [UInt8], flags: Int32, mode: UInt32, owner: FileOwner) throws(Errno) -> (WalkedComponent, Int32) {
        if let e = GoferWire.nameError(name) { throw e }
        let request = GoferRequest.create(directory: directory, name: name, flags: UInt32(bitPattern: flags),
                                          mode: mode & 0o7777, owner: owner)
        guard case let (.created(.create, c), fd?) = try call(request) else { throw poison() }
        return (c, fd)
    }

    public func mkdir(_ directory: FileHandle, _ name: [UInt8], mode: UInt32, owner: FileOwner) throws(Errno) -> WalkedComponent {
        if let e = GoferWire.nameError(name) { throw e }
        return try created(.mkdir(directory: directory, name: name, mode: mode & 0o7777, owner: owner))
    }

    /// A regular file or FIFO (`mode` includes the type); devices are refused with EPERM.
    public func mknod(_ directory: FileHandle, _ name: [UInt8], mode: UInt32, owner: FileOwner) throws(Errno) -> WalkedComponent {
        if let e = GoferWire.nameError(name) { throw e }
        return try created(.mknod(directory: directory, name: name, mode: mode, owner: owner))
    }

    public func symlink(_ directory: FileHandle, _ name: [UInt8], target: [UInt8], owner: FileOwner) throws(Errno) -> WalkedComponent {
        if let e = GoferWire.nameError(name) { throw e }
        guard !target.isEmpty else { throw .ENOENT }
        guard target.count <= GoferWire.maxLinkTargetLength, !target.contains(0) else { throw .ENAMETOOLONG }
        return try created(.symlink(directory: directory, name: name, target: target, owner: owner))
    }

    public func link(_ file: FileHandle, _ directory: FileHandle, _ name: [UInt8]) throws(Errno) -> WalkedComponent {
        if let e = GoferWire.nameError(name) { throw e }
        return try created(.link(file: file, directory: directory, name: name))
    }

    /// unlinkat; `removeDirectory` is AT_REMOVEDIR.
    public func unlink(_ directory: FileHandle, _ name: [UInt8], removeDirectory: Bool) throws(Errno) {
        if let e = GoferWire.nameError(name) { throw e }
        let flags = removeDirectory ? UInt32(AtFlags.AT_REMOVEDIR) : 0
        guard case (.done(.unlink), nil) = try call(.unlink(directory: directory, name: name, flags: flags)) else { throw poison() }
    }

    /// renameat2 with RenameFlags (EINVAL for anything else).
    public func rename(_ directory: FileHandle, _ name: [UInt8], to newDirectory: FileHandle, _ newName: [UInt8], flags: UInt32) throws(Errno) {
        for n in [name, newName] { if let e = GoferWire.nameError(n) { throw e } }
        guard flags & ~RenameFlags.all == 0, flags != RenameFlags.all else { throw .EINVAL }
        let request = GoferRequest.rename(directory: directory, name: name, newDirectory: newDirectory, newName: newName, flags: flags)
        guard case (.done(.rename), nil) = try call(request) else { throw poison() }
    }

    /// Changes the attributes in `changes.mask`; returns the attributes afterwards.
    public func setAttributes(_ file: FileHandle, _ changes: AttributeChanges) throws(Errno) -> FileAttributes {
        guard case let (.setAttributes(a), nil) = try call(.setAttributes(file, changes)) else { throw poison() }
        return a
    }

    // MARK: - Extended attributes (names must pass XattrWire.nameError; ENOSYS from an older Gofer)

    /// The whole value of attribute `name` (ENODATA if the file has none by that name).
    public func getXattr(_ file: FileHandle, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        if let e = XattrWire.nameError(name) { throw e }
        guard case let (.xattr(.getXattr, value), nil) = try call(.getXattr(file, name: name)) else { throw poison() }
        return value
    }

    /// setxattr with XattrWire.create / .replace; E2BIG for a value over XattrWire.maxValueSize.
    public func setXattr(_ file: FileHandle, _ name: [UInt8], value: [UInt8], flags: UInt32) throws(Errno) {
        if let e = XattrWire.nameError(name) { throw e }
        guard value.count <= XattrWire.maxValueSize else { throw .E2BIG }
        guard flags & ~XattrWire.allFlags == 0 else { throw .EINVAL }
        guard case (.done(.setXattr), nil) = try call(.setXattr(file, name: name, value: value, flags: flags)) else { throw poison() }
    }

    /// The file's attribute names (a malformed list from the Gofer breaks the connection).
    public func listXattr(_ file: FileHandle) throws(Errno) -> [[UInt8]] {
        guard case let (.xattr(.listXattr, list), nil) = try call(.listXattr(file)),
              let names = XattrWire.splitList(list) else { throw poison() }
        return names
    }

    public func removeXattr(_ file: FileHandle, _ name: [UInt8]) throws(Errno) {
        if let e = XattrWire.nameError(name) { throw e }
        guard case (.done(.removeXattr), nil) = try call(.removeXattr(file, name: name)) else { throw poison() }
    }

    private func created(_ request: GoferRequest) throws(Errno) -> WalkedComponent {
        guard case let (.created(op, c), nil) = try call(request), op == request.operation else { throw poison() }
        return c
    }

    // MARK: - Exchange

    /// Marks the connection unusable and returns EIO, for replies that break the protocol.
    private func poison() -> Errno {
        state.withLock { $0.broken = true }
        return .EIO
    }

    /// Sends one request and waits for its reply. Returns the payload and the donated descriptor
    /// (only an `open` reply may carry one). A reply carrying an errno throws that errno.
    private func call(_ request: GoferRequest) throws(Errno) -> (GoferReply, Int32?) {
        try state.withLock { (s: inout State) throws(Errno) -> (GoferReply, Int32?) in
            try handshake(&s)
            return try exchange(&s, request)
        }
    }

    private func handshake(_ s: inout State) throws(Errno) {
        guard !s.broken else { throw .EIO }
        guard s.version == nil else { return }
        let request = GoferRequest.version(minVersion: GoferWire.oldestVersion, maxVersion: GoferWire.currentVersion)
        guard case let (.version(v, _), nil) = try exchange(&s, request),
              v >= GoferWire.oldestVersion, v <= GoferWire.currentVersion
        else {
            s.broken = true
            throw .EIO
        }
        s.version = v
    }

    private func exchange(_ s: inout State, _ request: GoferRequest) throws(Errno) -> (GoferReply, Int32?) {
        guard !s.broken else { throw .EIO }
        let tag = s.nextTag
        s.nextTag &+= 1
        let packet: ReceivedPacket
        do {
            try GoferSocket.send(socket, GoferWire.encode(GoferRequestMessage(tag: tag, request: request)))
            guard let p = try GoferSocket.receive(socket) else { throw Errno.EIO }
            packet = p
        } catch {
            s.broken = true
            throw .EIO
        }
        var descriptors = packet.descriptors
        defer { for fd in descriptors { Glibc.close(fd) } }
        guard let reply = try? GoferWire.decodeReply(packet.bytes),
              reply.tag == tag, reply.operation == request.operation.rawValue
        else {
            s.broken = true
            throw .EIO
        }
        switch reply.result {
        case let .failure(e):
            throw e
        case let .success(payload):
            guard payload.operation == request.operation else { s.broken = true; throw .EIO }
            let donates: Bool
            switch payload {
            case .open, .created(.create, _), .connectedSocket, .boundSocket: donates = true
            default: donates = false
            }
            if donates {
                guard descriptors.count == 1 else { s.broken = true; throw .EIO }
                return (payload, descriptors.removeLast())
            }
            guard descriptors.isEmpty else { s.broken = true; throw .EIO }
            return (payload, nil)
        }
    }
}
