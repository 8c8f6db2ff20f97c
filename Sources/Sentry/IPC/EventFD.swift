// eventfd(2): a 64-bit counter that write adds to and read drains (or decrements by one in semaphore mode).
import LinuxABI

final class EventFileDescription: FileDescription, @unchecked Sendable {
    /// The counter never exceeds this; a write that would pass it blocks (or fails with EAGAIN).
    static let maxCounter: UInt64 = 0xffff_ffff_ffff_fffe
    let semaphore: Bool
    private var counter: UInt64
    private let queue = ReadinessQueue()
    let number = Inode.allocateNumber()

    init(initialValue: UInt64, semaphore: Bool, flags: Int) {
        self.counter = initialValue
        self.semaphore = semaphore
        super.init(flags: OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK), dentry: nil)
    }

    override var readinessQueue: ReadinessQueue { queue }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard buffers.reduce(0, { $0 + $1.count }) >= 8 else { throw Errno.EINVAL }
        var value: UInt64 = 0
        try task.block(on: [queue.waiters]) { () throws(Errno) -> Bool in
            try lock.withLock { () throws(Errno) -> Bool in
                if counter == 0 {
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
                value = semaphore ? 1 : counter
                counter -= value
                return true
            }
        }
        copyToBuffers(value, buffers)
        queue.notify(PollEvents.POLLOUT)
        return 8
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard let value = valueFromBuffers(buffers) else { throw Errno.EINVAL }
        guard value != UInt64.max else { throw Errno.EINVAL }
        if value == 0 { return 8 }
        try task.block(on: [queue.waiters]) { () throws(Errno) -> Bool in
            try lock.withLock { () throws(Errno) -> Bool in
                if EventFileDescription.maxCounter - counter < value {
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
                counter += value
                return true
            }
        }
        queue.notify(PollEvents.POLLIN)
        return 8
    }

    override func pollEvents(task: Task?) -> UInt32 {
        lock.withLock {
            var e: UInt32 = 0
            if counter > 0 { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
            if counter < EventFileDescription.maxCounter { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
            return e
        }
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0d, inode: number, mode: 0o600, nlink: 1, blockSize: 4096)
    }

    override func release() { queue.notifyReleased(self) }
}

/// Copies a native-endian u64 into the first 8 bytes of `buffers` (which hold at least 8).
func copyToBuffers(_ value: UInt64, _ buffers: [UnsafeMutableRawBufferPointer]) {
    withUnsafeBytes(of: value) { src in
        var done = 0
        for b in buffers where done < 8 {
            let n = min(b.count, 8 - done)
            b.baseAddress!.copyMemory(from: src.baseAddress! + done, byteCount: n)
            done += n
        }
    }
}

/// The u64 in the first 8 bytes of `buffers`, or nil when they hold fewer.
func valueFromBuffers(_ buffers: [UnsafeRawBufferPointer]) -> UInt64? {
    var bytes: [UInt8] = []
    for b in buffers where bytes.count < 8 { bytes.append(contentsOf: b.prefix(8 - bytes.count)) }
    guard bytes.count == 8 else { return nil }
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
}

func valueFromBuffers(_ buffers: [UnsafeMutableRawBufferPointer]) -> UInt64? {
    valueFromBuffers(buffers.map { UnsafeRawBufferPointer($0) })
}
