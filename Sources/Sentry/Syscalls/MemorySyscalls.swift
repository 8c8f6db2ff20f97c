// Memory: brk, mmap, munmap, mprotect, mremap, madvise and friends.
import LinuxABI
import Platform

extension Kernel {
    static func protection(_ prot: UInt64) throws(Errno) -> Protection {
        guard prot & ~UInt64(7 | MemoryFlags.PROT_GROWSDOWN | MemoryFlags.PROT_GROWSUP) == 0 else { throw Errno.EINVAL }
        var p: Protection = []
        if prot & UInt64(MemoryFlags.PROT_READ) != 0 { p.insert(.read) }
        if prot & UInt64(MemoryFlags.PROT_WRITE) != 0 { p.insert([.read, .write]) }  // x86: write implies read
        if prot & UInt64(MemoryFlags.PROT_EXEC) != 0 { p.insert([.read, .execute]) }
        return p
    }

    func mmap(_ task: Task, address: UInt64, length: UInt64, prot: UInt64, flags: Int, fd: Int32, offset: UInt64) throws(Errno) -> Int {
        guard length > 0 else { throw Errno.EINVAL }
        guard offset & PageSize.mask == 0 else { throw Errno.EINVAL }
        guard let rounded = PageSize.roundUp(length), rounded <= (1 << 46) else { throw Errno.ENOMEM }
        let type = flags & MemoryFlags.MAP_TYPE
        guard type == MemoryFlags.MAP_SHARED || type == MemoryFlags.MAP_PRIVATE || type == MemoryFlags.MAP_SHARED_VALIDATE else { throw Errno.EINVAL }
        let shared = type != MemoryFlags.MAP_PRIVATE
        let protection = try Kernel.protection(prot)
        let fixed = flags & (MemoryFlags.MAP_FIXED | MemoryFlags.MAP_FIXED_NOREPLACE) != 0
        var request = MemoryManager.MapRequest(address: address, length: rounded, protection: protection, shared: shared,
                                               fixed: fixed, noReplace: flags & MemoryFlags.MAP_FIXED_NOREPLACE != 0,
                                               growsDown: flags & MemoryFlags.MAP_GROWSDOWN != 0)
        if flags & MemoryFlags.MAP_ANONYMOUS == 0 {
            let file = try task.fdTable.get(fd)
            if file is CharDeviceDescription {
                // /dev/zero: anonymous memory.
            } else {
                guard let d = file.dentry, let st = try? d.inode.stat(), st.isRegular else { throw Errno.ENODEV }
                guard file.readable else { throw Errno.EACCES }
                if shared && protection.contains(.write) && !file.writable { throw Errno.EACCES }
                // Code never maps from a noexec mount (mount(2) MS_NOEXEC).
                if protection.contains(.execute) && d.mount?.noExec == true { throw Errno.EPERM }
                guard offset <= UInt64(Int64.max) - rounded else { throw Errno.EOVERFLOW }
                request.name = d.path
                request.fileOffset = offset
                request.device = st.device
                request.inode = st.inode
                let fill = { (p: UnsafeMutableRawPointer, len: Int) throws(Errno) in
                    var done = 0
                    while done < len {
                        let n = try file.read([UnsafeMutableRawBufferPointer(start: p + done, count: len - done)],
                                              at: Int64(offset) + Int64(done), task: task)
                        if n == 0 { break }
                        done += n
                    }
                }
                if shared {
                    // One memory for every MAP_SHARED mapper of this file range, written back to the file.
                    request.backing = try sharedFileMappings.backing(file: file, stat: st, offset: offset, length: rounded,
                                                                     memory: memoryFile, fill: fill)
                } else {
                    // Private: a copy of the file's bytes, copy-on-write across fork like anonymous memory.
                    request.fill = fill
                }
            }
        }
        if !fixed && address != 0 && address < minMmapAddress { request.address = 0 }
        try checkAddressSpaceLimit(task, adding: rounded)
        return Int(try task.mm.map(request, mirror: task.mirror))
    }

    var minMmapAddress: UInt64 { platform.minUserAddress }

    /// RLIMIT_AS: the address space may not grow past the process's limit.
    func checkAddressSpaceLimit(_ task: Task, adding bytes: UInt64) throws(Errno) {
        let (limit, _) = rlimit(task.threadGroup, 9)
        guard limit != UInt64.max else { return }
        let total = task.mm.lock.withLock { task.mm.vmas.reduce(UInt64(0)) { $0 + $1.length } }
        if total > limit || bytes > limit - total { throw Errno.ENOMEM }
    }

