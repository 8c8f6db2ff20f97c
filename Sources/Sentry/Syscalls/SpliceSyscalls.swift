// splice(2), tee(2), vmsplice(2) and sendfile(2): bytes moved between a pipe and another file (or user
// memory) by the Sentry. One side of splice must be a pipe: a Sentry pipe, whose buffer is read in place
// (peeked, then consumed by what the other side took, so a short write loses nothing), or a host FIFO
// given as stdio, which is read and written like any stream.
import Glibc
import LinuxABI

extension Kernel {
    /// Linux caps one transfer at MAX_RW_COUNT.
    static let maxTransfer = 0x7fff_f000

    /// `rawLength` is the app's size_t: a file side refuses one that is negative as ssize_t (EINVAL).
    func splice(_ task: Task, input: Int32, inputOffset: UInt64, output: Int32, outputOffset: UInt64,
                rawLength: UInt64, flags: UInt32) throws(Errno) -> Int {
        if rawLength == 0 { return 0 }
        let length = Int(min(rawLength, UInt64(Kernel.maxTransfer)))
        guard flags & ~SpliceFlags.all == 0 else { throw Errno.EINVAL }
        let src = try task.fdTable.get(input), dst = try task.fdTable.get(output)
        guard src.readable, dst.writable else { throw Errno.EBADF }
        let srcPipe = src.isSplicePipe, dstPipe = dst.isSplicePipe
        guard srcPipe || dstPipe else { throw Errno.EINVAL }
        if srcPipe && inputOffset != 0 { throw Errno.ESPIPE }
        if dstPipe && outputOffset != 0 { throw Errno.ESPIPE }
        let flagNonBlocking = flags & SpliceFlags.SPLICE_F_NONBLOCK != 0
        if let from = src as? PipeDescription, let to = dst as? PipeDescription {
            guard from.pipe !== to.pipe else { throw Errno.EINVAL }
            let nonBlocking = flagNonBlocking || from.nonBlocking || to.nonBlocking
            return try Kernel.pipeToPipe(task, from, to, length: length, consume: true, nonBlocking: nonBlocking)
        }
        if srcPipe {
            // A pipe into a file: the file's own rules (no O_APPEND, an offset only where it can seek).
            guard dst.flags & OpenFlags.O_APPEND == 0, dst.isSpliceable, rawLength <= UInt64(Int.max) else { throw Errno.EINVAL }
            let at = try readSpliceOffset(task, outputOffset, of: dst)
            let n = try drainPipe(task, src, into: dst, at: at, length: length,
                                  nonBlocking: flagNonBlocking || src.nonBlocking)
            if let a = at { try task.mm.write(outputOffset, a + Int64(n)) }
            return n
        }
        guard src.isSpliceable, rawLength <= UInt64(Int.max) else { throw Errno.EINVAL }
        let at = try readSpliceOffset(task, inputOffset, of: src)
        let n = try fillPipe(task, dst, from: src, at: at, length: length, nonBlocking: flagNonBlocking || dst.nonBlocking)
        if let a = at { try task.mm.write(inputOffset, a + Int64(n)) }
        return n
    }

    func tee(_ task: Task, input: Int32, output: Int32, length: Int, flags: UInt32) throws(Errno) -> Int {
        if length == 0 { return 0 }
        guard flags & ~SpliceFlags.all == 0 else { throw Errno.EINVAL }
        let src = try task.fdTable.get(input), dst = try task.fdTable.get(output)
        guard src.readable, dst.writable else { throw Errno.EBADF }
        // Host FIFOs cannot be read without consuming: only Sentry pipes can be tee'd.
        guard let from = src as? PipeDescription, let to = dst as? PipeDescription, from.pipe !== to.pipe else { throw Errno.EINVAL }
        let nonBlocking = flags & SpliceFlags.SPLICE_F_NONBLOCK != 0 || from.nonBlocking || to.nonBlocking
        return try Kernel.pipeToPipe(task, from, to, length: length, consume: false, nonBlocking: nonBlocking)
    }

