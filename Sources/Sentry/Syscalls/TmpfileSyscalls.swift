// open(2) with O_TMPFILE: an unnamed regular file in a directory of a file system that can hold one
// (tmpfs, the root overlay's upper layer; others answer EOPNOTSUPP). linkat(2) may give it a name
// later (AT_EMPTY_PATH on the descriptor, or /proc/self/fd/N with AT_SYMLINK_FOLLOW) unless it was
// opened with O_EXCL.
import LinuxABI

/// O_TMPFILE files that may still be linked (opened without O_EXCL and not linked yet). Any other file
/// without a name is refused by linkat with ENOENT, as on Linux.
enum TemporaryFiles {
    private final class Entry: @unchecked Sendable { weak var inode: Inode?; init(_ i: Inode) { inode = i } }
    private static let lock = Lock()
    nonisolated(unsafe) private static var entries: [ObjectIdentifier: Entry] = [:]

    static func register(_ inode: Inode) {
        lock.withLock {
            entries = entries.filter { $0.value.inode != nil }
            entries[ObjectIdentifier(inode)] = Entry(inode)
        }
    }

    static func isLinkable(_ inode: Inode) -> Bool {
        lock.withLock { entries[ObjectIdentifier(inode)]?.inode === inode }
    }

    /// The file has a name now: a later unlink makes it an ordinary deleted file.
    static func linked(_ inode: Inode) {
        lock.withLock { if entries[ObjectIdentifier(inode)]?.inode === inode { entries.removeValue(forKey: ObjectIdentifier(inode)) } }
    }
}

extension Kernel {
    func openTemporary(_ task: Task, start: Dentry?, path: String, flags: Int, mode: UInt32, scope: ResolveScope) throws(Errno) -> Int {
        let access = flags & OpenFlags.O_ACCMODE
        // O_TMPFILE carries O_DIRECTORY; O_CREAT makes no sense with it; the file must be writable.
        guard flags & (OpenFlags.O_TMPFILE | OpenFlags.O_CREAT) == OpenFlags.O_TMPFILE,
              access == OpenFlags.O_WRONLY || access == OpenFlags.O_RDWR else { throw Errno.EINVAL }
        let directory = try resolve(task: task, path: path, start: start, follow: flags & OpenFlags.O_NOFOLLOW == 0, scope: scope)
        guard try directory.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        try checkDirectoryChange(task, directory)
        let inode = try directory.inode.createTemporary(mode: mode & 0o7777 & ~task.fs.umask, owner: newOwner(task, in: directory))
        if flags & OpenFlags.O_EXCL == 0 { TemporaryFiles.register(inode) }
        // Its dentry is in no directory's cache: walks never meet it, /proc/self/fd/N leads to it.
        let number = (try? inode.stat().inode) ?? 0
        let dentry = Dentry(name: "#\(number)", parent: directory, inode: inode, readOnly: directory.readOnly)
        let openFlags = flags & ~(OpenFlags.O_TMPFILE | OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_CLOEXEC
            | OpenFlags.O_NOCTTY | OpenFlags.O_TRUNC)
        let file = try inode.open(openFlags, dentry: dentry, task: task)
        return Int(try task.fdTable.add(file, closeOnExec: flags & OpenFlags.O_CLOEXEC != 0))
    }
}
