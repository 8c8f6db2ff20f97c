// The `runsc gofer` role: confine this process to the container's root, then serve the Sentry.
//
// Order matters: the mount namespace and pivot_root need mount(2) and friends, which the seccomp
// filter then removes for good; the root descriptor is opened after pivot_root, so it can only ever
// name the served tree.
import CLinux
import Glibc
import GoferProtocol
import LinuxABI

/// A step of the Gofer's setup that failed, with the host errno.
public struct GoferRoleError: Error, CustomStringConvertible, Equatable {
    public var step: String
    public var errno: Errno
    public init(step: String, errno: Errno) { self.step = step; self.errno = errno }
    public var description: String { "gofer: \(step): \(errno)" }
}

/// Entry point of the Gofer process.
public enum GoferRole {
    // <sys/mount.h> values (not exported as Swift constants by Glibc).
    static let MS_RDONLY: UInt = 1, MS_NOSUID: UInt = 2, MS_NODEV: UInt = 4, MS_NOEXEC: UInt = 8
    static let MS_REMOUNT: UInt = 32, MS_NOATIME: UInt = 1024, MS_NODIRATIME: UInt = 2048
    static let MS_BIND: UInt = 4096, MS_REC: UInt = 16384, MS_PRIVATE: UInt = 1 << 18
    static let MS_RELATIME: UInt = 1 << 21
    static let MNT_DETACH: Int = 2
    static let PR_SET_DUMPABLE: Int32 = 4

    /// Confines the process to `rootPath` (see `confine`), installs the seccomp allowlist and serves the
    /// Sentry on `socket` until it closes its end; then exits 0. A failing setup step throws (the caller
    /// reports it and exits non-zero); a socket failure while serving exits 1 after one line on stderr.
    /// Call it from a single-threaded process (the `runsc gofer` role, before anything starts a thread):
    /// unshare(CLONE_NEWNS) refuses multi-threaded callers.
    /// `binds` are the spec's bind sources (absolute host paths), opened here before confinement.
    public static func run(rootPath: String, socket: Int32, readOnly: Bool,
                           binds: [(path: String, readOnly: Bool)] = [],
                           hostSocketConnect: Bool = false, hostSocketCreate: Bool = false) throws(GoferRoleError) -> Never {
        var roots: [GoferBindRoot] = []
        for bind in binds { roots.append(try GoferBindRoot(path: bind.path, readOnly: bind.readOnly)) }
        // Before confinement: the host's /proc is gone afterwards.
        let hostSockets: GoferHostSockets
        do { hostSockets = try GoferHostSockets.open(connect: hostSocketConnect, create: hostSocketCreate) } catch {
            throw GoferRoleError(step: "open /proc/self/fd for --host-uds", errno: error)
        }
        try confine(rootPath: rootPath, readOnly: readOnly)
        let rootFD = clinux_openat(AtFlags.AT_FDCWD, "/", Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC), 0)
        if rootFD < 0 { throw GoferRoleError(step: "open / after pivot_root", errno: Errno(clinux_errno())) }
        // The kernel-level read-only filter only when nothing served may be written; otherwise the
        // server refuses writes per handle.
        try GoferSeccomp.install(readOnly: readOnly && roots.allSatisfy(\.readOnly), hostSockets: hostSockets.connect,
                                  createSockets: hostSockets.create)
        do {
            try GoferServer(rootFD: rootFD, socket: socket, readOnly: readOnly, binds: roots, hostSockets: hostSockets).serve()
        } catch {
            // Only write(2, ...) and exit are left to us now.
            let line = Array("gofer: serving: \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            _exit(1)
        }
        _exit(0)
    }

