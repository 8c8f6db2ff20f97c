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
    let readable = WaitQueue()
    let writable = WaitQueue()

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
        pipe.readable.notifyAll()
        pipe.writable.notifyAll()
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        guard readEnd else { throw Errno.EBADF }
        if at != nil { throw Errno.ESPIPE }
        let want = buffers.reduce(0) { $0 + $1.count }
        if want == 0 { return 0 }
        var got = 0
        try task.block(on: [pipe.readable]) { () throws(Errno) -> Bool in
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
        if got > 0 { pipe.writable.notifyAll() }
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
                try task.block(on: [pipe.writable]) { () throws(Errno) -> Bool in
                    try pipe.lock.withLock { () throws(Errno) -> Bool in
                        if pipe.readers == 0 { throw Errno.EPIPE }
                        let room = pipe.capacity - pipe.count
                        let remaining = data.count - written
                        // Writes of at most PIPE_BUF bytes go in whole or not at all.
                        if room == 0 || (remaining <= Pipe.atomicLimit && room < remaining) {
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
                    if written > 0 { pipe.readable.notifyAll(); return written }
                    throw error
                }
                if written > 0 && (error == .EAGAIN || error == .ERESTARTSYS) { pipe.readable.notifyAll(); return written }
                throw error
            }
            pipe.readable.notifyAll()
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

    override func ioctl(_ request: UInt64, _ argument: UInt64, task: Task) throws(Errno) -> Int {
        if request == IoctlRequests.FIONREAD {
            try task.mm.write(argument, Int32(pipe.lock.withLock { pipe.count }))
            return 0
        }
        throw Errno.ENOTTY
    }
}
