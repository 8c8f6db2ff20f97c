// Flags of splice/tee/vmsplice, inotify and mount/umount2 (x86-64 values). Pure data.

/// splice(2), tee(2), vmsplice(2) flags.
public enum SpliceFlags {
    public static let SPLICE_F_MOVE: UInt32 = 1, SPLICE_F_NONBLOCK: UInt32 = 2
    public static let SPLICE_F_MORE: UInt32 = 4, SPLICE_F_GIFT: UInt32 = 8
    public static let all: UInt32 = 0xf
}

/// inotify(7): event bits, watch flags and init flags.
public enum InotifyABI {
    public static let IN_ACCESS: UInt32 = 0x1, IN_MODIFY: UInt32 = 0x2, IN_ATTRIB: UInt32 = 0x4
    public static let IN_CLOSE_WRITE: UInt32 = 0x8, IN_CLOSE_NOWRITE: UInt32 = 0x10, IN_OPEN: UInt32 = 0x20
    public static let IN_MOVED_FROM: UInt32 = 0x40, IN_MOVED_TO: UInt32 = 0x80, IN_CREATE: UInt32 = 0x100
    public static let IN_DELETE: UInt32 = 0x200, IN_DELETE_SELF: UInt32 = 0x400, IN_MOVE_SELF: UInt32 = 0x800
    /// Every event a watch can ask for.
    public static let IN_ALL_EVENTS: UInt32 = 0xfff
    public static let IN_UNMOUNT: UInt32 = 0x2000, IN_Q_OVERFLOW: UInt32 = 0x4000, IN_IGNORED: UInt32 = 0x8000
    public static let IN_ONLYDIR: UInt32 = 0x0100_0000, IN_DONT_FOLLOW: UInt32 = 0x0200_0000
    public static let IN_EXCL_UNLINK: UInt32 = 0x0400_0000, IN_MASK_CREATE: UInt32 = 0x1000_0000
    public static let IN_MASK_ADD: UInt32 = 0x2000_0000, IN_ISDIR: UInt32 = 0x4000_0000
    public static let IN_ONESHOT: UInt32 = 0x8000_0000
    /// inotify_init1 flags (O_NONBLOCK, O_CLOEXEC).
    public static let IN_NONBLOCK = 0o4000, IN_CLOEXEC = 0o2000000
    /// /proc/sys/fs/inotify defaults.
    public static let maxQueuedEvents = 16384, maxUserWatches = 8192, maxUserInstances = 128
    /// sizeof(struct inotify_event) without its name.
    public static let eventHeaderSize = 16
}

/// mount(2) flags and umount2(2) flags.
public enum MountFlags {
    public static let MS_RDONLY: UInt64 = 0x1, MS_NOSUID: UInt64 = 0x2, MS_NODEV: UInt64 = 0x4
    public static let MS_NOEXEC: UInt64 = 0x8, MS_SYNCHRONOUS: UInt64 = 0x10, MS_REMOUNT: UInt64 = 0x20
    public static let MS_MANDLOCK: UInt64 = 0x40, MS_DIRSYNC: UInt64 = 0x80, MS_NOSYMFOLLOW: UInt64 = 0x100
    public static let MS_NOATIME: UInt64 = 0x400, MS_NODIRATIME: UInt64 = 0x800, MS_BIND: UInt64 = 0x1000
    public static let MS_MOVE: UInt64 = 0x2000, MS_REC: UInt64 = 0x4000, MS_SILENT: UInt64 = 0x8000
    public static let MS_UNBINDABLE: UInt64 = 0x20000, MS_PRIVATE: UInt64 = 0x40000
    public static let MS_SLAVE: UInt64 = 0x80000, MS_SHARED: UInt64 = 0x100000
    public static let MS_RELATIME: UInt64 = 0x200000, MS_STRICTATIME: UInt64 = 0x1000000
    public static let MS_LAZYTIME: UInt64 = 0x2000000
    /// The old magic number in the top 16 bits of the flags, which mount(2) strips.
    public static let MS_MGC_MSK: UInt64 = 0xffff_0000
    public static let MS_MGC_VAL: UInt64 = 0xc0ed_0000
    public static let MNT_FORCE = 0x1, MNT_DETACH = 0x2, MNT_EXPIRE = 0x4, UMOUNT_NOFOLLOW = 0x8
}
