// Unix socket addresses and the names sockets are bound to: abstract names (sun_path[0] == 0) live in a
// per-sandbox table; path names are socket inodes in a writable tmpfs directory.
import LinuxABI

/// A sockaddr_un: empty (unnamed), an abstract name (first byte 0), or a path.
struct UnixAddress: Hashable {
    /// The bytes of sun_path that name the socket: for an abstract name all of them (NULs included),
    /// for a path up to the first NUL.
    let path: [UInt8]
    var isAbstract: Bool { path.first == 0 }
    var isUnnamed: Bool { path.isEmpty }

    static let unnamed = UnixAddress(path: [])

    /// Parses a sockaddr_un of `length` bytes. EINVAL for a bad length or family.
    static func parse(_ raw: [UInt8]) throws(Errno) -> UnixAddress {
        guard raw.count >= 2, raw.count <= SocketABI.sockaddrUnSize else { throw Errno.EINVAL }
        let family = raw.withUnsafeBytes { $0.load(as: UInt16.self) }
        guard Int32(family) == SocketABI.AF_UNIX else { throw Errno.EINVAL }
        let body = Array(raw[2...])
        if body.first == 0 { return UnixAddress(path: body) }
        if let nul = body.firstIndex(of: 0) { return UnixAddress(path: Array(body[..<nul])) }
        return UnixAddress(path: body)
    }

    /// The sockaddr_un the kernel reports (getsockname, accept, recvfrom): family, then the name; paths
    /// carry their terminating NUL as Linux reports them.
    func encode() -> [UInt8] {
        var out: [UInt8] = [UInt8(SocketABI.AF_UNIX), 0]
        out += path
        if !isAbstract && !isUnnamed && out.count < SocketABI.sockaddrUnSize { out.append(0) }
        return out
    }

    var pathString: String { String(decoding: path, as: UTF8.self) }
}

/// Where bound unix sockets can be found: abstract names per sandbox, path names by their inode.
final class UnixNamespace: @unchecked Sendable {
    static let shared = UnixNamespace()
    /// Linux keys abstract names by socket type too: a stream and a datagram socket may share a name.
    private struct AbstractKey: Hashable { let kernel: ObjectIdentifier; let type: Int32; let name: [UInt8] }
    private struct Weak { weak var socket: UnixSocket? }
    /// Path names are found by the socket inode's identity (device, inode number): file systems may hand
    /// out a new Inode object per lookup.
    private struct PathKey: Hashable {
        let device: UInt64, inode: UInt64
        init(_ st: FileStat) { device = st.device; inode = st.inode }
    }
    private struct PathEntry { weak var socket: UnixSocket? }
    private let lock = Lock()
    private var abstract: [AbstractKey: Weak] = [:]
    private var paths: [PathKey: PathEntry] = [:]
    private var autobindCounter: UInt32 = 0

    /// Binds `socket` to `address` for `task`'s sandbox. Path names create a socket inode (EROFS on a
    /// read-only mount, EADDRINUSE when the name exists).
    func bind(_ socket: UnixSocket, to address: UnixAddress, task: Task) throws(Errno) {
        let kernelID = ObjectIdentifier(task.kernel)
        if address.isAbstract {
            let key = AbstractKey(kernel: kernelID, type: socket.type, name: address.path)
            try lock.withLock { () throws(Errno) in
                if abstract[key]?.socket != nil { throw Errno.EADDRINUSE }
                abstract[key] = Weak(socket: socket)
            }
            return
        }
        let path = address.pathString
        let (parent, name) = try task.kernel.resolveParent(task: task, path: path)
        guard !name.isEmpty else { throw Errno.EADDRINUSE }
        if (try? parent.child(name, task: task)) != nil { throw Errno.EADDRINUSE }
        guard !parent.readOnly else { throw Errno.EROFS }
        let mode = FileMode.S_IFSOCK | (0o777 & ~task.fs.umask)
        let owner = FileOwner(uid: task.credentials.fsuid, gid: task.credentials.fsgid)
        do {
            if let dir = parent.inode as? TmpfsInode {
                _ = try dir.create(name, mode: mode, owner: owner)
            } else {
                // Other writable file systems (the root's overlay) make socket inodes through mknod.
                try parent.inode.makeNode(name, mode: mode, owner: owner)
            }
        } catch {
            throw error == .EEXIST ? Errno.EADDRINUSE : error
        }
        let st = try parent.child(name, task: task).inode.stat()
        lock.withLock { paths[PathKey(st)] = PathEntry(socket: socket) }
    }

    /// Picks an unused abstract name of five hex digits (bind with only the family, Linux's autobind).
    func autobind(_ socket: UnixSocket, task: Task) throws(Errno) -> UnixAddress {
        for _ in 0..<0x100000 {
            let n = lock.withLock { () -> UInt32 in autobindCounter = (autobindCounter + 1) & 0xfffff; return autobindCounter }
            var hex = Array(String(n, radix: 16).utf8)
            while hex.count < 5 { hex.insert(UInt8(ascii: "0"), at: 0) }
            let address = UnixAddress(path: [0] + hex)
            do { try bind(socket, to: address, task: task); return address } catch { if error != .EADDRINUSE { throw error } }
        }
        throw Errno.ENOSPC
    }

    /// The socket of `type` bound to `address`: ECONNREFUSED when none is there, ENOENT for a missing path,
    /// EPROTOTYPE for a path bound by a socket of another type.
    func lookup(_ address: UnixAddress, type: Int32, task: Task) throws(Errno) -> UnixSocket {
        if address.isAbstract {
            let key = AbstractKey(kernel: ObjectIdentifier(task.kernel), type: type, name: address.path)
            guard let s = lock.withLock({ abstract[key]?.socket }) else { throw Errno.ECONNREFUSED }
            return s
        }
        guard !address.isUnnamed else { throw Errno.EINVAL }
        let dentry = try task.kernel.resolve(task: task, path: address.pathString, follow: true)
        let st = try dentry.inode.stat()
        guard st.mode & FileMode.S_IFMT == FileMode.S_IFSOCK else { throw Errno.ECONNREFUSED }
        guard let s = lock.withLock({ paths[PathKey(st)]?.socket }) else { throw Errno.ECONNREFUSED }
        guard s.type == type else { throw Errno.EPROTOTYPE }
        return s
    }

    /// Forgets the name of a socket that is closed (a path's inode stays, as on Linux, until unlinked).
    func unbind(_ socket: UnixSocket, address: UnixAddress, kernel: ObjectIdentifier) {
        lock.withLock {
            if address.isAbstract {
                let key = AbstractKey(kernel: kernel, type: socket.type, name: address.path)
                if abstract[key]?.socket === socket || abstract[key]?.socket == nil { abstract.removeValue(forKey: key) }
            } else {
                for (k, e) in paths where e.socket === socket || e.socket == nil { paths.removeValue(forKey: k) }
            }
        }
    }
}
