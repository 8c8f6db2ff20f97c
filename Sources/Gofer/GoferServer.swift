// The Gofer's request loop: a table of handles (O_PATH descriptors), each resolved one component at a
// time from its parent with O_NOFOLLOW, so no symlink in the served tree is ever followed by the Gofer
// and no path string is ever handed to the kernel. Confinement (mount namespace, pivot_root, seccomp)
// is GoferRole's job; this type is the same with or without it, which is what the unit tests exercise.
import Glibc
import GoferProtocol
import LinuxABI

/// One file the client holds a handle to.
final class Node {
    /// O_PATH|O_NOFOLLOW descriptor of the file itself.
    let fd: Int32
    /// The directory it was walked from and the name it had there: a regular file is reopened for I/O
    /// through these (nil only for the root).
    /// Updated when the client renames the file through this Gofer, so a reopen still finds it.
    var parent: Node?
    var name: [UInt8]
    /// Identity and type as first seen; a reopen must find the same file.
    let dev: UInt64
    let inode: UInt64
    let fileType: UInt32
    /// Writes through this handle are refused with EROFS: it is in a read-only root or bind. Inherited
    /// from the directory it was walked from or created in.
    let readOnly: Bool

    init(fd: Int32, parent: Node?, name: [UInt8], attributes: FileAttributes, readOnly: Bool? = nil) {
        self.fd = fd; self.parent = parent; self.name = name
        self.readOnly = readOnly ?? parent?.readOnly ?? false
        self.dev = attributes.dev; self.inode = attributes.inode; self.fileType = attributes.fileType
    }

    deinit { close(fd) }

    var isDirectory: Bool { fileType == FileMode.S_IFDIR }
}

/// Serves the Gofer protocol for one client on one socket, from a root directory descriptor.
/// Not thread-safe: one thread runs `serve()`.
public final class GoferServer {
    let rootFD: Int32
    /// `--host-uds`: what may be done with host unix sockets (HostSockets.swift).
    let hostSockets: GoferHostSockets
    private let socket: Int32
    /// Whether the root is served read-only; each handle carries its own flag (binds may differ).
    let readOnly: Bool
    /// The spec's bind mounts, by index (`attachBind`).
    private let binds: [GoferBindRoot]
    /// Nothing served is writable: write requests are refused before any handle is looked at.
    private var allReadOnly: Bool { readOnly && binds.allSatisfy(\.readOnly) }
    var handles: [UInt64: Node] = [:]
    private var nextHandle: UInt64 = 1
    private var version: UInt32?

    /// `rootFD` is a directory descriptor (O_PATH is enough) of the tree to serve; `socket` a connected
    /// SOCK_SEQPACKET socket to the client. The server owns neither: the caller closes both after serve().
    /// `binds` are served as further roots, by index.
    public init(rootFD: Int32, socket: Int32, readOnly: Bool, binds: [GoferBindRoot] = [],
                hostSockets: GoferHostSockets = .none) {
        self.rootFD = rootFD
        self.hostSockets = hostSockets
        self.socket = socket
        self.readOnly = readOnly
        self.binds = binds
    }

    /// Answers requests until the client closes its end (returns normally) or the socket fails (throws
    /// the host errno). Every handle is released before returning.
    public func serve() throws(Errno) {
        defer { handles.removeAll() }
        while true {
            let packet: ReceivedPacket
            do {
                guard let p = try GoferSocket.receive(socket) else { return }
                packet = p
            } catch .EMSGSIZE {
                // The oversized request is gone; answer so a waiting client is not left hanging.
                guard try reply(GoferReplyMessage(operation: 0, tag: 0, error: .EMSGSIZE)) else { return }
                continue
            }
            // Requests never carry descriptors; do not keep any a client tried to pass.
            for fd in packet.descriptors { close(fd) }
            let (message, donated) = respond(to: packet.bytes)
            defer { if let donated { close(donated) } }
            guard try reply(message, donating: donated) else { return }
        }
    }

    /// Sends a reply; false if the client is gone (its end closed before reading it).
    private func reply(_ message: GoferReplyMessage, donating fd: Int32? = nil) throws(Errno) -> Bool {
        do {
            try GoferSocket.send(socket, GoferWire.encode(message), donating: fd)
            return true
        } catch .EPIPE, .ECONNRESET {
            return false
        }
    }

