// Flag values of the x86-64 Linux ABI used by the Sentry's syscall handlers. Pure data.

public enum OpenFlags {
    public static let O_RDONLY = 0o0, O_WRONLY = 0o1, O_RDWR = 0o2, O_ACCMODE = 0o3
    public static let O_CREAT = 0o100, O_EXCL = 0o200, O_NOCTTY = 0o400, O_TRUNC = 0o1000
    public static let O_APPEND = 0o2000, O_NONBLOCK = 0o4000, O_DSYNC = 0o10000, O_ASYNC = 0o20000
    public static let O_DIRECT = 0o40000, O_LARGEFILE = 0o100000, O_DIRECTORY = 0o200000
    public static let O_NOFOLLOW = 0o400000, O_NOATIME = 0o1000000, O_CLOEXEC = 0o2000000
    public static let O_SYNC = 0o4010000, O_PATH = 0o10000000, O_TMPFILE = 0o20200000
}

/// openat2's `open_how.resolve` bits.
public enum ResolveFlags {
    public static let RESOLVE_NO_XDEV: UInt64 = 0x01, RESOLVE_NO_MAGICLINKS: UInt64 = 0x02
    public static let RESOLVE_NO_SYMLINKS: UInt64 = 0x04, RESOLVE_BENEATH: UInt64 = 0x08
    public static let RESOLVE_IN_ROOT: UInt64 = 0x10, RESOLVE_CACHED: UInt64 = 0x20
    public static let all: UInt64 = 0x3f
}

public enum AtFlags {
    public static let AT_FDCWD: Int32 = -100
    public static let AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_SYMLINK_FOLLOW = 0x400
    public static let AT_NO_AUTOMOUNT = 0x800, AT_EMPTY_PATH = 0x1000, AT_EACCESS = 0x200
    public static let AT_STATX_SYNC_TYPE = 0x6000
}

public enum FileMode {
    public static let S_IFMT: UInt32 = 0o170000, S_IFSOCK: UInt32 = 0o140000, S_IFLNK: UInt32 = 0o120000
    public static let S_IFREG: UInt32 = 0o100000, S_IFBLK: UInt32 = 0o060000, S_IFDIR: UInt32 = 0o040000
    public static let S_IFCHR: UInt32 = 0o020000, S_IFIFO: UInt32 = 0o010000
}

/// d_type values of linux_dirent64.
public enum DirentType {
    public static let DT_UNKNOWN: UInt8 = 0, DT_FIFO: UInt8 = 1, DT_CHR: UInt8 = 2, DT_DIR: UInt8 = 4
    public static let DT_BLK: UInt8 = 6, DT_REG: UInt8 = 8, DT_LNK: UInt8 = 10, DT_SOCK: UInt8 = 12

    /// The d_type for a st_mode.
    public static func from(mode: UInt32) -> UInt8 { UInt8((mode & FileMode.S_IFMT) >> 12) }
}

public enum MemoryFlags {
    public static let PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4
    public static let PROT_GROWSDOWN = 0x0100_0000, PROT_GROWSUP = 0x0200_0000
    public static let MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03, MAP_TYPE = 0x0f
    public static let MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_32BIT = 0x40, MAP_GROWSDOWN = 0x100
    public static let MAP_DENYWRITE = 0x800, MAP_EXECUTABLE = 0x1000, MAP_LOCKED = 0x2000
    public static let MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_NONBLOCK = 0x10000
    public static let MAP_STACK = 0x20000, MAP_HUGETLB = 0x40000, MAP_FIXED_NOREPLACE = 0x100000
    public static let MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4
}

public enum CloneFlags {
    public static let CSIGNAL: UInt64 = 0xff
    public static let CLONE_VM: UInt64 = 0x100, CLONE_FS: UInt64 = 0x200, CLONE_FILES: UInt64 = 0x400
    public static let CLONE_SIGHAND: UInt64 = 0x800, CLONE_PIDFD: UInt64 = 0x1000, CLONE_PTRACE: UInt64 = 0x2000
    public static let CLONE_VFORK: UInt64 = 0x4000, CLONE_PARENT: UInt64 = 0x8000, CLONE_THREAD: UInt64 = 0x10000
    public static let CLONE_NEWNS: UInt64 = 0x20000, CLONE_SYSVSEM: UInt64 = 0x40000
    public static let CLONE_SETTLS: UInt64 = 0x80000, CLONE_PARENT_SETTID: UInt64 = 0x100000
    public static let CLONE_CHILD_CLEARTID: UInt64 = 0x200000, CLONE_DETACHED: UInt64 = 0x400000
    public static let CLONE_UNTRACED: UInt64 = 0x800000, CLONE_CHILD_SETTID: UInt64 = 0x1000000
    public static let CLONE_NEWCGROUP: UInt64 = 0x2000000, CLONE_NEWUTS: UInt64 = 0x4000000
    public static let CLONE_NEWIPC: UInt64 = 0x8000000, CLONE_NEWUSER: UInt64 = 0x1000_0000
    public static let CLONE_NEWPID: UInt64 = 0x2000_0000, CLONE_NEWNET: UInt64 = 0x4000_0000
    public static let CLONE_IO: UInt64 = 0x8000_0000
}

