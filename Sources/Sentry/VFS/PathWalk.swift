import GoferProtocol
// Path resolution inside the sandbox: components one at a time, mounts, "..", and symlinks (at most 40).
import LinuxABI

extension Kernel {
    static let maxSymlinks = 40

    /// Resolves `path` for `task`, starting at `start` (or the cwd) for relative paths.
    /// `follow` says whether a symlink in the last component is followed.
    /// `scope` carries openat2's RESOLVE_* restrictions (none for every other caller).
    func resolve(task: Task, path: String, start: Dentry? = nil, follow: Bool, scope: ResolveScope = .none) throws(Errno) -> Dentry {
        var budget = Kernel.maxSymlinks
        return try walk(task: task, path: path, start: start, follow: follow, scope: scope, budget: &budget)
    }

    /// Resolves everything but the last component: returns the parent directory and the last name
    /// ("" when the path names the root or ends in "." / "..").
    func resolveParent(task: Task, path: String, start: Dentry? = nil, scope: ResolveScope = .none) throws(Errno) -> (Dentry, String) {
        guard !path.isEmpty else { throw Errno.ENOENT }
        var comps = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let last = comps.popLast() else {
            return (scope.flags == 0 ? task.fs.root : try resolve(task: task, path: path, start: start, follow: true, scope: scope), "")
        }
        let dirPath = (path.hasPrefix("/") ? "/" : "") + comps.joined(separator: "/")
        let dir = dirPath.isEmpty ? (start ?? task.fs.cwd) : try resolve(task: task, path: dirPath, start: start, follow: true, scope: scope)
        guard try dir.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        if last == "." || last == ".." { return (try resolve(task: task, path: last, start: dir, follow: true, scope: scope), "") }
        return (dir, last)
    }

