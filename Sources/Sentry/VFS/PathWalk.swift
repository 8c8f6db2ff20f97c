import GoferProtocol
// Path resolution inside the sandbox: components one at a time, mounts, "..", and symlinks (at most 40).
import LinuxABI

extension Kernel {
    static let maxSymlinks = 40

    /// Resolves `path` for `task`, starting at `start` (or the cwd) for relative paths.
    /// `follow` says whether a symlink in the last component is followed.
    func resolve(task: Task, path: String, start: Dentry? = nil, follow: Bool) throws(Errno) -> Dentry {
        var budget = Kernel.maxSymlinks
        return try walk(task: task, path: path, start: start, follow: follow, budget: &budget)
    }

    /// Resolves everything but the last component: returns the parent directory and the last name
    /// ("" when the path names the root or ends in "." / "..").
    func resolveParent(task: Task, path: String, start: Dentry? = nil) throws(Errno) -> (Dentry, String) {
        guard !path.isEmpty else { throw Errno.ENOENT }
        var comps = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let last = comps.popLast() else { return (task.fs.root, "") }
        let dirPath = (path.hasPrefix("/") ? "/" : "") + comps.joined(separator: "/")
        let dir = dirPath.isEmpty ? (start ?? task.fs.cwd) : try resolve(task: task, path: dirPath, start: start, follow: true)
        guard try dir.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        if last == "." || last == ".." { return (try resolve(task: task, path: last, start: dir, follow: true), "") }
        return (dir, last)
    }

    private func walk(task: Task, path: String, start: Dentry?, follow: Bool, budget: inout Int) throws(Errno) -> Dentry {
        guard !path.isEmpty else { throw Errno.ENOENT }
        guard path.utf8.count < 4096 else { throw Errno.ENAMETOOLONG }
        let root = task.fs.root
        var current = path.hasPrefix("/") ? root : (start ?? task.fs.cwd)
        let comps = path.split(separator: "/", omittingEmptySubsequences: true)
        let trailingSlash = path.hasSuffix("/") && !comps.isEmpty
        var i = 0
        while i < comps.count {
            let name = String(comps[i])
            let isLast = i == comps.count - 1
            i += 1
            if name == "." {
                guard try current.inode.stat().isDirectory else { throw Errno.ENOTDIR }
                continue
            }
            if name == ".." {
                if current !== root, let p = current.parent { current = p }
                continue
            }
            guard name.utf8.count <= 255 else { throw Errno.ENAMETOOLONG }
            guard try current.inode.stat().isDirectory else { throw Errno.ENOTDIR }
            let next = try current.child(name, task: task).top
            let st = try next.inode.stat()
            if st.isSymlink && (!isLast || follow || trailingSlash) {
                budget -= 1
                guard budget >= 0 else { throw Errno.ELOOP }
                if let magic = next.inode.magicLinkTarget(task: task) {
                    current = magic
                } else {
                    let target = try next.inode.readlink(task: task)
                    guard !target.isEmpty else { throw Errno.ENOENT }
                    current = try walk(task: task, path: target, start: current, follow: true, budget: &budget)
                }
                continue
            }
            current = next
        }
        if trailingSlash, !(try current.inode.stat().isDirectory) { throw Errno.ENOTDIR }
        return current
    }

    /// Builds the container's file tree: the Gofer's root, then each mount of the config.
    func buildMountTree() throws -> Dentry {
        let (handle, attrs): (FileHandle, FileAttributes)
        do { (handle, attrs) = try gofer.attach() } catch {
            throw SentryError("the Gofer did not serve the container's root: \(error)")
        }
        let writesThrough = config.rootOverlay == .none && !config.rootReadOnly
        let goferRoot = GoferInode(kernel: self, handle: handle, attributes: attrs, writable: writesThrough)
        let rootInode: Inode
        if config.rootOverlay == .memory && !config.rootReadOnly {
            do { rootInode = try OverlayInode.root(over: goferRoot) } catch {
                throw SentryError("the overlay over the container's root could not be set up: \(error)")
            }
        } else {
            rootInode = goferRoot
        }
        let root = Dentry(name: "", parent: nil, inode: rootInode, readOnly: config.rootReadOnly)
        for m in config.mounts {
            let inode: Inode
            switch m.source {
            case .proc: inode = ProcRoot(kernel: self)
            case .dev: inode = DevRoot(kernel: self)
            case .tmpfs: inode = TmpfsInode.directory(mode: 0o1777)
            case .empty: inode = TmpfsInode.directory(mode: 0o555)
            case .gofer(let index):
                let (handle, attrs): (FileHandle, FileAttributes)
                do { (handle, attrs) = try gofer.attach(bind: index) } catch {
                    throw SentryError("the Gofer did not serve bind mount \(index) for \(m.destination): \(error)")
                }
                // A writable bind writes through to the host: that is what a volume is for.
                inode = GoferInode(kernel: self, handle: handle, attributes: attrs, writable: !m.readOnly)
            }
            try mount(inode, at: m.destination, readOnly: m.readOnly, root: root)
        }
        return root
    }

    /// Mounts `inode` at `destination`; a missing mount point is created in the Sentry's view only. A
    /// non-directory (a file bind) is mounted on a non-directory: the image's file, or a synthetic one.
    private func mount(_ inode: Inode, at destination: String, readOnly: Bool, root: Dentry) throws {
        let comps = destination.split(separator: "/").map(String.init).filter { $0 != "." && !$0.isEmpty }
        guard !comps.contains("..") else { throw SentryError("mount destination \"\(destination)\" must not contain \"..\"") }
        let isDirectory = (try? inode.stat().isDirectory) ?? true
        var current = root
        for (i, name) in comps.enumerated() {
            let base = current.top
            if i == comps.count - 1 && !isDirectory {
                if let c = try? base.childForMount(name), let st = try? c.top.inode.stat(), !st.isSymlink {
                    guard !st.isDirectory else {
                        throw SentryError("mount destination \"\(destination)\" is a directory; cannot bind a file over it")
                    }
                    current = c
                } else {
                    current = base.addSynthetic(name, inode: TmpfsInode(mode: FileMode.S_IFREG | 0o644))
                }
            } else if let c = try? base.childNoFollow(name) {
                current = c
            } else {
                current = base.addSynthetic(name, inode: TmpfsInode.directory(mode: 0o755))
            }
        }
        guard current !== root else { throw SentryError("mount destination \"\(destination)\": mounting over / is not supported") }
        let base = current.top
        base.mounted = Dentry(name: base.name, parent: base.parent, inode: inode, readOnly: readOnly)
    }
}

extension Dentry {
    /// The child dentry when it exists and is a directory (mount points are never followed as symlinks).
    func childNoFollow(_ name: String) throws(Errno) -> Dentry {
        let d = try childForMount(name)
        guard try d.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        return d
    }
}
