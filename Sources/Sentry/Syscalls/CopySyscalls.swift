// copy_file_range(2): copies between two regular files through a Sentry buffer (the files may live on
// different file systems: the overlay's memory, the Gofer's host files, tmpfs).
import LinuxABI

extension Kernel {
    func copyFileRange(_ task: Task, input: Int32, inputOffset: UInt64, output: Int32, outputOffset: UInt64,
                       length: Int, flags: UInt64) throws(Errno) -> Int {
        guard flags == 0 else { throw Errno.EINVAL }
        let src = try task.fdTable.get(input), dst = try task.fdTable.get(output)
        guard src.readable, dst.writable, dst.flags & OpenFlags.O_APPEND == 0 else { throw Errno.EBADF }
        let srcStat = try src.stat(), dstStat = try dst.stat()
        if srcStat.isDirectory || dstStat.isDirectory { throw Errno.EISDIR }
        guard srcStat.isRegular, dstStat.isRegular else { throw Errno.EINVAL }
        var readAt: Int64? = inputOffset == 0 ? nil : try task.mm.read(inputOffset, as: Int64.self)
        var writeAt: Int64? = outputOffset == 0 ? nil : try task.mm.read(outputOffset, as: Int64.self)
        if let r = readAt, r < 0 { throw Errno.EINVAL }
        if let w = writeAt, w < 0 { throw Errno.EINVAL }
        let count = max(0, length)
        // Overlapping ranges of one file are refused, as Linux does.
        if srcStat.device == dstStat.device && srcStat.inode == dstStat.inode {
            let r = readAt ?? src.lock.withLock { src.offset }, w = writeAt ?? dst.lock.withLock { dst.offset }
            let c = Int64(count)
            if r < w &+ c && w < r &+ c { throw Errno.EINVAL }
        }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: min(count, 1 << 16))
        while total < count {
            let want = min(buffer.count, count - total)
            let n = try buffer.withMutableBytes { (b) throws(Errno) -> Int in
                try src.read([UnsafeMutableRawBufferPointer(rebasing: b[0..<want])], at: readAt, task: task)
            }
            if n == 0 { break }
            let written = try buffer.withMutableBytes { (b) throws(Errno) -> Int in
                try dst.write([UnsafeMutableRawBufferPointer(rebasing: b[0..<n])], at: writeAt, task: task)
            }
            total += written
            if let r = readAt { readAt = r + Int64(written) }
            if let w = writeAt { writeAt = w + Int64(written) }
            if written < n { break }
        }
        if let readAt, inputOffset != 0 { try task.mm.write(inputOffset, readAt) }
        if let writeAt, outputOffset != 0 { try task.mm.write(outputOffset, writeAt) }
        if total > 0 && FSNotify.active { FSNotify.file(src, InotifyABI.IN_ACCESS); FSNotify.file(dst, InotifyABI.IN_MODIFY) }
        return total
    }
}
