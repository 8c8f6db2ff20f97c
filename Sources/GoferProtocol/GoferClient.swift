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
            if case .open = payload {
                guard descriptors.count == 1 else { s.broken = true; throw .EIO }
                return (payload, descriptors.removeLast())
            }
            return (payload, nil)
        }
    }
}
