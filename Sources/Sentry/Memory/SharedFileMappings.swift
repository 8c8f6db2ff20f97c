// MAP_SHARED mappings of files: every process that maps the same range of the same file shares one range of
// the MemoryFile, so they see each other's writes; the memory is written back to the file on msync and when
// the last mapping of it goes. (No page cache yet: read(2)/write(2) of the file are not coherent with a live
// mapping, and different ranges of one file are separate memory. See docs/compatibility.md.)
import LinuxABI

final class SharedFileMappings: @unchecked Sendable {
    private struct Key: Hashable { let device: UInt64, inode: UInt64, offset: UInt64, length: UInt64 }
    private struct Entry { weak var backing: MemoryBacking? }
    private let lock = Lock()
    private var entries: [Key: Entry] = [:]

    /// The shared memory for `length` bytes of `file` at `offset`, filled from the file the first time.
    func backing(file: FileDescription, stat st: FileStat, offset: UInt64, length: UInt64, memory: MemoryFile,
                 fill: (UnsafeMutableRawPointer, Int) throws(Errno) -> Void) throws(Errno) -> MemoryBacking {
        let key = Key(device: st.device, inode: st.inode, offset: offset, length: length)
        return try lock.withLock { () throws(Errno) -> MemoryBacking in
            if let b = entries[key]?.backing { return b }
            let b = try MemoryBacking(file: memory, length: length, shared: true)
            try fill(memory.pointer(b.offset), Int(length))
            if file.writable {
                let pointer = UnsafeRawBufferPointer(start: memory.pointer(b.offset), count: Int(length))
                b.writeBack = { _ = file.writeBack(pointer, at: Int64(offset)) }
            }
            entries = entries.filter { $0.value.backing != nil }
            entries[key] = Entry(backing: b)
            return b
        }
    }
}