    /// vmsplice(2): user memory into a pipe's write end, or out of its read end. Only SPLICE_F_NONBLOCK
    /// makes it non-blocking (a pipe's O_NONBLOCK does not, as on Linux).
    func vmsplice(_ task: Task, fd: Int32, iovecs: UInt64, count: Int, flags: UInt32) throws(Errno) -> Int {
        let file = try task.fdTable.get(fd)
        guard flags & ~SpliceFlags.all == 0 else { throw Errno.EINVAL }
        guard file.isSplicePipe else { throw Errno.EBADF }
        let nonBlocking = flags & SpliceFlags.SPLICE_F_NONBLOCK != 0
        let toPipe = file.writable
        let buffers = try iovecBuffers(task, iovecs, count, write: !toPipe)
        let total = buffers.reduce(0) { $0 + $1.count }
        if total == 0 { return 0 }
        guard let pipe = file as? PipeDescription else {
            return toPipe ? try file.write(buffers, at: nil, task: task) : try file.read(buffers, at: nil, task: task)
        }
        if toPipe {
            let room = try pipe.waitForRoom(task, nonBlocking: nonBlocking)
            var data: [UInt8] = []
            data.reserveCapacity(min(room, total))
            for b in buffers where data.count < room { data.append(contentsOf: b.prefix(room - data.count)) }
            return try pipe.append(data, task: task)
        }
        guard try pipe.waitForData(task, nonBlocking: nonBlocking) else { return 0 }
        let data = pipe.peek(total)
        var done = 0
        for b in buffers where done < data.count {
            let n = min(b.count, data.count - done)
            data.withUnsafeBytes { b.baseAddress!.copyMemory(from: $0.baseAddress! + done, byteCount: n) }
            done += n
        }
        pipe.consume(done)
        return done
    }

    /// sendfile(2): from a file that can seek (never a pipe or socket) to any writable file.
    func sendfile(_ task: Task, out: Int32, input: Int32, offsetAddress: UInt64, rawCount: UInt64) throws(Errno) -> Int {
        let src = try task.fdTable.get(input), dst = try task.fdTable.get(out)
        guard src.readable, dst.writable else { throw Errno.EBADF }
        if offsetAddress != 0 && src.isSplicePipe { throw Errno.ESPIPE }
        guard src.isSpliceSeekable, dst.isSpliceable, dst.flags & OpenFlags.O_APPEND == 0,
              rawCount <= UInt64(Int.max) else { throw Errno.EINVAL }
        let count = Int(min(rawCount, UInt64(Kernel.maxTransfer)))
        var at: Int64
        if let given = try readSpliceOffset(task, offsetAddress, of: src) { at = given } else { at = try src.seek(0, whence: SeekWhence.SEEK_CUR) }
        let start = at
        var total = 0
        defer {
            // The offset argument, or the input's own offset, moves by what reached the output.
            if offsetAddress != 0 { try? task.mm.write(offsetAddress, start + Int64(total)) }
            else if total > 0 { _ = try? src.seek(start + Int64(total), whence: SeekWhence.SEEK_SET) }
        }
        if dst.isSplicePipe {
            total = try fillPipe(task, dst, from: src, at: at, length: count, nonBlocking: dst.nonBlocking)
            return total
        }
        var buffer = [UInt8](repeating: 0, count: min(max(count, 0), 1 << 17))
        while total < count {
            let want = min(buffer.count, count - total)
            let n = try buffer.withMutableBytes { (b) throws(Errno) -> Int in
                try src.read([UnsafeMutableRawBufferPointer(rebasing: b[0..<want])], at: at, task: task)
            }
            if n == 0 { break }
            let written: Int
            do {
                written = try buffer.withMutableBytes { (b) throws(Errno) -> Int in
                    try dst.write([UnsafeMutableRawBufferPointer(rebasing: b[0..<n])], at: nil, task: task)
                }
            } catch {
                if total > 0 && (error == .EAGAIN || error == .ERESTARTSYS) { break }
                throw error
            }
            total += written
            at += Int64(written)
            if written < n { break }
        }
        return total
    }

