// The roots of the spec's bind mounts, opened on the host before the Gofer confines itself (after
// pivot_root their paths no longer resolve, but descriptors stay valid). A bind is a directory or a
// single file (docker binds /etc/hosts, /etc/resolv.conf ...). Each is served like the root: walked
// one component at a time with O_NOFOLLOW, never above its own root ("..": refused by the decoder).
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

/// One bind source, held open for the life of the Gofer.
public final class GoferBindRoot {
    /// The source as given, for messages.
    public let path: String
    /// Whether writes through this bind are refused with EROFS (the mount's `ro` option).
    public let readOnly: Bool
    /// A directory source: the directory itself. A file source: its directory (never a handle the client
    /// can name) and the file's name there, through which the file is reopened for I/O.
    private let holder: Node
    private let fileName: [UInt8]?
    private let dev: UInt64
    private let inode: UInt64

    /// Opens `path` (an absolute host path; symlinks in it are resolved here, on the host, as mount(2)
    /// would for a bind) as a directory or regular-file root. Call before confinement.
    public init(path: String, readOnly: Bool) throws(GoferRoleError) {
        self.path = path
        self.readOnly = readOnly
        guard path.hasPrefix("/") else { throw GoferRoleError(step: "bind source \(path) must be an absolute path", errno: .EINVAL) }
        guard let resolved = realpath(path, nil) else {
            throw GoferRoleError(step: "bind source \(path)", errno: Errno(clinux_errno()))
        }
        let real = String(cString: resolved)
        free(resolved)
        let fd = open(real, Int32(OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW | OpenFlags.O_CLOEXEC))
        guard fd >= 0 else { throw GoferRoleError(step: "open bind source \(path)", errno: Errno(clinux_errno())) }
        let attributes: FileAttributes
        do { attributes = try HostFile.attributes(fd) } catch {
            close(fd)
            throw GoferRoleError(step: "stat bind source \(path)", errno: error)
        }
        dev = attributes.dev
        inode = attributes.inode
        if attributes.fileType == FileMode.S_IFDIR {
            holder = Node(fd: fd, parent: nil, name: [], attributes: attributes, readOnly: readOnly)
            fileName = nil
            return
        }
        close(fd)
        guard attributes.fileType == FileMode.S_IFREG else {
            throw GoferRoleError(step: "bind source \(path) must be a directory or a regular file", errno: .EINVAL)
        }
        // A file is reopened through its directory and name (no /proc inside the confined root).
        let slash = real.lastIndex(of: "/") ?? real.startIndex
        let directory = slash == real.startIndex ? "/" : String(real[..<slash])
        let dirFD = open(directory, Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC))
        guard dirFD >= 0 else { throw GoferRoleError(step: "open directory of bind source \(path)", errno: Errno(clinux_errno())) }
        let dirAttributes: FileAttributes
        do { dirAttributes = try HostFile.attributes(dirFD) } catch {
            close(dirFD)
            throw GoferRoleError(step: "stat directory of bind source \(path)", errno: error)
        }
        holder = Node(fd: dirFD, parent: nil, name: [], attributes: dirAttributes, readOnly: readOnly)
        fileName = Array(real[real.index(after: slash)...].utf8)
    }

    /// A new node for the bind's root: the directory, or the file (checked to still be the same one).
    func attach() throws(Errno) -> Node {
        let fd: Int32
        if let fileName {
            fd = try HostFile.openAt(holder.fd, fileName, flags: Int32(OpenFlags.O_PATH | OpenFlags.O_NOFOLLOW))
        } else {
            fd = try HostFile.openAt(holder.fd, [0x2E], flags: Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY))
        }
        do throws(Errno) {
            let attributes = try HostFile.attributes(fd)
            guard attributes.dev == dev, attributes.inode == inode else { throw .ESTALE }
            return Node(fd: fd, parent: fileName == nil ? nil : holder, name: fileName ?? [], attributes: attributes, readOnly: readOnly)
        } catch {
            close(fd)
            throw error
        }
    }
}
