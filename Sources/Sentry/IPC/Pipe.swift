// pipe(2): a bounded byte buffer between a read end and a write end, with blocking, O_NONBLOCK,
// PIPE_BUF atomicity and EPIPE/SIGPIPE once every reader is gone.
import LinuxABI

final class Pipe: @unchecked Sendable {
    static let atomicLimit = 4096  // PIPE_BUF
    nonisolated(unsafe) static var counter: UInt64 = 0
    let number: UInt64
    let lock = Lock()
    var buffer: [UInt8] = []
    var head = 0
    var capacity = 65536
    var readers = 0
    var writers = 0
    /// Notified when the read side may have become readable (data, last writer gone), and the write
    /// side when it may have become writable (room, last reader gone); poll and epoll watch these too.
    let readSide = ReadinessQueue()
    let writeSide = ReadinessQueue()

    init() {
        number = Inode.numberLock.withLock { Pipe.counter += 1; return Pipe.counter + 100_000 }
    }

    var count: Int { buffer.count - head }
}

final class PipeDescription: FileDescription, @unchecked Sendable {
    let pipe: Pipe
    let readEnd: Bool

    init(pipe: Pipe, readEnd: Bool, flags: Int) {
        self.pipe = pipe
        self.readEnd = readEnd
        super.init(flags: flags, dentry: nil)
        pipe.lock.withLock { if readEnd { pipe.readers += 1 } else { pipe.writers += 1 } }
    }

    override func release() {
        pipe.lock.withLock { if readEnd { pipe.readers -= 1 } else { pipe.writers -= 1 } }
        readinessQueue.notifyReleased(self)
        pipe.readSide.notify(PollEvents.POLLIN | PollEvents.POLLHUP)
        pipe.writeSide.notify(PollEvents.POLLOUT | PollEvents.POLLERR)
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readEnd else { throw Errno.EBADF }
        if at != nil { throw Errno.ESPIPE }
        let want = buffers.reduce(0) { $0 + $1.count }
        if want == 0 { return 0 }
        var got = 0
        try task.block(on: [pipe.readSide.waiters]) { () throws(Errno) -> Bool in
            try pipe.lock.withLock { () throws(Errno) -> Bool in
                if pipe.count == 0 {
                    if pipe.writers == 0 { return true }
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
                for b in buffers {
                    let n = min(b.count, pipe.count)
                    if n == 0 { break }
                    pipe.buffer.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + pipe.head, byteCount: n) }
                    pipe.head += n
                    got += n
                }
                if pipe.head > 65536 || pipe.head == pipe.buffer.count {
                    pipe.buffer.removeFirst(pipe.head); pipe.head = 0
                }
                return true
            }
        }
        if got > 0 { pipe.writeSide.notify(PollEvents.POLLOUT) }
        return got
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard !readEnd else { throw Errno.EBADF }
        if at != nil { throw Errno.ESPIPE }
        var data: [UInt8] = []
        for b in buffers { data.append(contentsOf: b) }
        if data.isEmpty { return 0 }
        var written = 0
        while written < data.count {
            do {
                try task.block(on: [pipe.writeSide.waiters]) { () throws(Errno) -> Bool in
                    try pipe.lock.withLock { () throws(Errno) -> Bool in
                        if pipe.readers == 0 { throw Errno.EPIPE }
                        let room = pipe.capacity - pipe.count
                        let remaining = data.count - written
                        // Writes of at most PIPE_BUF bytes go in whole or not at all.
                        if room <= 0 || (remaining <= Pipe.atomicLimit && room < remaining) {
                            if nonBlocking { throw Errno.EAGAIN }
                            return false
                        }
                        let n = min(room, remaining)
                        pipe.buffer.append(contentsOf: data[written..<(written + n)])
                        written += n
                        return true
                    }
                }
            } catch {
                if error == .EPIPE {
                    task.queueSignal(PendingSignal(signal: Signal.SIGPIPE.rawValue, code: 0, senderPID: task.threadGroup.pid))
                    if written > 0 { pipe.readSide.notify(PollEvents.POLLIN); return written }
                    throw error
                }
                if written > 0 && (error == .EAGAIN || error == .ERESTARTSYS) { pipe.readSide.notify(PollEvents.POLLIN); return written }
                throw error
            }
            pipe.readSide.notify(PollEvents.POLLIN)
        }
        return written
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0c, inode: pipe.number, mode: FileMode.S_IFIFO | 0o600, nlink: 1, blockSize: 4096)
    }

    override func readiness() -> (Bool, Bool, Bool) {
        pipe.lock.withLock {
            if readEnd { return (pipe.count > 0 || pipe.writers == 0, false, pipe.writers == 0) }
            return (false, pipe.readers == 0 || pipe.count < pipe.capacity, pipe.readers == 0)
        }
    }

    /// Linux's pipe poll: the read end is readable with data and hung up without writers; the write end is
    /// writable while a PIPE_BUF write fits and in error without readers.
    override func pollEvents(task: Task?) -> UInt32 {
        pipe.lock.withLock {
            var e: UInt32 = 0
            if readEnd {
                if pipe.count > 0 { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
                if pipe.writers == 0 { e |= PollEvents.POLLHUP }
            } else {
                // Writable means a write of PIPE_BUF bytes would not block (Linux: a free page slot).
                if pipe.capacity - pipe.count >= min(Pipe.atomicLimit, pipe.capacity) { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
                if pipe.readers == 0 { e |= PollEvents.POLLERR }
            }
            return e
        }
    }

    override var readinessQueue: ReadinessQueue { readEnd ? pipe.readSide : pipe.writeSide }

    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        if request == IoctlRequests.FIONREAD {
            try task.mm.write(argument, Int32(pipe.lock.withLock { pipe.count }))
            return 0
        }
        throw Errno.ENOTTY
    }
}
