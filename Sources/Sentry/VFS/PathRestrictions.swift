// linux.readonlyPaths and linux.maskedPaths, applied as runc applies them once the container's mounts are
// made, with the same mount machinery mount(2) uses (MountSyscalls.swift): a read-only path is bound onto
// itself and the new mount made read-only; a masked directory gets an empty read-only tmpfs over it, a
// masked file the container's /dev/null bound over it. Paths that do not exist in the sandbox are skipped.
import LinuxABI

extension Kernel {
    /// Read-only paths first, then masks (runc's order), walked as init sees the tree (symlinks followed).
    func applyPathRestrictions(task: Task) throws {
        for path in config.readonlyPaths {
            guard let d = try restrictedDentry(path, field: "linux.readonlyPaths", task: task) else { continue }
            do { _ = try bind(d, on: d, recursive: true) } catch {
                throw SentryError("linux.readonlyPaths: \(path): cannot bind it read-only (\(error))")
            }
            guard let m = d.top.mount else { continue }
            mountTable.lock.withLock { m.readOnly = true }
        }
        for path in config.maskedPaths {
            guard let d = try restrictedDentry(path, field: "linux.maskedPaths", task: task) else { continue }
            if d.inode.isDirectoryInode {
                // An empty tmpfs root (mode 1777, as a fresh tmpfs), read-only: nothing can appear under it.
                let m = mountTable.make(type: "tmpfs", source: "tmpfs", readOnly: true)
                _ = attach(m, inode: TmpfsInode.mountRoot(TmpfsOptions()), on: d)
            } else if let null = try? resolve(task: task, path: "/dev/null", follow: true),
                      let st = try? null.inode.stat(), st.mode & FileMode.S_IFMT == FileMode.S_IFCHR, st.rdev == CharDeviceKind.null.rdev {
                do { _ = try bind(null, on: d, recursive: false) } catch {
                    throw SentryError("linux.maskedPaths: \(path): cannot bind /dev/null over it (\(error))")
                }
            } else {
                // No /dev/null in the container's tree: the Sentry's own null device, as devtmpfs would hold it.
                let m = mountTable.make(type: "devtmpfs", source: "udev", readOnly: false)
                _ = attach(m, inode: CharDeviceInode(.null), on: d)
            }
        }
    }

    /// The dentry `path` names, or nil (logged) when it does not exist in the sandbox.
    private func restrictedDentry(_ path: String, field: String, task: Task) throws -> Dentry? {
        do throws(Errno) {
            return try resolve(task: task, path: path, follow: true)
        } catch {
            guard error == .ENOENT || error == .ENOTDIR else { throw SentryError("\(field): \(path): \(error)") }
            if config.debug { log("\(field): \(path) does not exist in the sandbox; skipped") }
            return nil
        }
    }
}
