// The root overlay (`--overlay2=root:memory`, the default): the container sees the Gofer's read-only
// root merged with an upper layer that lives in Sentry memory, so nothing it does reaches the image.
//
// Layout. Each file the container has looked at is an OverlayInode, kept in its parent's `children`
// for as long as the sandbox lives: that map is the upper layer's directory structure and the
// identity of files (two walks to one name meet the same object, so a copy-up is seen by both).
// - A file's content and attributes are the lower GoferInode's until the first change, then a
//   TmpfsInode's (`upper`, the copy-up; the whole content is copied into Sentry memory: large files
//   could live in the MemoryFile later).
// - A name removed from a directory that has a lower layer is recorded in `whiteouts`, so the
//   lower entry stays hidden; a directory made in the overlay has no lower layer at all, which is
//   what an opaque directory is (an rmdir + mkdir of a lower directory shows it empty).
// - readdir merges the lower listing (minus whiteouts) with `children`.
// - rename moves the OverlayInode, lower reference and all, so directories with lower content can
//   be renamed without copying them up (no EXDEV). Lower hard links are broken by a copy-up (each
//   name gets its own copy), as in overlayfs without an index.
// One lock (`OverlayFileSystem.lock`) guards the structure of every OverlayInode; it may be held
// while asking the Gofer or taking a TmpfsInode's lock, never the other way round.
import GoferProtocol
import LinuxABI

/// State shared by the inodes of one overlay.
final class OverlayFileSystem: @unchecked Sendable {
    let lock = Lock()
    /// The lower root's device: overlay files keep one device, as on Linux.
    let device: UInt64
    init(device: UInt64) { self.device = device }

    /// Inode numbers of files made in the overlay, far above any the lower file system hands out.
    func newInodeNumber() -> UInt64 { (1 << 40) + Inode.allocateNumber() }
}

final class OverlayInode: Inode, @unchecked Sendable {
    let fs: OverlayFileSystem
    let lower: GoferInode?
    /// S_IFMT of the file; it never changes.
    let fileType: UInt32
    // Guarded by fs.lock.
    private var upper: TmpfsInode?
    private var children: [String: OverlayInode] = [:]
    private var whiteouts: Set<String> = []

    private init(fs: OverlayFileSystem, lower: GoferInode?, upper: TmpfsInode?, fileType: UInt32) {
        self.fs = fs; self.lower = lower; self.upper = upper; self.fileType = fileType
    }

    /// The overlay's root over the Gofer's root directory.
    static func root(over lower: GoferInode) throws(Errno) -> OverlayInode {
        let st = try lower.stat()
        return OverlayInode(fs: OverlayFileSystem(device: st.device), lower: lower, upper: nil, fileType: st.mode & FileMode.S_IFMT)
    }

    private var isDirectory: Bool { fileType == FileMode.S_IFDIR }

    // MARK: - Reading

    override func stat() throws(Errno) -> FileStat {
        try fs.lock.withLock { () throws(Errno) -> FileStat in try statLocked() }
    }

