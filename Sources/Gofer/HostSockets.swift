// `--host-uds`: connecting to host unix sockets found in the served tree. The socket file was reached by
// the usual walk (one component at a time, O_NOFOLLOW), so its node holds an O_PATH descriptor of the
// socket inode itself. connect(2) only takes a path, so the Gofer names that descriptor through its own
// /proc/self/fd directory: with the working directory there, the address "N" is the magic link of
// descriptor N, which leads to exactly the inode walked, whatever happens to the names in the tree
// meanwhile. No path in the served tree is ever resolved by connect().
// The host's /proc must not stay reachable after confinement (from it, /proc/1/root is the host's root).
// So the Gofer keeps no descriptor of /proc itself, only a detached clone (open_tree OPEN_TREE_CLONE) of
// the one directory /proc/self/fd: a mount attached nowhere, whose `..` stays at its own root, so only
// the Gofer's own descriptors can be named through it.
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

/// What the Gofer may do with host unix sockets (`--host-uds`).
public struct GoferHostSockets: Sendable, Equatable {
    /// connect() to existing socket files (`open`, `all`).
    public var connect: Bool
    /// bind() new socket files in served directories (`create`, `all`).
    public var create: Bool
    /// A detached clone of the host's /proc/self/fd, made before confinement (needed by both).
    public var procFD: Int32

    public static let none = GoferHostSockets(connect: false, procFD: -1)

    public init(connect: Bool, create: Bool = false, procFD: Int32) {
        self.connect = connect; self.create = create; self.procFD = procFD
    }

    static let openTreeSyscall = 428
    static let openTreeClone = 1

    /// Clones /proc/self/fd while the host's /proc is still reachable. Call before confinement.
    public static func open(connect: Bool, create: Bool = false) throws(Errno) -> GoferHostSockets {
        guard connect || create else { return .none }
        let fd = "/proc/self/fd".withCString {
            clinux_syscall6(openTreeSyscall, Int(AtFlags.AT_FDCWD), Int(bitPattern: $0),
                            openTreeClone | Int(OpenFlags.O_CLOEXEC), 0, 0, 0)
        }
        if fd < 0 { throw Errno(clinux_errno()) }
        return GoferHostSockets(connect: connect, create: create, procFD: Int32(fd))
    }
}

extension GoferServer {
    /// A new host socket of `type`, connected (non-blocking, so a full backlog gives EAGAIN instead of
    /// hanging the Gofer) to the socket file `node`. The caller donates and then closes it.
    func connectHostSocket(_ node: Node, type: UInt32) throws(Errno) -> Int32 {
        // As gVisor: a socket file the sandbox may not use looks like one nobody listens on.
        guard hostSockets.connect, hostSockets.procFD >= 0 else { throw .ECONNREFUSED }
        guard node.fileType == FileMode.S_IFSOCK else { throw .ECONNREFUSED }
        let kind = Int32(bitPattern: type)
        guard kind == SocketABI.SOCK_STREAM || kind == SocketABI.SOCK_SEQPACKET || kind == SocketABI.SOCK_DGRAM else {
            throw .EINVAL
        }
        let fd = Glibc.socket(SocketABI.AF_UNIX, kind | SocketABI.SOCK_CLOEXEC | SocketABI.SOCK_NONBLOCK, 0)
        if fd < 0 { throw HostFile.lastError() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(SocketABI.AF_UNIX)
        let rc: Int32
        do {
            rc = try inProcFD(Array(String(node.fd).utf8)) { (address, length) in Glibc.connect(fd, address, length) }
        } catch {
            close(fd)
            throw error
        }
        let connectError = HostFile.lastError()
        if rc != 0 && connectError != .EINPROGRESS {
            close(fd)
            throw connectError
        }
        return fd
    }

    /// A new host socket of `type` bound to `name` in `directory` (stream and seqpacket ones listening with
    /// a backlog of 128). The name is bound as "N/name" from the /proc/self/fd clone, N being the walked
    /// directory's descriptor: bind() resolves only that last component. The caller donates and closes it.
    func bindHostSocket(_ directory: Node, name: [UInt8], type: UInt32) throws(Errno) -> Int32 {
        guard hostSockets.create, hostSockets.procFD >= 0 else { throw .EPERM }
        guard directory.isDirectory else { throw .ENOTDIR }
        guard !directory.readOnly else { throw .EROFS }
        if name.contains(0x2F) || name.contains(0) || name.isEmpty { throw .EINVAL }
        let kind = Int32(bitPattern: type)
        guard kind == SocketABI.SOCK_STREAM || kind == SocketABI.SOCK_SEQPACKET || kind == SocketABI.SOCK_DGRAM else {
            throw .EINVAL
        }
        let fd = Glibc.socket(SocketABI.AF_UNIX, kind | SocketABI.SOCK_CLOEXEC | SocketABI.SOCK_NONBLOCK, 0)
        if fd < 0 { throw HostFile.lastError() }
        let rc: Int32
        do {
            rc = try inProcFD(Array(String(directory.fd).utf8) + [0x2F] + name) { (address, length) in Glibc.bind(fd, address, length) }
        } catch {
            close(fd)
            throw error
        }
        if rc != 0 {
            let e = HostFile.lastError()
            close(fd)
            throw e == .EADDRINUSE ? .EEXIST : e
        }
        if kind != SocketABI.SOCK_DGRAM && Glibc.listen(fd, 128) != 0 {
            let e = HostFile.lastError()
            close(fd)
            throw e
        }
        return fd
    }

    /// Runs `body` with the address `path` and the working directory in the /proc/self/fd clone, then puts
    /// the working directory back (the process's; the Gofer serves on one thread). errno is `body`'s.
    private func inProcFD(_ path: [UInt8], _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) throws(Errno) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(SocketABI.AF_UNIX)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { p in
            for (i, b) in path.enumerated() { p[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let previous = try HostFile.openAt(AtFlags.AT_FDCWD, [0x2E], flags: Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY))
        defer { close(previous) }
        guard fchdir(hostSockets.procFD) == 0 else { throw HostFile.lastError() }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
        let saved = errno
        _ = fchdir(previous)
        errno = saved
        return rc
    }
}
