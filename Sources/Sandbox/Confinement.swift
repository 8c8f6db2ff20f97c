// How the boot process shuts itself off from the host before any app code exists. Namespaces (user, pid,
// ipc, uts, mount, net) were created by clone flags when the CLI spawned it (threads make unshare unsafe);
// here it swaps its root for an empty tmpfs and gives up privileges.
import CCap
import CLinux
import Glibc
import LinuxABI

public enum Confinement {
    // <linux/prctl.h> values (Glibc does not export them to Swift).
    static let PR_CAPBSET_DROP: Int32 = 24, PR_SET_NO_NEW_PRIVS: Int32 = 38, PR_CAP_AMBIENT: Int32 = 47
    static let PR_CAP_AMBIENT_CLEAR_ALL: UInt = 4

    /// Replaces the root with an empty, read-only tmpfs, so the Sentry has no path into the host's files.
    /// Requires a private mount namespace (CLONE_NEWNS at spawn).
    public static func enterEmptyRoot() throws(RuntimeError) {
        // Our mount events must not propagate back into the host's namespace.
        if mount("", "/", nil, UInt(MS_REC | MS_PRIVATE), nil) != 0 {
            throw RuntimeError.errno("confine: make mounts private")
        }
        // Any existing directory serves as the mount point; the new root hides it only in our namespace.
        let mountPoint = Sys.isDirectory("/tmp") ? "/tmp" : "/mnt"
        if mount("runsc-root", mountPoint, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "size=4k,mode=0555") != 0 {
            throw RuntimeError.errno("confine: mount empty tmpfs on \(mountPoint)")
        }
        if chdir(mountPoint) != 0 { throw RuntimeError.errno("confine: chdir \(mountPoint)") }
        // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then drops it.
        if clinux_syscall6(SyscallNumber.pivot_root, dotPointer, dotPointer, 0, 0, 0, 0) != 0 {
            throw RuntimeError.errno("confine: pivot_root")
        }
        if umount2(".", Int32(MNT_DETACH)) != 0 { throw RuntimeError.errno("confine: detach old root") }
        if chdir("/") != 0 { throw RuntimeError.errno("confine: chdir /") }
        if mount("", "/", nil, UInt(MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) != 0 {
            throw RuntimeError.errno("confine: remount root read-only")
        }
    }

    private static let dotPointer: Int = {
        // A static C string "." that lives for the whole process.
        let pointer = strdup(".")
        return Int(bitPattern: pointer)
    }()

    /// Sets no_new_privs and drops every capability (bounding, ambient, effective/permitted/inheritable).
    /// The Sentry traces only its own children, which needs no capability.
    public static func dropPrivileges() throws(RuntimeError) {
        if clinux_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 { throw RuntimeError.errno("confine: no_new_privs") }
        _ = clinux_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        // Dropping from the bounding set needs CAP_SETPCAP, so it comes before clearing our own sets.
        var capability: UInt = 0
        while capability <= 63 {
            if clinux_prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 && clinux_errno() == EINVAL { break }
            capability += 1
        }
        guard let empty = cap_init() else { throw RuntimeError.errno("confine: cap_init") }
        defer { cap_free(UnsafeMutableRawPointer(empty)) }
        if cap_set_proc(empty) != 0 { throw RuntimeError.errno("confine: drop capabilities") }
    }
}