    /// IN_ACCESS on the file bytes came from and IN_MODIFY on the one they went to (pipes have no watches).
    func notifyTransfer(_ task: Task, input: Int32, output: Int32) {
        if let f = try? task.fdTable.get(input) { FSNotify.file(f, InotifyABI.IN_ACCESS) }
        if let f = try? task.fdTable.get(output) { FSNotify.file(f, InotifyABI.IN_MODIFY) }
    }

    /// The offset an `loff_t *` argument holds (nil for NULL); EINVAL for a file that cannot seek or a
    /// negative offset.
    private func readSpliceOffset(_ task: Task, _ address: UInt64, of file: FileDescription) throws(Errno) -> Int64? {
        guard address != 0 else { return nil }
        guard file.isSpliceSeekable else { throw Errno.EINVAL }
        let value = try task.mm.read(address, as: Int64.self)
        guard value >= 0 else { throw Errno.EINVAL }
        return value
    }

    /// A host pipe on either side: one read into a bounce buffer (at most 64 KiB), then one write of it.
    private func copyThroughBuffer(_ task: Task, from src: FileDescription, at srcAt: Int64?, to dst: FileDescription,
                                   at dstAt: Int64?, length: Int) throws(Errno) -> Int {
        var buffer = [UInt8](repeating: 0, count: min(length, 1 << 16))
        let n = try buffer.withMutableBytes { (b) throws(Errno) -> Int in try src.read([b], at: srcAt, task: task) }
        if n == 0 { return 0 }
        return try buffer.withMutableBytes { (b) throws(Errno) -> Int in
            try dst.write([UnsafeMutableRawBufferPointer(rebasing: b[0..<n])], at: dstAt, task: task)
        }
    }

    /// Bytes from a pipe (Sentry or host) into `dst`: the Sentry pipe's bytes are peeked and only what
    /// `dst` took is consumed.
    private func drainPipe(_ task: Task, _ src: FileDescription, into dst: FileDescription, at: Int64?, length: Int,
                           nonBlocking: Bool) throws(Errno) -> Int {
        guard let pipe = src as? PipeDescription else {
            return try copyThroughBuffer(task, from: src, at: nil, to: dst, at: at, length: length)
        }
        guard try pipe.waitForData(task, nonBlocking: nonBlocking) else { return 0 }
        var data = pipe.peek(length)
        let written = try data.withMutableBytes { (b) throws(Errno) -> Int in try dst.write([b], at: at, task: task) }
        pipe.consume(written)
        return written
    }

    /// Bytes of `src` (at `at`, or at its own offset) into a pipe: at most what the pipe has room for.
    private func fillPipe(_ task: Task, _ dst: FileDescription, from src: FileDescription, at: Int64?, length: Int,
                          nonBlocking: Bool) throws(Errno) -> Int {
        guard let pipe = dst as? PipeDescription else {
            return try copyThroughBuffer(task, from: src, at: at, to: dst, at: nil, length: length)
        }
        let room = try pipe.waitForRoom(task, nonBlocking: nonBlocking)
        var buffer = [UInt8](repeating: 0, count: min(length, room))
        // A file that can seek is read at an explicit position and its offset moved by what the pipe took,
        // so bytes never leave the file without entering the pipe.
        let seekable = at == nil && src.isSpliceSeekable
        let position = seekable ? try src.seek(0, whence: SeekWhence.SEEK_CUR) : at
        let n = try buffer.withMutableBytes { (b) throws(Errno) -> Int in try src.read([b], at: position, task: task) }
        if n == 0 { return 0 }
        let taken = try pipe.append(Array(buffer[0..<n]), all: position == nil, task: task)
        if seekable, let position { _ = try src.seek(position + Int64(taken), whence: SeekWhence.SEEK_SET) }
        return taken
    }