    /// Decodes and executes one request. Returns the reply and the descriptor to donate with it.
    func respond(to bytes: [UInt8]) -> (GoferReplyMessage, Int32?) {
        let request: GoferRequestMessage
        do {
            request = try GoferWire.decodeRequest(bytes)
        } catch {
            let (op, tag) = GoferWire.requestHeader(bytes) ?? (0, 0)
            if case .unknownOperation = error {
                return (GoferReplyMessage(operation: op, tag: tag, error: .ENOSYS), nil)
            }
            return (GoferReplyMessage(operation: op, tag: tag, error: error == .oversized ? .EMSGSIZE : .EINVAL), nil)
        }
        let op = request.request.operation.rawValue
        do {
            var donated: Int32?
            let reply = try execute(request.request, donating: &donated)
            return (GoferReplyMessage(tag: request.tag, reply: reply), donated)
        } catch {
            return (GoferReplyMessage(operation: op, tag: request.tag, error: error), nil)
        }
    }

    private func execute(_ request: GoferRequest, donating donated: inout Int32?) throws(Errno) -> GoferReply {
        if case let .version(minVersion, maxVersion) = request {
            let chosen = min(maxVersion, GoferWire.currentVersion)
            guard chosen >= minVersion, chosen >= GoferWire.oldestVersion else { throw .EPROTONOSUPPORT }
            version = chosen
            return .version(chosen, maxMessageSize: UInt32(GoferWire.maxMessageSize))
        }
        // Everything else needs an agreed layout first.
        guard version != nil else { throw .EPROTO }
        switch request {
        case .version: throw .EPROTO  // handled above
        case .attach:
            let fd = try HostFile.openAt(rootFD, [0x2E], flags: Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY))
            let attributes: FileAttributes
            do {
                attributes = try HostFile.attributes(fd)
            } catch {
                close(fd)
                throw error
            }
            return .attach(insert(Node(fd: fd, parent: nil, name: [], attributes: attributes, readOnly: readOnly)), attributes)
        case let .attachBind(index):
            guard Int(index) < binds.count else { throw .ENOENT }
            let node = try binds[Int(index)].attach()
            let attributes = try HostFile.attributes(node.fd)
            return .attachedBind(insert(node), attributes)
        case let .walk(directory, names):
            return try walk(from: lookup(directory), names)
        case let .open(file, flags):
            donated = try open(lookup(file), flags: Int32(bitPattern: flags))
            return .open
        case let .connectSocket(file, type):
            donated = try connectHostSocket(lookup(file), type: type)
            return .connectedSocket
        case let .bindSocket(directory, name, type):
            donated = try bindHostSocket(lookup(directory), name: name, type: type)
            return .boundSocket
        case let .getAttributes(file):
            return .attributes(try HostFile.attributes(lookup(file).fd))
        case let .readDirectory(directory, cookie):
            let node = try lookup(directory)
            guard node.isDirectory else { throw .ENOTDIR }
            return .directory(try DirectoryReader.page(of: node.fd, cookie: cookie))
        case let .readlink(file):
            let node = try lookup(file)
            guard node.fileType == FileMode.S_IFLNK else { throw .EINVAL }
            return .readlink(try HostFile.readlink(node.fd))
        case let .statfs(file):
            let node = try lookup(file)
            var s = try HostFile.fileSystemStatistics(node.fd)
            if node.readOnly { s.flags |= FileSystemStatistics.readOnlyFlag }
            return .statfs(s)
        case let .close(file):
            guard handles.removeValue(forKey: file.raw) != nil else { throw .EBADF }
            return .close
        case .getXattr, .setXattr, .listXattr, .removeXattr:
            return try executeXattr(request)  // Xattr.swift
        case .create, .mkdir, .mknod, .symlink, .link, .unlink, .rename, .setAttributes:
            // Refused before any handle is even looked at: a read-only Gofer changes nothing.
            guard !allReadOnly else { throw .EROFS }
            for handle in request.changedHandles {
                if try lookup(handle).readOnly { throw .EROFS }
            }
            return try executeWrite(request, donating: &donated)
        }
    }

    func lookup(_ handle: FileHandle) throws(Errno) -> Node {
        guard let node = handles[handle.raw] else { throw .EBADF }
        return node
    }

    func insert(_ node: Node) -> FileHandle {
        // Handles are never reused, so a stale handle can never name a different file.
        let raw = nextHandle
        nextHandle += 1
        handles[raw] = node
        return FileHandle(raw: raw)
    }

    /// Resolves `names` one at a time with openat(O_PATH|O_NOFOLLOW) from the held directory descriptor.
    /// Stops after a symlink or non-directory, or at the first lookup that fails (reported as `failure`).
    private func walk(from start: Node, _ names: [[UInt8]]) throws(Errno) -> GoferReply {
        var walked: [WalkedComponent] = []
        var current = start
        for name in names {
            guard current.isDirectory else { return .walk(walked, failure: .ENOTDIR) }
            let fd: Int32
            let attributes: FileAttributes
            do throws(Errno) {
                fd = try HostFile.openAt(current.fd, name, flags: Int32(OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW))
            } catch {
                return .walk(walked, failure: error)
            }
            do throws(Errno) {
                attributes = try HostFile.attributes(fd)
            } catch {
                close(fd)
                return .walk(walked, failure: error)
            }
            let node = Node(fd: fd, parent: current, name: name, attributes: attributes)
            walked.append(WalkedComponent(handle: insert(node), attributes: attributes))
            guard node.isDirectory else { break }
            current = node
        }
        return .walk(walked, failure: nil)
    }

    /// Opens the file for I/O. Directories are reopened through their own O_PATH descriptor ("."),
    /// regular files through their parent and name with O_NOFOLLOW, then checked to be the same inode:
    /// that needs no /proc inside the confined root (a procfs descriptor would be a way out of it).
    func open(_ node: Node, flags: Int32) throws(Errno) -> Int32 {
        let access = flags & Int32(OpenFlags.O_ACCMODE)
        guard access != Int32(OpenFlags.O_ACCMODE) else { throw .EINVAL }
        let truncate = flags & Int32(OpenFlags.O_TRUNC) != 0
        let writes = access != Int32(OpenFlags.O_RDONLY) || truncate
        if node.readOnly && writes { throw .EROFS }
        if flags & Int32(OpenFlags.O_DIRECTORY) != 0 && !node.isDirectory { throw .ENOTDIR }

        let fd: Int32
        switch node.fileType {
        case FileMode.S_IFDIR:
            if writes { throw .EISDIR }
            fd = try HostFile.openAt(node.fd, [0x2E], flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY))
        case FileMode.S_IFREG:
            guard let parent = node.parent else { throw .EBADF }
            // O_NONBLOCK: if the name now refers to a FIFO, the open must not hang the Gofer. O_TRUNC is
            // applied only after the identity check, so a swapped file is never truncated.
            let hostFlags = access | Int32(OpenFlags.O_NOFOLLOW | OpenFlags.O_NONBLOCK | OpenFlags.O_NOCTTY)
            fd = try HostFile.openAt(parent.fd, node.name, flags: hostFlags)
        case FileMode.S_IFLNK:
            throw .ELOOP
        default:
            // Devices, FIFOs and sockets are the Sentry's to emulate; the Gofer never opens them.
            throw .EPERM
        }
        do throws(Errno) {
            let now = try HostFile.attributes(fd)
            guard now.dev == node.dev, now.inode == node.inode, now.fileType == node.fileType else { throw .ESTALE }
            if node.fileType == FileMode.S_IFREG { try HostFile.clearNonBlocking(fd) }
            if truncate && ftruncate(fd, 0) != 0 { throw HostFile.lastError() }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}

extension GoferRequest {
    /// The handles a write request changes something under: each must be in a writable root or bind.
    var changedHandles: [FileHandle] {
        switch self {
        case let .create(d, _, _, _, _), let .mkdir(d, _, _, _), let .mknod(d, _, _, _), let .symlink(d, _, _, _),
             let .unlink(d, _, _), let .setAttributes(d, _):
            return [d]
        case let .link(f, d, _): return [f, d]
        case let .rename(d, _, nd, _, _): return [d, nd]
        default: return []
        }
    }
}
