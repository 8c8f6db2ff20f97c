// The bytes of an in-memory file (tmpfs, the overlay's upper layer), kept in fixed-size blocks: a growing
// file never moves what it already holds (a flat array is re-allocated and copied as it doubles, and every
// fresh copy faults its pages in again), and ranges never written (holes) take no memory and read as zeros.
import Glibc

/// Not thread-safe: the owning inode's lock guards it.
final class FileData: @unchecked Sendable {
    /// Bytes of the file per block. Full blocks are mapped pre-faulted (MAP_POPULATE: one system call instead
    /// of a page fault per page); a block holding only a short head (a small file) is a smaller heap buffer.
    static let blockSize = 1 << 20
    private static let blockShift = 20
    /// The largest size a file may have: the store lives in Sentry memory.
    static let maxSize = 1 << 34

    /// `capacity` bytes at `base`; every byte of it that is not file data is zero, so growing the file
    /// (truncate, a write past the end) needs no clearing.
    private struct Block { var base: UnsafeMutableRawPointer; var capacity: Int }
    private var blocks: [Block?] = []
    /// The file's size; blocks may end before it (the rest reads as zeros), never extend data past it.
    private(set) var count = 0

    init() {}

    convenience init(_ bytes: [UInt8]) {
        self.init()
        _ = bytes.withUnsafeBytes { write(from: $0, at: 0) }
    }

    deinit { for b in blocks { if let b { BlockPool.shared.release(b.base, capacity: b.capacity) } } }

    /// Copies up to `buffer.count` bytes from `offset` into `buffer`; holes give zeros. Returns the bytes
    /// copied (0 at or past the end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        guard offset >= 0, offset < count, let out = buffer.baseAddress else { return 0 }
        let total = min(buffer.count, count - offset)
        var done = 0
        while done < total {
            let pos = offset + done
            let index = pos >> FileData.blockShift, inner = pos & (FileData.blockSize - 1)
            let n = min(total - done, FileData.blockSize - inner)
            let stored = index < blocks.count ? blocks[index] : nil
            let present = stored.map { max(0, min(n, $0.capacity - inner)) } ?? 0
            if let stored, present > 0 { (out + done).copyMemory(from: stored.base + inner, byteCount: present) }
            if present < n { (out + done + present).initializeMemory(as: UInt8.self, repeating: 0, count: n - present) }
            done += n
        }
        return total
    }

    /// Stores `bytes` at `offset`, growing the file if they end past it (a gap before `offset` is a hole).
    /// Returns the bytes stored: fewer only past `maxSize` or when memory ran out.
    func write(from bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        guard offset >= 0, offset < FileData.maxSize, let source = bytes.baseAddress else { return 0 }
        let total = min(bytes.count, FileData.maxSize - offset)
        var done = 0
        while done < total {
            let pos = offset + done
            let index = pos >> FileData.blockShift, inner = pos & (FileData.blockSize - 1)
            let n = min(total - done, FileData.blockSize - inner)
            guard let base = block(index, from: inner, holding: inner + n) else { break }
            (base + inner).copyMemory(from: source + done, byteCount: n)
            done += n
        }
        if done > 0 { count = max(count, offset + done) }
        return done
    }

    /// Sets the size: growing adds a hole, shrinking frees whole blocks past the end and clears the tail
    /// of the last one (so a later growth reads zeros there).
    func truncate(to size: Int) {
        let size = max(0, min(size, FileData.maxSize))
        if size < count {
            let keep = (size + FileData.blockSize - 1) >> FileData.blockShift
            while blocks.count > keep {
                if let b = blocks.removeLast() { BlockPool.shared.release(b.base, capacity: b.capacity) }
            }
            let index = size >> FileData.blockShift, inner = size & (FileData.blockSize - 1)
            if inner > 0, index < blocks.count, let b = blocks[index], b.capacity > inner {
                (b.base + inner).initializeMemory(as: UInt8.self, repeating: 0, count: b.capacity - inner)
            }
        }
        count = size
    }

    /// The whole content as one array (tests, small callers).
    var bytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = read(into: UnsafeMutableRawBufferPointer(buffer), at: 0)
        }
    }

    /// Bytes of memory the blocks hold (sparse files hold less than their size).
    var allocatedBytes: Int { blocks.reduce(0) { $0 + ($1?.capacity ?? 0) } }

    /// Block `index` with at least `needed` bytes of memory, allocated or enlarged (zero-filled) as needed;
    /// the caller is about to fill it from `start` on.
    private func block(_ index: Int, from start: Int, holding needed: Int) -> UnsafeMutableRawPointer? {
        if index >= blocks.count { blocks.append(contentsOf: repeatElement(nil, count: index + 1 - blocks.count)) }
        if let b = blocks[index], b.capacity >= needed { return b.base }
        let old = blocks[index]
        // Heap blocks double (amortized copies) up to a full block; a write of a whole block maps it at once.
        var capacity = max(64, old.map { $0.capacity * 2 } ?? 0)
        while capacity < needed { capacity *= 2 }
        capacity = min(capacity, FileData.blockSize)
        // Only a new block about to be overwritten whole may skip clearing.
        let whole = old == nil && start == 0 && needed == FileData.blockSize
        guard let base = BlockPool.shared.allocate(capacity: capacity, zeroed: !whole) else { return nil }
        if let old {
            base.copyMemory(from: old.base, byteCount: old.capacity)
            BlockPool.shared.release(old.base, capacity: old.capacity)
        }
        blocks[index] = Block(base: base, capacity: capacity)
        return base
    }
}

/// Where blocks come from: full blocks are mapped pre-faulted and a few freed ones are kept for reuse (a
/// file rewritten or replaced in a loop then faults nothing in); shorter ones come from the heap.
private final class BlockPool: @unchecked Sendable {
    static let shared = BlockPool()
    private static let keep = 32
    private let lock = Lock()
    private var free: [UnsafeMutableRawPointer] = []

    /// `capacity` bytes (zeroed unless the caller overwrites them all), or nil if memory ran out.
    func allocate(capacity: Int, zeroed: Bool) -> UnsafeMutableRawPointer? {
        guard capacity == FileData.blockSize else { return calloc(1, capacity) }
        if let reused = lock.withLock({ free.popLast() }) {
            if zeroed { reused.initializeMemory(as: UInt8.self, repeating: 0, count: capacity) }
            return reused
        }
        guard let p = mmap(nil, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
              p != MAP_FAILED else { return nil }
        return p
    }

    func release(_ p: UnsafeMutableRawPointer, capacity: Int) {
        guard capacity == FileData.blockSize else { Glibc.free(p); return }
        let kept = lock.withLock { () -> Bool in
            guard free.count < BlockPool.keep else { return false }
            free.append(p)
            return true
        }
        if !kept { munmap(p, capacity) }
    }
}