    func mremap(_ task: Task, old: UInt64, oldSize: UInt64, newSize: UInt64, flags: Int, newAddress: UInt64) throws(Errno) -> Int {
        guard old & PageSize.mask == 0, flags & ~7 == 0 else { throw Errno.EINVAL }
        guard let oldLen = PageSize.roundUp(oldSize), let newLen = PageSize.roundUp(newSize), newLen > 0 else { throw Errno.EINVAL }
        guard oldLen <= task.mm.maxAddress, newLen <= task.mm.maxAddress else { throw Errno.EINVAL }  // as Linux: beyond TASK_SIZE
        if flags & MemoryFlags.MREMAP_FIXED != 0 && flags & MemoryFlags.MREMAP_MAYMOVE == 0 { throw Errno.EINVAL }
        // `oldLen <= v.end - old`, not `old + oldLen <= v.end`: a hostile oldSize must not overflow (a trap).
        guard let v = task.mm.vma(containing: old), oldLen > 0, oldLen <= v.end - old else { throw Errno.EFAULT }
        if flags & MemoryFlags.MREMAP_FIXED == 0 {
            if newLen <= oldLen {
                if newLen < oldLen { try task.mm.unmap(old + newLen, oldLen - newLen, mirror: task.mirror) }
                return Int(old)
            }
        }
        guard flags & MemoryFlags.MREMAP_MAYMOVE != 0 else { throw Errno.ENOMEM }
        // Move: a new private mapping with a copy of the contents, then drop the old range.
        var request = MemoryManager.MapRequest(address: newAddress, length: newLen, protection: v.protection, shared: v.shared,
                                               fixed: flags & MemoryFlags.MREMAP_FIXED != 0, name: v.name,
                                               fileOffset: v.fileOffset + (old - v.start), device: v.device, inode: v.inode)
        if v.shared {
            guard newLen <= oldLen else { throw Errno.ENOMEM }
            request.backing = v.backing
            request.backingOffset = v.backingOffset + (old - v.start)
        } else {
            let mm = task.mm
            request.fill = { (p, _) throws(Errno) in try mm.read(old, Int(min(oldLen, newLen)), into: p) }
        }
        let addr = try task.mm.map(request, mirror: task.mirror)
        try task.mm.unmap(old, oldLen, mirror: task.mirror)
        return Int(addr)
    }
}

extension SyscallTable {
    func registerMemorySyscalls() {
        register(SyscallNumber.brk) { (t, a) throws(Errno) -> Int in
            // RLIMIT_DATA bounds the heap; past it (or RLIMIT_AS) the break simply does not move, as on Linux.
            let (dataLimit, _) = t.kernel.rlimit(t.threadGroup, 2)
            let current = t.mm.lock.withLock { t.mm.brkCurrent }
            if a.a0 > current {
                let start = t.mm.lock.withLock { t.mm.brkStart }
                if a.a0 - start > dataLimit { return Int(current) }
                if (try? t.kernel.checkAddressSpaceLimit(t, adding: a.a0 - current)) == nil { return Int(current) }
            }
            return Int(t.mm.brk(a.a0, mirror: t.mirror))
        }
        register(SyscallNumber.mmap) { (t, a) throws(Errno) -> Int in
            try t.kernel.mmap(t, address: a.a0, length: a.a1, prot: a.a2, flags: Int(a.int3), fd: Int32(truncatingIfNeeded: a.a4), offset: a.a5)
        }
        register(SyscallNumber.munmap) { (t, a) throws(Errno) -> Int in try t.mm.unmap(a.a0, a.a1, mirror: t.mirror); return 0 }
        register(SyscallNumber.mprotect) { (t, a) throws(Errno) -> Int in
            try t.mm.protect(a.a0, a.a1, try Kernel.protection(a.a2), mirror: t.mirror); return 0
        }
        register(SyscallNumber.mremap) { (t, a) throws(Errno) -> Int in try t.kernel.mremap(t, old: a.a0, oldSize: a.a1, newSize: a.a2, flags: Int(a.int3), newAddress: a.a4) }
        register(SyscallNumber.madvise) { (t, a) throws(Errno) -> Int in
            guard a.a0 & PageSize.mask == 0 else { throw Errno.EINVAL }
            if a.a2 == 4 {  // MADV_DONTNEED: private anonymous memory reads back as zeros
                guard let len = PageSize.roundUp(a.a1) else { throw Errno.EINVAL }
                try t.mm.discard(a.a0, len, mirror: t.mirror)
            }
            return 0
        }
        register(SyscallNumber.msync) { (t, a) throws(Errno) -> Int in
            guard a.a0 & PageSize.mask == 0, a.a2 & ~UInt64(7) == 0, a.a2 & 5 != 5 else { throw Errno.EINVAL }  // MS_ASYNC|MS_SYNC
            guard let len = PageSize.roundUp(a.a1), a.a0 <= UInt64.max - len else { throw Errno.ENOMEM }
            // Writes shared file mappings in the range back to their files.
            let backings: [MemoryBacking] = t.mm.lock.withLock {
                t.mm.vmas.filter { $0.end > a.a0 && $0.start < a.a0 + len && $0.backing.writeBack != nil }.map(\.backing)
            }
            for b in backings { b.writeBack?() }
            return 0
        }
        register(SyscallNumber.mincore) { (t, a) throws(Errno) -> Int in
            guard a.a0 & PageSize.mask == 0, let len = PageSize.roundUp(a.a1) else { throw Errno.EINVAL }
            // The whole range must be mapped (ENOMEM otherwise, as Linux), and the answer goes out in chunks:
            // a hostile length must neither overflow nor make the Sentry allocate one byte per page at once.
            guard len <= t.mm.maxAddress, a.a0 <= t.mm.maxAddress - len else { throw Errno.ENOMEM }
            var at = a.a0
            while at < a.a0 + len {
                guard let v = t.mm.vma(containing: at) else { throw Errno.ENOMEM }
                at = v.end
            }
            let chunk = [UInt8](repeating: 1, count: 65536)
            var done: UInt64 = 0
            let pages = len / PageSize.size
            while done < pages {
                let n = min(pages - done, UInt64(chunk.count))
                try t.mm.copyOut(a.a2 + done, Array(chunk[0..<Int(n)]))
                done += n
            }
            return 0
        }
        for n in [SyscallNumber.mlock, SyscallNumber.munlock, SyscallNumber.mlock2, SyscallNumber.mlockall, SyscallNumber.munlockall] {
            register(n) { (_, _) throws(Errno) -> Int in 0 }
        }
    }
}