public enum WaitFlags {
    public static let WNOHANG = 1, WUNTRACED = 2, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x0100_0000
    public static let __WNOTHREAD = 0x2000_0000, __WALL = 0x4000_0000, __WCLONE = 0x8000_0000
    public static let P_ALL = 0, P_PID = 1, P_PGID = 2, P_PIDFD = 3
}

public enum SeekWhence { public static let SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4 }

public enum FcntlCommands {
    public static let F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4
    public static let F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_SETOWN = 8, F_GETOWN = 9
    public static let F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032
    public static let F_ADD_SEALS = 1033, F_GET_SEALS = 1034
    public static let FD_CLOEXEC = 1
}

public enum IoctlRequests {
    public static let TCGETS: UInt64 = 0x5401, TCSETS: UInt64 = 0x5402, TCSETSW: UInt64 = 0x5403
    public static let TCSETSF: UInt64 = 0x5404, TIOCSCTTY: UInt64 = 0x540E, TIOCGPGRP: UInt64 = 0x540F
    public static let TIOCSPGRP: UInt64 = 0x5410, TIOCGWINSZ: UInt64 = 0x5413, TIOCSWINSZ: UInt64 = 0x5414
    public static let FIONREAD: UInt64 = 0x541B, FIONBIO: UInt64 = 0x5421, FIOCLEX: UInt64 = 0x5451
    public static let FIONCLEX: UInt64 = 0x5450, TIOCGPTN: UInt64 = 0x8004_5430, TIOCSPTLCK: UInt64 = 0x4004_5431
}

/// Auxiliary vector entry types (auxv), as the ELF loader writes them on the initial stack.
public enum AuxvType {
    public static let AT_NULL: UInt64 = 0, AT_IGNORE: UInt64 = 1, AT_EXECFD: UInt64 = 2, AT_PHDR: UInt64 = 3
    public static let AT_PHENT: UInt64 = 4, AT_PHNUM: UInt64 = 5, AT_PAGESZ: UInt64 = 6, AT_BASE: UInt64 = 7
    public static let AT_FLAGS: UInt64 = 8, AT_ENTRY: UInt64 = 9, AT_NOTELF: UInt64 = 10, AT_UID: UInt64 = 11
    public static let AT_EUID: UInt64 = 12, AT_GID: UInt64 = 13, AT_EGID: UInt64 = 14, AT_PLATFORM: UInt64 = 15
    public static let AT_HWCAP: UInt64 = 16, AT_CLKTCK: UInt64 = 17, AT_SECURE: UInt64 = 23
    public static let AT_BASE_PLATFORM: UInt64 = 24, AT_RANDOM: UInt64 = 25, AT_HWCAP2: UInt64 = 26
    public static let AT_EXECFN: UInt64 = 31, AT_SYSINFO_EHDR: UInt64 = 33, AT_MINSIGSTKSZ: UInt64 = 51
}

public enum ClockIDs {
    public static let CLOCK_REALTIME: Int32 = 0, CLOCK_MONOTONIC: Int32 = 1, CLOCK_PROCESS_CPUTIME_ID: Int32 = 2
    public static let CLOCK_THREAD_CPUTIME_ID: Int32 = 3, CLOCK_MONOTONIC_RAW: Int32 = 4
    public static let CLOCK_REALTIME_COARSE: Int32 = 5, CLOCK_MONOTONIC_COARSE: Int32 = 6, CLOCK_BOOTTIME: Int32 = 7
    public static let CLOCK_REALTIME_ALARM: Int32 = 8, CLOCK_BOOTTIME_ALARM: Int32 = 9, CLOCK_TAI: Int32 = 11
}

public enum ArchPrctlCodes {
    public static let ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002, ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004
    public static let ARCH_GET_CPUID = 0x1011, ARCH_SET_CPUID = 0x1012
}

public enum PageSize {
    public static let size: UInt64 = 4096
    public static let mask: UInt64 = 4095
    public static func roundDown(_ v: UInt64) -> UInt64 { v & ~mask }
    /// Rounds up; nil on overflow.
    public static func roundUp(_ v: UInt64) -> UInt64? {
        let (r, o) = v.addingReportingOverflow(mask)
        return o ? nil : r & ~mask
    }
}