    private func statLocked() throws(Errno) -> FileStat {
        guard let upper else {
            guard let lower else { throw Errno.EIO }
            return try lower.stat()
        }
        var st = try upper.stat()
        if isDirectory {
            // The upper directory holds no entries of its own. Listing the lower one at every stat (each
            // path walk stats every component) would cost a Gofer round trip, so a directory with a lower
            // layer keeps the lower link count; one made in the overlay counts its subdirectories.
            if let lower { st.nlink = try lower.stat().nlink } else {
                st.nlink = 2 + UInt64(children.values.filter(\.isDirectory).count)
            }
        }
        return st
    }

    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        try fs.lock.withLock { () throws(Errno) -> Inode in try childLocked(name) }
    }

    /// The child `name`, from the known children or else from the lower layer (then remembered).
    private func childLocked(_ name: String) throws(Errno) -> OverlayInode {
        guard isDirectory else { throw Errno.ENOTDIR }
        if let c = children[name] { return c }
        guard !whiteouts.contains(name), let lower else { throw Errno.ENOENT }
        guard let l = try lower.lookup(name, task: nil) as? GoferInode else { throw Errno.EIO }
        let c = OverlayInode(fs: fs, lower: l, upper: nil, fileType: try l.stat().mode & FileMode.S_IFMT)
        children[name] = c
        return c
    }

    /// nil when `name` does not exist; other lookup errors are thrown.
    private func existingLocked(_ name: String) throws(Errno) -> OverlayInode? {
        do { return try childLocked(name) } catch .ENOENT { return nil }
    }

    override func readDirectory(task: Task) throws(Errno) -> [DirEntry] {
        try fs.lock.withLock { () throws(Errno) -> [DirEntry] in try mergedLocked() }
    }

    /// The lower listing without whited-out names, with the known children on top.
    private func mergedLocked() throws(Errno) -> [DirEntry] {
        var merged: [String: DirEntry] = [:]
        if let lower {
            for e in try lower.listing() where !whiteouts.contains(e.name) { merged[e.name] = e }
        }
        for (name, c) in children {
            let inode = c.upper.map { $0.attributes.inode } ?? merged[name]?.inode ?? 0
            merged[name] = DirEntry(name: name, inode: inode, type: DirentType.from(mode: c.fileType))
        }
        return merged.values.sorted { $0.name < $1.name }
    }

    private func isEmptyLocked() throws(Errno) -> Bool { try mergedLocked().isEmpty }

    override func readlink(task: Task) throws(Errno) -> String {
        guard fileType == FileMode.S_IFLNK else { throw Errno.EINVAL }
        if let upper = fs.lock.withLock({ upper }) { return upper.target }
        guard let lower else { throw Errno.EIO }
        return try lower.linkTarget()
    }

    override func open(_ flags: Int, dentry: Dentry, task: Task) throws(Errno) -> FileDescription {
        if isDirectory {
            if flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY { throw Errno.EISDIR }
            return DirectoryDescription(flags: flags, dentry: dentry)
        }
        let writes = flags & OpenFlags.O_ACCMODE != OpenFlags.O_RDONLY || flags & OpenFlags.O_TRUNC != 0
        let upper = try fs.lock.withLock { () throws(Errno) -> TmpfsInode? in
            if writes { try copyUpLocked() }
            return self.upper
        }
        // Descriptions opened before a copy-up keep reading the lower file (as overlayfs before 4.19).
        if let upper { return try upper.open(flags, dentry: dentry, task: task) }
        guard let lower else { throw Errno.EIO }
        return try lower.open(flags, dentry: dentry, task: task)
    }

    // MARK: - Copy-up

    /// Gives the file an upper copy (content, target, attributes with the lower identity) if it has none.
    private func copyUpLocked() throws(Errno) {
        guard upper == nil else { return }
        guard let lower else { throw Errno.EIO }
        var st = try lower.stat()
        let copy = TmpfsInode(mode: st.mode)
        switch fileType {
        case FileMode.S_IFREG: copy.data = FileData(try lower.contents())
        case FileMode.S_IFLNK: copy.target = try lower.linkTarget()
        default: break
        }
        st.nlink = 1
        copy.attributes = st
        // The app's own attributes travel with the file (user.* only: the rest is the host's business).
        for name in (try? lower.listXattr()) ?? [] where XattrWire.name(name, isIn: "user.") {
            if let value = try? lower.getXattr(name) { try? copy.xattrs.set(name, value, flags: 0) }
        }
        upper = copy
    }

    /// A new file in this directory (lock held): the directory is copied up for its new times.
    private func addLocked(_ name: String, _ inode: TmpfsInode) throws(Errno) -> OverlayInode {
        guard isDirectory else { throw Errno.ENOTDIR }
        guard try existingLocked(name) == nil else { throw Errno.EEXIST }
        try copyUpLocked()
        inode.attributes.device = fs.device
        inode.attributes.inode = fs.newInodeNumber()
        let child = OverlayInode(fs: fs, lower: nil, upper: inode, fileType: inode.attributes.mode & FileMode.S_IFMT)
        children[name] = child
        touchLocked()
        return child
    }

    private func touchLocked() {
        guard let upper else { return }
        upper.lock.withLock { upper.attributes.mtime = Timespec.now(); upper.attributes.ctime = upper.attributes.mtime }
    }

    // MARK: - Changes

    override func create(_ name: String, mode: UInt32, owner: FileOwner, flags: Int) throws(Errno) -> (Inode, Int32?) {
        try fs.lock.withLock { () throws(Errno) -> (Inode, Int32?) in
            (try addLocked(name, TmpfsInode(mode: FileMode.S_IFREG | (mode & 0o7777), owner: owner)), nil)
        }
    }

    /// An O_TMPFILE file: upper only, in no directory until linked.
    override func createTemporary(mode: UInt32, owner: FileOwner) throws(Errno) -> Inode {
        guard isDirectory else { throw Errno.ENOTDIR }
        let upper = TmpfsInode(mode: FileMode.S_IFREG | (mode & 0o7777), owner: owner)
        upper.attributes.nlink = 0
        upper.attributes.device = fs.device
        upper.attributes.inode = fs.newInodeNumber()
        return OverlayInode(fs: fs, lower: nil, upper: upper, fileType: FileMode.S_IFREG)
    }

    override func makeDirectory(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        try fs.lock.withLock { () throws(Errno) in
            _ = try addLocked(name, TmpfsInode(mode: FileMode.S_IFDIR | (mode & 0o7777), owner: owner))
        }
    }

    override func makeNode(_ name: String, mode: UInt32, owner: FileOwner) throws(Errno) {
        let type = mode & FileMode.S_IFMT
        // Regular files, FIFOs and socket inodes (unix-socket bind); device nodes are not the app's to make.
        guard type == FileMode.S_IFREG || type == FileMode.S_IFIFO || type == FileMode.S_IFSOCK else { throw Errno.EPERM }
        try fs.lock.withLock { () throws(Errno) in _ = try addLocked(name, TmpfsInode(mode: mode, owner: owner)) }
    }

    override func makeSymlink(_ name: String, target: String, owner: FileOwner) throws(Errno) {
        let link = TmpfsInode(mode: FileMode.S_IFLNK | 0o777, owner: owner)
        link.target = target
        try fs.lock.withLock { () throws(Errno) in _ = try addLocked(name, link) }
    }

    override func link(_ name: String, to file: Inode) throws(Errno) {
        guard let file = file as? OverlayInode, file.fs === fs else { throw Errno.EXDEV }
        guard !file.isDirectory else { throw Errno.EPERM }
        try fs.lock.withLock { () throws(Errno) in
            guard isDirectory else { throw Errno.ENOTDIR }
            guard try existingLocked(name) == nil else { throw Errno.EEXIST }
            try copyUpLocked()
            try file.copyUpLocked()
            guard let shared = file.upper else { throw Errno.EIO }
            // Both names share the one upper inode, so a write through either is seen through both.
            children[name] = OverlayInode(fs: fs, lower: nil, upper: shared, fileType: file.fileType)
            shared.lock.withLock { shared.attributes.nlink += 1; shared.attributes.ctime = Timespec.now() }
            touchLocked()
        }
    }

    override func remove(_ name: String, directory: Bool) throws(Errno) {
        try fs.lock.withLock { () throws(Errno) in
            let c = try childLocked(name)
            if directory {
                guard c.isDirectory else { throw Errno.ENOTDIR }
                guard try c.isEmptyLocked() else { throw Errno.ENOTEMPTY }
            } else if c.isDirectory {
                throw Errno.EISDIR
            }
            try copyUpLocked()
            detachLocked(name)
            if let u = c.upper { u.lock.withLock { if u.attributes.nlink > 0 { u.attributes.nlink -= 1 } } }
        }
    }

    /// Forgets `name` and hides any lower entry of that name.
    private func detachLocked(_ name: String) {
        children.removeValue(forKey: name)
        if lower != nil { whiteouts.insert(name) }
        touchLocked()
    }

    override func rename(_ name: String, to newDirectory: Inode, _ newName: String, flags: UInt32) throws(Errno) {
        guard let destination = newDirectory as? OverlayInode, destination.fs === fs else { throw Errno.EXDEV }
        try fs.lock.withLock { () throws(Errno) in
            guard destination.isDirectory else { throw Errno.ENOTDIR }
            let source = try childLocked(name)
            let existing = try destination.existingLocked(newName)
            if existing === source { return }
            if let existing {
                let targetEmpty = existing.isDirectory ? try existing.isEmptyLocked() : true
                try RenameRules.check(source: try source.statLocked(), target: try existing.statLocked(), flags: flags,
                                      targetEmpty: targetEmpty)
            } else if flags & RenameRules.exchange != 0 {
                throw Errno.ENOENT
            }
            try copyUpLocked()
            try destination.copyUpLocked()
            detachLocked(name)
            destination.children[newName] = source
            destination.touchLocked()
            if let existing, flags & RenameRules.exchange != 0 {
                children[name] = existing
            } else if let u = existing?.upper {
                u.lock.withLock { if u.attributes.nlink > 0 { u.attributes.nlink -= 1 } }
            }
        }
    }

    // Extended attributes: read from the upper copy if there is one, else from the lower file; changes
    // copy the file up first.
    override func getXattr(_ name: [UInt8]) throws(Errno) -> [UInt8] {
        let (upper, lower) = fs.lock.withLock { (self.upper, self.lower) }
        if let upper { return try upper.getXattr(name) }
        guard let lower else { throw Errno.ENODATA }
        return try lower.getXattr(name)
    }
    override func listXattr() throws(Errno) -> [[UInt8]] {
        let (upper, lower) = fs.lock.withLock { (self.upper, self.lower) }
        if let upper { return try upper.listXattr() }
        return try lower?.listXattr() ?? []
    }
    override func setXattr(_ name: [UInt8], value: [UInt8], flags: UInt32) throws(Errno) {
        try copiedUp().setXattr(name, value: value, flags: flags)
    }
    override func removeXattr(_ name: [UInt8]) throws(Errno) { try copiedUp().removeXattr(name) }

    private func copiedUp() throws(Errno) -> TmpfsInode {
        let upper = try fs.lock.withLock { () throws(Errno) -> TmpfsInode? in
            try copyUpLocked()
            return self.upper
        }
        guard let upper else { throw Errno.EIO }
        return upper
    }

    override func setAttributes(_ changes: AttributeChanges) throws(Errno) {
        let upper = try fs.lock.withLock { () throws(Errno) -> TmpfsInode? in
            try copyUpLocked()
            return self.upper
        }
        guard let upper else { throw Errno.EIO }
        try upper.setAttributes(changes)
    }
}