    /// Makes `rootPath` the whole visible file system of this process:
    /// 1. a new mount namespace whose mounts are all private, so nothing we do reaches the host and no
    ///    host mount event reaches us;
    /// 2. a NON-recursive bind mount of rootPath onto itself, so submounts under it (a host /proc, /sys,
    ///    /dev when rootPath is "/") are not part of what is served; remounted nosuid, nodev (the Gofer
    ///    never opens devices) and read-only when asked, keeping flags the kernel locks (noexec, atime);
    /// 3. pivot_root into it and detach the old root. Where pivot_root is impossible (the initramfs
    ///    rootfs) it falls back to chroot, says so on stderr, and relies on seccomp removing chroot and
    ///    mount so the chroot cannot be undone.
    public static func confine(rootPath: String, readOnly: Bool) throws(GoferRoleError) {
        func check(_ rc: Int, _ step: String) throws(GoferRoleError) {
            if rc < 0 { throw GoferRoleError(step: step, errno: Errno(clinux_errno())) }
        }
        func mount(_ source: String?, _ target: String, _ flags: UInt, _ step: String, type: String? = nil) throws(GoferRoleError) {
            try check(Int(Glibc.mount(source, target, type, flags, nil)), step)
        }
        func isDirectory(_ path: String) -> Bool {
            var st = stat()
            return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
        }
        guard rootPath.hasPrefix("/") else {
            throw GoferRoleError(step: "root \(rootPath) must be an absolute path", errno: .EINVAL)
        }
        // unshare(CLONE_NEWNS) fails with EINVAL once the process has a second thread.
        try check(clinux_syscall6(SyscallNumber.unshare, Int(CloneFlags.CLONE_NEWNS), 0, 0, 0, 0, 0),
                  "unshare(CLONE_NEWNS) (the gofer must run before any other thread is started)")
        try mount(nil, "/", MS_PRIVATE | MS_REC, "make mounts private")
        // The new root is bound onto a staging directory on a private tmpfs rather than onto itself: a
        // mount stacked on the current root ("/" as rootPath) is not reachable by a path walk, and
        // pivot_root into it would fail with EBUSY.
        // The root is opened first and bound through its descriptor, so a root that lies under the staging
        // directory (a bundle in /tmp) is still reached after the staging tmpfs covers it.
        let rootFD = open(rootPath, Int32(OpenFlags.O_PATH) | O_DIRECTORY | O_CLOEXEC)
        try check(Int(rootFD), "open \(rootPath)")
        defer { close(rootFD) }
        let stagingBase = ["/tmp", "/run", "/mnt", "/var/tmp"].first { isDirectory($0) } ?? "/tmp"
        try mount("none", stagingBase, 0, "mount a staging tmpfs on \(stagingBase)", type: "tmpfs")
        let staging = stagingBase + "/root"
        try check(Int(mkdir(staging, 0o700)), "mkdir \(staging)")
        try mount("/proc/self/fd/\(rootFD)", staging, MS_BIND, "bind mount \(rootPath)")

        var vfs = statvfs()
        try check(Int(statvfs(staging, &vfs)), "statvfs \(rootPath)")
        let locked = UInt(vfs.f_flag) & (MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME)
        let remount = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | locked | (readOnly ? MS_RDONLY : 0)
        try mount(nil, staging, remount, "remount \(rootPath) nosuid,nodev\(readOnly ? ",ro" : "")")

        try check(Int(chdir(staging)), "chdir \(rootPath)")
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then removes it.
        let pivoted = ".".withCString { dot in
            clinux_syscall6(SyscallNumber.pivot_root, Int(bitPattern: dot), Int(bitPattern: dot), 0, 0, 0, 0)
        }
        if pivoted == 0 {
            try check(Int(umount2(".", Int32(MNT_DETACH))), "detach old root")
        } else if clinux_errno() == Errno.EINVAL.rawValue {
            let line = Array("gofer: pivot_root is not possible here; confining with chroot instead\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            try check(Int(chroot(".")), "chroot \(rootPath)")
        } else {
            try check(-1, "pivot_root \(rootPath)")
        }
        try check(Int(chdir("/")), "chdir / in the new root")
        // Non-dumpable: no same-uid process may ptrace the Gofer or read its memory through /proc.
        try check(Int(clinux_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)), "prctl(PR_SET_DUMPABLE)")
    }

}