    /// splice and tee between two Sentry pipes, under both pipes' locks (taken in pipe-number order).
    static func pipeToPipe(_ task: Task, _ from: PipeDescription, _ to: PipeDescription, length: Int, consume: Bool,
                           nonBlocking: Bool) throws(Errno) -> Int {
        let a = from.pipe, b = to.pipe
        let (first, second) = a.number < b.number ? (a, b) : (b, a)
        var moved = 0
        try task.raisingSIGPIPE { () throws(Errno) in try task.block(on: [a.readSide.waiters, b.writeSide.waiters]) { () throws(Errno) -> Bool in
            try first.lock.withLock { () throws(Errno) -> Bool in
                try second.lock.withLock { () throws(Errno) -> Bool in
                    // Like Linux: wait for input first (end of file is 0), then for room in the output.
                    if a.count == 0 {
                        if a.writers == 0 { return true }
                        if nonBlocking { throw Errno.EAGAIN }
                        return false
                    }
                    if b.readers == 0 { throw Errno.EPIPE }
                    let room = b.capacity - b.count
                    if room <= 0 {
                        if nonBlocking { throw Errno.EAGAIN }
                        return false
                    }
                    moved = min(length, a.count, room)
                    b.buffer.append(contentsOf: a.buffer[a.head..<(a.head + moved)])
                    if consume { a.discard(moved) }
                    return true
                }
            }
        } }
        if moved > 0 {
            b.readSide.notify(PollEvents.POLLIN)
            if consume { a.writeSide.notify(PollEvents.POLLOUT) }
        }
        return moved
    }
}

extension Task {
    /// Runs a pipe operation; EPIPE also raises SIGPIPE, as a write to a pipe without readers does.
    func raisingSIGPIPE<T>(_ body: () throws(Errno) -> T) throws(Errno) -> T {
        do { return try body() } catch {
            if error == .EPIPE { queueSignal(PendingSignal(signal: Signal.SIGPIPE.rawValue, code: 0, senderPID: threadGroup.pid)) }
            throw error
        }
    }
}

extension FileDescription {
    /// A pipe for splice's purposes: a Sentry pipe, or a host FIFO given to the sandbox as stdio.
    var isSplicePipe: Bool {
        if self is PipeDescription { return true }
        guard self is HostFileDescription, let st = try? stat() else { return false }
        return st.mode & FileMode.S_IFMT == FileMode.S_IFIFO
    }

    /// Files splice can read or write: regular files, character devices, sockets and pipes (not
    /// directories or event files, which Linux refuses with EINVAL).
    var isSpliceable: Bool {
        guard let st = try? stat() else { return false }
        let type = st.mode & FileMode.S_IFMT
        return type == FileMode.S_IFREG || type == FileMode.S_IFCHR || type == FileMode.S_IFSOCK || type == FileMode.S_IFIFO
    }

    /// Files read at a given position (pread): regular files and character devices.
    var isSpliceSeekable: Bool {
        if let host = self as? HostFileDescription { return host.seekable }
        guard let st = try? stat() else { return false }
        let type = st.mode & FileMode.S_IFMT
        return type == FileMode.S_IFREG || type == FileMode.S_IFCHR
    }
}

extension Pipe {
    /// Drops `n` bytes from the front (lock held).
    func discard(_ n: Int) {
        head += min(n, count)
        if head > 65536 || head == buffer.count { buffer.removeFirst(head); head = 0 }
    }
}

extension PipeDescription {
    /// Waits until the pipe holds bytes (true) or is empty with no writer left (false: end of file).
    func waitForData(_ task: Task, nonBlocking: Bool) throws(Errno) -> Bool {
        var eof = false
        try task.block(on: [pipe.readSide.waiters]) { () throws(Errno) -> Bool in
            try pipe.lock.withLock { () throws(Errno) -> Bool in
                if pipe.count > 0 { return true }
                if pipe.writers == 0 { eof = true; return true }
                if nonBlocking { throw Errno.EAGAIN }
                return false
            }
        }
        return !eof
    }