    private func walk(task: Task, path: String, start: Dentry?, follow: Bool, scope: ResolveScope, budget: inout Int) throws(Errno) -> Dentry {
        guard !path.isEmpty else { throw Errno.ENOENT }
        guard path.utf8.count < 4096 else { throw Errno.ENAMETOOLONG }
        let scopeBase = scope.base ?? task.fs.cwd
        let beneath = scope.has(ResolveFlags.RESOLVE_BENEATH), inRoot = scope.has(ResolveFlags.RESOLVE_IN_ROOT)
        let noXdev = scope.has(ResolveFlags.RESOLVE_NO_XDEV)
        let noSymlinks = scope.has(ResolveFlags.RESOLVE_NO_SYMLINKS)
        // RESOLVE_IN_ROOT makes the dirfd the root for this walk, as a chroot would.
        let root = inRoot ? scopeBase : task.fs.root
        var current: Dentry
        if path.hasPrefix("/") {
            if beneath { throw Errno.EXDEV }
            if noXdev && (start ?? scopeBase).mountRoot !== root.mountRoot { throw Errno.EXDEV }
            current = root
        } else {
            current = start ?? task.fs.cwd
        }
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
                // RESOLVE_BENEATH refuses to climb out of the dirfd; RESOLVE_IN_ROOT stays at it (root's check).
                if beneath && current === scopeBase { throw Errno.EXDEV }
                if current !== root, let p = current.parent {
                    if noXdev && current.mountRoot === current { throw Errno.EXDEV }
                    current = p
                }
                continue
            }
            guard name.utf8.count <= 255 else { throw Errno.ENAMETOOLONG }
            guard try current.inode.stat().isDirectory else { throw Errno.ENOTDIR }
            let base = try current.child(name, task: task)
            let next = base.top
            if noXdev && next !== base { throw Errno.EXDEV }
            let st = try next.inode.stat()
            if st.isSymlink && (!isLast || follow || trailingSlash) {
                if noSymlinks { throw Errno.ELOOP }
                budget -= 1
                guard budget >= 0 else { throw Errno.ELOOP }
                if let magic = next.inode.magicLinkTarget(task: task) {
                    if scope.has(ResolveFlags.RESOLVE_NO_MAGICLINKS) { throw Errno.ELOOP }
                    // A magic link jumps anywhere: a scoped walk cannot vouch for where it lands.
                    if beneath || inRoot { throw Errno.EXDEV }
                    if noXdev && magic.mountRoot !== current.mountRoot { throw Errno.EXDEV }
                    current = magic
                } else {
                    let target = try next.inode.readlink(task: task)
                    guard !target.isEmpty else { throw Errno.ENOENT }
                    current = try walk(task: task, path: target, start: current, follow: true, scope: scope, budget: &budget)
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
        let goferRoot = GoferInode(kernel: self, handle: handle, attributes: attrs, writable: writesThrough,
                                   shared: config.rootShared)
        let rootInode: Inode
        if config.rootOverlay == .memory && !config.rootReadOnly {
            do { rootInode = try OverlayInode.root(over: goferRoot) } catch {
                throw SentryError("the overlay over the container's root could not be set up: \(error)")
            }
        } else {
            rootInode = goferRoot
        }
        let rootType = config.rootReadOnly || config.rootOverlay == .none ? "9p" : "overlay"
        let rootMount = mountTable.make(type: rootType, source: "none", readOnly: config.rootReadOnly)
        let root = Dentry(name: "", parent: nil, inode: rootInode, readOnly: config.rootReadOnly, mount: rootMount)
        rootMount.attach(root: root, base: nil)
        mountTable.insert(rootMount)
        for m in config.mounts {
            let inode: Inode
            switch m.source {
            case .proc: inode = ProcRoot(kernel: self)
            case .dev: inode = DevRoot(kernel: self)
            case .tmpfs: inode = TmpfsInode.mountRoot(m.tmpfs)
            case .empty: inode = TmpfsInode.directory(mode: 0o555)
            case .sysfs: inode = SysFSRoot(kernel: self)
            case .gofer(let index):
                let (handle, attrs): (FileHandle, FileAttributes)
                do { (handle, attrs) = try gofer.attach(bind: index) } catch {
                    throw SentryError("the Gofer did not serve bind mount \(index) for \(m.destination): \(error)")
                }
                // A writable bind writes through to the host: that is what a volume is for.
                inode = GoferInode(kernel: self, handle: handle, attributes: attrs, writable: !m.readOnly,
                                   shared: config.mountsShared)
            }
            try mount(inode, at: m.destination, readOnly: m.readOnly, root: root, kind: Kernel.describe(m.source),
                      flags: (m.noSUID, m.noDev, m.noExec))
        }
        return root
    }

    /// Mounts `inode` at `destination`; a missing mount point is created in the Sentry's view only. A
    /// non-directory (a file bind) is mounted on a non-directory: the image's file, or a synthetic one.
    private func mount(_ inode: Inode, at destination: String, readOnly: Bool, root: Dentry, kind: (type: String, source: String),
                       flags: (noSUID: Bool, noDev: Bool, noExec: Bool) = (false, false, false)) throws {
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
        let made = mountTable.make(type: kind.type, source: kind.source, readOnly: readOnly)
        (made.noSUID, made.noDev, made.noExec) = flags
        _ = attach(made, inode: inode, on: current)
    }
}

/// openat2's RESOLVE_* restrictions on a walk and the directory (dirfd or cwd) they are relative to.
struct ResolveScope {
    var flags: UInt64 = 0
    /// The directory RESOLVE_BENEATH may not leave and RESOLVE_IN_ROOT treats as the root (nil: the cwd).
    var base: Dentry? = nil
    static let none = ResolveScope()
    func has(_ flag: UInt64) -> Bool { flags & flag != 0 }
}

extension Dentry {
    /// The child dentry when it exists and is a directory (mount points are never followed as symlinks).
    func childNoFollow(_ name: String) throws(Errno) -> Dentry {
        let d = try childForMount(name)
        guard try d.inode.stat().isDirectory else { throw Errno.ENOTDIR }
        return d
    }
}
