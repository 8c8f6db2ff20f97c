// The one memfd that holds all app memory of a sandbox. The Sentry maps the whole file into its own
// address space and reaches app memory through that mapping; platforms map ranges of it into app
// address spaces. Ranges are handed out page-aligned and returned with a hole punch, so untouched or
// freed memory costs nothing on the host.
import CLinux
import Glibc
import LinuxABI

/// The sandbox's memory file: a sparse memfd, mapped whole into the Sentry.
public final class MemoryFile: @unchecked Sendable {
    /// The host descriptor of the memfd (inherited by ptrace stubs).
    public let fd: Int32
    /// The file's size: an upper bound on app memory, not a reservation of host memory.
    public let size: UInt64
    /// The Sentry's mapping of the whole file.
    let base: UnsafeMutableRawPointer

    private let lock = Lock()
    /// Free ranges (offset → length), coalesced; everything past `bump` is free too.
    private var free: [UInt64: UInt64] = [:]
    private var bump: UInt64 = 0
    private(set) var allocatedBytes: UInt64 = 0
    /// The sandbox's memory limit: allocations past it fail with ENOMEM (the app's problem, not the host's).
    /// `runsc update --memory` changes it while the sandbox runs (`setLimit`).
    public var limit: UInt64 { lock.withLock { currentLimit } }
    private var currentLimit: UInt64
    /// Allocations refused because of the limit (reported as `memory.usage.failcnt` and `oom` events).
    public var limitFailures: UInt64 { lock.withLock { failures } }
    private var failures: UInt64 = 0

    /// Creates the memfd of `size` bytes (sparse) and maps it. `limit` caps what the app may allocate.
    public init(size: UInt64 = 64 << 30, limit: UInt64? = nil) throws {
        self.currentLimit = min(limit ?? size, size)
        let fd = Int32(clinuxMemfdCreate("runsc-memory"))
        guard fd >= 0 else { throw SentryError("memfd_create for the sandbox memory failed: errno \(errno)") }
        guard ftruncate(fd, off_t(size)) == 0 else {
            let e = errno; close(fd)
            throw SentryError("sizing the sandbox memory file to \(size) bytes failed: errno \(e)")
        }
        guard let p = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0),
              p != MAP_FAILED else {
            let e = errno; close(fd)
            throw SentryError("mapping the sandbox memory file into the Sentry failed: errno \(e)")
        }
        self.fd = fd
        self.size = size
        self.base = p
    }

    deinit {
        munmap(base, Int(size))
        close(fd)
    }

    /// Hands out `length` bytes (a multiple of the page size) of zeroed file space.
    func allocate(_ length: UInt64) throws(Errno) -> UInt64 {
        precondition(length > 0 && length & PageSize.mask == 0, "allocation length must be whole pages")
        return try lock.withLock { () throws(Errno) -> UInt64 in
            // The limit counts memory the app has touched (the memfd's allocated blocks) plus the request, so
            // large reservations that are never touched (PROT_NONE arenas) do not use it up.
            if currentLimit < size {
                var st = stat()
                guard fstat(fd, &st) == 0, UInt64(st.st_blocks) * 512 + length <= currentLimit else {
                    failures += 1
                    throw Errno.ENOMEM
                }
            }
            // First fit among returned ranges, then the untouched tail.
            if let (off, len) = free.first(where: { $0.value >= length }) {
                free.removeValue(forKey: off)
                if len > length { free[off + length] = len - length }
                allocatedBytes += length
                return off
            }
            guard bump + length <= size else { throw Errno.ENOMEM }
            let off = bump
            bump += length
            allocatedBytes += length
            return off
        }
    }

    /// Sets the limit (nil: no limit beyond the file's size). Memory already in use stays; only new
    /// allocations are refused past a lowered limit.
    public func setLimit(_ newLimit: UInt64?) {
        lock.withLock { currentLimit = min(newLimit ?? size, size) }
    }

    /// Bytes of app memory the host really holds for the sandbox (the memfd's allocated blocks): what the
    /// limit is measured against.
    public var usedBytes: UInt64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? UInt64(st.st_blocks) * 512 : 0
    }

    /// Returns a range: its pages are released to the host and read back as zeros when reused.
    func release(_ offset: UInt64, _ length: UInt64) {
        guard length > 0 else { return }
        _ = clinux_fallocate(fd, 0x01 | 0x02 /* FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE */, Int(offset), Int(length))
        lock.withLock {
            allocatedBytes -= length
            var off = offset, len = length
            // Coalesce with neighbours so large allocations keep finding room.
            if let next = free[off + len] { free.removeValue(forKey: off + len); len += next }
            if let prev = free.first(where: { $0.key + $0.value == off }) {
                free.removeValue(forKey: prev.key); off = prev.key; len += prev.value
            }
            if off + len == bump { bump = off } else { free[off] = len }
        }
    }

    /// Zeroes a range without giving it back.
    func zero(_ offset: UInt64, _ length: UInt64) {
        guard length > 0 else { return }
        _ = clinux_fallocate(fd, 0x01 | 0x02, Int(offset), Int(length))
    }

    /// The Sentry's address of file offset `offset`.
    @inline(__always) func pointer(_ offset: UInt64) -> UnsafeMutableRawPointer { base + Int(offset) }

    /// Copies `length` bytes between two ranges of the file, skipping holes (used by fork).
    func copy(from source: UInt64, to destination: UInt64, length: UInt64) {
        var pos: UInt64 = 0
        while pos < length {
            let dataStart = lseek(fd, off_t(source + pos), 3 /* SEEK_DATA */)
            if dataStart < 0 { break }  // ENXIO: no data left in the file
            let ds = UInt64(dataStart)
            if ds >= source + length { break }
            var holeStart = UInt64(max(lseek(fd, off_t(ds), 4 /* SEEK_HOLE */), 0))
            if holeStart > source + length || holeStart <= ds { holeStart = source + length }
            let n = holeStart - ds
            memcpy(pointer(destination + (ds - source)), pointer(ds), Int(n))
            pos = holeStart - source
        }
    }
}

private func clinuxMemfdCreate(_ name: String) -> Int {
    name.withCString { clinux_syscall6(SyscallNumber.memfd_create, Int(bitPattern: $0), 0, 0, 0, 0, 0) }
}
