// The Gofer's seccomp allowlist, built with libseccomp. Anything not listed kills the whole process:
// a Gofer that tries an unexpected system call is compromised or broken, and either way must stop.
import CSeccomp
import GoferProtocol
import LinuxABI

/// Installs the Gofer's system call allowlist on the calling process. Measured with strace on a full
/// confined session (GoferRoleTests): the loop itself uses recvmsg, sendmsg, openat, newfstatat,
/// getdents64, lseek, fcntl, readlinkat, fstatfs, close, brk and exit_group; the rest is headroom for
/// the allocator and for other libc versions' fstat.
public enum GoferSeccomp {
    /// System calls the server loop makes, with no argument restrictions.
    static let unconditional: [Int] = [
        // The protocol socket.
        SyscallNumber.recvmsg, SyscallNumber.sendmsg,
        // File operations on held descriptors (fstat may reach the kernel as any of the three).
        SyscallNumber.close, SyscallNumber.fstat, SyscallNumber.newfstatat, SyscallNumber.statx,
        SyscallNumber.lseek, SyscallNumber.getdents64, SyscallNumber.readlinkat, SyscallNumber.fstatfs,
        // Extended attributes, read on a descriptor reopened read-only (Xattr.swift).
        SyscallNumber.fgetxattr, SyscallNumber.flistxattr,
        // The allocator (malloc grows with brk, large blocks with mmap) and runtime locks.
        SyscallNumber.mmap, SyscallNumber.munmap, SyscallNumber.mremap, SyscallNumber.brk,
        SyscallNumber.madvise, SyscallNumber.mprotect, SyscallNumber.futex,
        // Returning from a signal handler, and leaving.
        SyscallNumber.rt_sigreturn, SyscallNumber.exit, SyscallNumber.exit_group,
    ]

    /// Builds and loads the filter. `readOnly` additionally forbids, in the kernel, any openat that
    /// asks for write access, creation or truncation, and leaves out every call that changes files.
    /// `hostSockets` (`--host-uds=open|all`) adds socket(AF_UNIX), connect and fchdir (HostSockets.swift).
    /// `createSockets` (`--host-uds=create|all`) adds those and bind and listen.
    public static func install(readOnly: Bool, hostSockets: Bool = false, createSockets: Bool = false) throws(GoferRoleError) {
        guard let filter = seccomp_init(SCMP_ACT_KILL_PROCESS) else {
            throw GoferRoleError(step: "seccomp_init", errno: .ENOMEM)
        }
        defer { seccomp_release(filter) }
        // Apply to every thread of the process, not just the caller: a thread left unfiltered would be
        // an open door. (The role is meant to run single-threaded; this holds even if it is not.)
        let tsync = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1)
        if tsync < 0 { throw GoferRoleError(step: "seccomp_attr_set(TSYNC)", errno: Errno(-tsync)) }

        func allow(_ number: Int, _ conditions: [scmp_arg_cmp] = []) throws(GoferRoleError) {
            let rc = conditions.withUnsafeBufferPointer {
                seccomp_rule_add_array(filter, SCMP_ACT_ALLOW, Int32(number), UInt32($0.count), $0.baseAddress)
            }
            if rc < 0 { throw GoferRoleError(step: "seccomp_rule_add(\(syscallName(number)))", errno: Errno(-rc)) }
        }
        func argument(_ index: UInt32, _ op: scmp_compare, _ a: UInt64, _ b: UInt64 = 0) -> scmp_arg_cmp {
            scmp_arg_cmp(arg: index, op: op, datum_a: a, datum_b: b)
        }

        for number in unconditional { try allow(number) }
        // stderr only, for the one line the Gofer writes before it exits on a fatal error.
        try allow(SyscallNumber.write, [argument(0, SCMP_CMP_EQ, 2)])
        // fcntl only to read and clear O_NONBLOCK on a descriptor about to be donated.
        try allow(SyscallNumber.fcntl, [argument(1, SCMP_CMP_EQ, UInt64(FcntlCommands.F_GETFL))])
        try allow(SyscallNumber.fcntl, [argument(1, SCMP_CMP_EQ, UInt64(FcntlCommands.F_SETFL))])
        if readOnly {
            let writing = UInt64(OpenFlags.O_WRONLY | OpenFlags.O_RDWR | OpenFlags.O_CREAT | OpenFlags.O_TRUNC)
            try allow(SyscallNumber.openat, [argument(2, SCMP_CMP_MASKED_EQ, writing, 0)])
        } else {
            try allow(SyscallNumber.openat)
            // The write operations (WriteOperations.swift), each on a held descriptor and a validated name.
            for number in [SyscallNumber.ftruncate, SyscallNumber.mkdirat, SyscallNumber.mknodat, SyscallNumber.symlinkat,
                           SyscallNumber.linkat, SyscallNumber.unlinkat, SyscallNumber.renameat2, SyscallNumber.fchmod,
                           SyscallNumber.fchownat, SyscallNumber.utimensat, SyscallNumber.fsetxattr, SyscallNumber.fremovexattr] {
                try allow(number)
            }
        }
        if hostSockets || createSockets {
            // Only unix sockets. fchdir is for the detached /proc/self/fd clone (HostSockets.swift): a
            // working directory changes nothing the held descriptors do not already reach.
            try allow(SyscallNumber.socket, [argument(0, SCMP_CMP_EQ, UInt64(SocketABI.AF_UNIX))])
            try allow(SyscallNumber.connect)
            try allow(SyscallNumber.fchdir)
        }
        if createSockets {
            try allow(SyscallNumber.bind)
            try allow(SyscallNumber.listen)
        }
        let rc = seccomp_load(filter)
        if rc < 0 { throw GoferRoleError(step: "seccomp_load", errno: Errno(-rc)) }
    }
}
