// The space and inode budget of one tmpfs mount (`size=`, `nr_inodes=`), shared by all its files.
import LinuxABI

/// Counts what a tmpfs mount's files hold, in pages as Linux's tmpfs does, and refuses what exceeds the
/// mount's limits. Files charge when they grow and give back when they shrink or go away (deinit).
final class TmpfsVolume: @unchecked Sendable {
    static let pageSize: UInt64 = 4096
    let pageLimit: UInt64?
    let inodeLimit: UInt64?
    private let lock = Lock()
    private var pagesUsed: UInt64 = 0
    private var inodesUsed: UInt64 = 0

    init(_ options: TmpfsOptions) {
        pageLimit = options.sizeLimit.map { ($0 + TmpfsVolume.pageSize - 1) / TmpfsVolume.pageSize }
        inodeLimit = options.inodeLimit
    }

    static func pages(_ bytes: Int) -> UInt64 { (UInt64(max(0, bytes)) + pageSize - 1) / pageSize }

    /// Charges a file growing from `old` to `wanted` bytes. Returns the size that fits: `wanted`, or with
    /// `partial` as much as the free pages allow (a short write), else `old` (nothing charged).
    func grow(from old: Int, to wanted: Int, partial: Bool) -> Int {
        guard wanted > old else { return wanted }
        return lock.withLock {
            let extra = TmpfsVolume.pages(wanted) - TmpfsVolume.pages(old)
            guard let limit = pageLimit, pagesUsed + extra > limit else { pagesUsed += extra; return wanted }
            guard partial else { return old }
            let free = limit > pagesUsed ? limit - pagesUsed : 0
            pagesUsed += free
            return max(old, min(wanted, Int((TmpfsVolume.pages(old) + free) * TmpfsVolume.pageSize)))
        }
    }

    /// Gives back the pages of a file shrinking from `old` to `new` bytes.
    func shrink(from old: Int, to new: Int) {
        guard new < old else { return }
        lock.withLock { pagesUsed -= min(pagesUsed, TmpfsVolume.pages(old) - TmpfsVolume.pages(new)) }
    }

    /// Charges one new inode; ENOSPC past `nr_inodes`.
    func addInode() throws(Errno) {
        try lock.withLock { () throws(Errno) in
            if let inodeLimit, inodesUsed >= inodeLimit { throw Errno.ENOSPC }
            inodesUsed += 1
        }
    }

    func removeInode() { lock.withLock { if inodesUsed > 0 { inodesUsed -= 1 } } }

    /// (pages used, inodes used), for statfs.
    var usage: (pages: UInt64, inodes: UInt64) { lock.withLock { (pagesUsed, inodesUsed) } }
}