    /// Waits until the pipe has room and returns how much; EPIPE (and SIGPIPE) once no reader is left.
    func waitForRoom(_ task: Task, nonBlocking: Bool) throws(Errno) -> Int {
        var room = 0
        try task.raisingSIGPIPE { () throws(Errno) in
            try task.block(on: [pipe.writeSide.waiters]) { () throws(Errno) -> Bool in
                try pipe.lock.withLock { () throws(Errno) -> Bool in
                    if pipe.readers == 0 { throw Errno.EPIPE }
                    room = pipe.capacity - pipe.count
                    if room > 0 { return true }
                    if nonBlocking { throw Errno.EAGAIN }
                    return false
                }
            }
        }
        return room
    }

    /// Up to `n` bytes from the front of the pipe, left in it.
    func peek(_ n: Int) -> [UInt8] {
        pipe.lock.withLock { Array(pipe.buffer[pipe.head..<(pipe.head + min(n, pipe.count))]) }
    }

    /// Removes `n` bytes that were peeked and delivered, and tells writers there is room.
    func consume(_ n: Int) {
        guard n > 0 else { return }
        pipe.lock.withLock { pipe.discard(n) }
        pipe.writeSide.notify(PollEvents.POLLOUT)
    }

    /// Appends bytes read for the pipe: as many as fit now (another writer may have taken room since
    /// `waitForRoom`), or with `all` every one (bytes read from a stream cannot be put back, so the pipe
    /// may briefly hold more than its capacity); EPIPE when the last reader went meanwhile.
    func append(_ data: [UInt8], all: Bool = false, task: Task) throws(Errno) -> Int {
        let n = try task.raisingSIGPIPE { () throws(Errno) -> Int in
            try pipe.lock.withLock { () throws(Errno) -> Int in
                if pipe.readers == 0 { throw Errno.EPIPE }
                let n = all ? data.count : min(data.count, max(0, pipe.capacity - pipe.count))
                pipe.buffer.append(contentsOf: data[0..<n])
                return n
            }
        }
        if n > 0 { pipe.readSide.notify(PollEvents.POLLIN) }
        return n
    }
}

extension SyscallTable {
    func registerSpliceSyscalls() {
        register(SyscallNumber.splice) { (t, a) throws(Errno) -> Int in
            let n = try t.kernel.splice(t, input: a.int0, inputOffset: a.a1, output: a.int2, outputOffset: a.a3,
                                        rawLength: a.a4, flags: UInt32(truncatingIfNeeded: a.a5))
            if n > 0 && FSNotify.active { t.kernel.notifyTransfer(t, input: a.int0, output: a.int2) }
            return n
        }
        register(SyscallNumber.tee) { (t, a) throws(Errno) -> Int in
            try t.kernel.tee(t, input: a.int0, output: a.int1, length: Int(min(a.a2, UInt64(Kernel.maxTransfer))),
                             flags: UInt32(truncatingIfNeeded: a.a3))
        }
        register(SyscallNumber.vmsplice) { (t, a) throws(Errno) -> Int in
            guard a.a2 <= 1024 else { throw Errno.EINVAL }
            return try t.kernel.vmsplice(t, fd: a.int0, iovecs: a.a1, count: Int(a.a2), flags: UInt32(truncatingIfNeeded: a.a3))
        }
        register(SyscallNumber.sendfile) { (t, a) throws(Errno) -> Int in
            let n = try t.kernel.sendfile(t, out: a.int0, input: a.int1, offsetAddress: a.a2, rawCount: a.a3)
            if n > 0 && FSNotify.active { t.kernel.notifyTransfer(t, input: a.int1, output: a.int0) }
            return n
        }
    }
}
