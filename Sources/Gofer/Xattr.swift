// The Gofer's extended-attribute operations. A handle is an O_PATH descriptor, on which the f*xattr calls
// fail (EBADF), and the confined Gofer has no /proc to turn it into a path: regular files and directories
// are reopened read-only exactly as for I/O (same identity checks), and the calls run on that descriptor.
// Other files (symlinks, devices, FIFOs, sockets) carry no attributes the Gofer serves: get says ENODATA,
// list is empty, set and remove EPERM (what Linux says for user.* on such files).
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

// glibc's <sys/xattr.h> wrappers; Swift's Glibc module does not import that header.
@_silgen_name("fgetxattr")
private func host_fgetxattr(_ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int
@_silgen_name("fsetxattr")
private func host_fsetxattr(_ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32
@_silgen_name("flistxattr")
private func host_flistxattr(_ fd: Int32, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int
@_silgen_name("fremovexattr")
private func host_fremovexattr(_ fd: Int32, _ name: UnsafePointer<CChar>) -> Int32

extension GoferServer {
    /// Executes getXattr/listXattr (any handle) and setXattr/removeXattr (writable handles only).
    func executeXattr(_ request: GoferRequest) throws(Errno) -> GoferReply {
        switch request {
        case let .getXattr(h, name):
            guard let fd = try xattrDescriptor(lookup(h)) else { throw .ENODATA }
            defer { close(fd) }
            return .xattr(.getXattr, try Self.get(fd, name))
        case let .listXattr(h):
            guard let fd = try xattrDescriptor(lookup(h)) else { return .xattr(.listXattr, []) }
            defer { close(fd) }
            return .xattr(.listXattr, try Self.list(fd))
        case let .setXattr(h, name, value, flags):
            let node = try lookup(h)
            if node.readOnly { throw .EROFS }
            // trusted.* and security.* on the host would give the app a say in host policy (file
            // capabilities, overlayfs metadata): only user.* is written through.
            guard XattrWire.name(name, isIn: "user.") else { throw .EPERM }
            guard value.count <= XattrWire.maxValueSize, flags & ~(XattrWire.create | XattrWire.replace) == 0 else { throw .EINVAL }
            guard let fd = try xattrDescriptor(node) else { throw .EPERM }
            defer { close(fd) }
            let rc = HostFile.withCName(name) { n in
                value.withUnsafeBytes { host_fsetxattr(fd, n, $0.baseAddress, value.count, Int32(flags)) }
            }
            try HostFile.check(rc)
            return .done(.setXattr)
        case let .removeXattr(h, name):
            let node = try lookup(h)
            if node.readOnly { throw .EROFS }
            guard XattrWire.name(name, isIn: "user.") else { throw .EPERM }
            guard let fd = try xattrDescriptor(node) else { throw .EPERM }
            defer { close(fd) }
            try HostFile.check(HostFile.withCName(name) { host_fremovexattr(fd, $0) })
            return .done(.removeXattr)
        default:
            throw .ENOSYS
        }
    }

    /// A read-only descriptor of a regular file or directory (the caller closes it); nil for other types.
    private func xattrDescriptor(_ node: Node) throws(Errno) -> Int32? {
        guard node.fileType == FileMode.S_IFREG || node.isDirectory else { return nil }
        return try self.open(node, flags: Int32(OpenFlags.O_RDONLY))
    }

    /// The value, read into a buffer of the largest size a reply carries: a larger one is E2BIG (the
    /// host's ERANGE for "does not fit" means just that here).
    private static func get(_ fd: Int32, _ name: [UInt8]) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: XattrWire.maxValueSize)
        let n = HostFile.withCName(name) { cname in
            buffer.withUnsafeMutableBytes { host_fgetxattr(fd, cname, $0.baseAddress, $0.count) }
        }
        if n < 0 {
            let e = HostFile.lastError()
            throw e == .ERANGE ? .E2BIG : e
        }
        return Array(buffer.prefix(min(n, buffer.count)))
    }

    /// The names in the namespaces the protocol carries (XattrWire.nameError), NUL-terminated.
    private static func list(_ fd: Int32) throws(Errno) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: XattrWire.maxValueSize)
        let n = buffer.withUnsafeMutableBytes { host_flistxattr(fd, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        if n < 0 {
            let e = HostFile.lastError()
            throw e == .ERANGE ? .E2BIG : e
        }
        var out: [UInt8] = []
        for name in buffer.prefix(min(n, buffer.count)).split(separator: 0) where XattrWire.nameError(Array(name)) == nil {
            out += name; out.append(0)
        }
        return out
    }
}
