// signalfd(2): reads the reader's own pending signals that are in the file's mask, as signalfd_siginfo.
// Signals are queued by the existing machinery (Task.queueSignal / Kernel.sendSignal), which wakes the
// target task's waiter; a reader or poller blocked on that waiter re-checks the pending set.
import LinuxABI

extension Task {
    /// Removes and returns the first pending signal (thread's own first, then the process's) in `mask`.
    /// Forced signals (faults) are never taken: they must be delivered.
    func dequeuePendingSignal(in mask: SignalSet) -> PendingSignal? {
        kernel.taskLock.withLock {
            if let i = pendingSignals.firstIndex(where: { !$0.forced && mask.contains(Signal($0.signal)) }) {
                return pendingSignals.remove(at: i)
            }
            if let i = threadGroup.pendingSignals.firstIndex(where: { mask.contains(Signal($0.signal)) }) {
                return threadGroup.pendingSignals.remove(at: i)
            }
            return nil
        }
    }

    /// Whether a signal in `mask` is pending for this task or its process.
    func hasPendingSignal(in mask: SignalSet) -> Bool {
        kernel.taskLock.withLock {
            pendingSignals.contains { !$0.forced && mask.contains(Signal($0.signal)) }
                || threadGroup.pendingSignals.contains { mask.contains(Signal($0.signal)) }
        }
    }
}

final class SignalFileDescription: FileDescription, @unchecked Sendable {
    /// The signals this file reads; SIGKILL and SIGSTOP are never in it.
    private var maskBits: UInt64
    let number = Inode.allocateNumber()

    init(mask: SignalSet, flags: Int) {
        maskBits = mask.bits & ~SignalSet.unblockable.bits
        super.init(flags: OpenFlags.O_RDWR | (flags & OpenFlags.O_NONBLOCK), dentry: nil)
    }

    var mask: SignalSet {
        get { lock.withLock { SignalSet(bits: maskBits) } }
        set { lock.withLock { maskBits = newValue.bits & ~SignalSet.unblockable.bits } }
    }

    override func read(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int {
        let room = buffers.reduce(0) { $0 + $1.count }
        let size = SignalFDFlags.siginfoSize
        guard room >= size else { throw Errno.EINVAL }
        var out: [UInt8] = []
        // Wait for the first signal (the task's own waiter is woken whenever a signal is queued for it).
        try task.block(on: []) { () throws(Errno) -> Bool in
            if let s = task.dequeuePendingSignal(in: mask) { out += encode(s); return true }
            if nonBlocking { throw Errno.EAGAIN }
            return false
        }
        while out.count + size <= room, let s = task.dequeuePendingSignal(in: mask) { out += encode(s) }
        var done = 0
        out.withUnsafeBytes { src in
            for b in buffers where done < out.count {
                let n = min(b.count, out.count - done)
                b.baseAddress!.copyMemory(from: src.baseAddress! + done, byteCount: n)
                done += n
            }
        }
        return out.count
    }

    override func write(_ buffers: [UnsafeMutableRawBufferPointer], at: Int64?, task: Task) throws(Errno) -> Int { throw Errno.EINVAL }

    /// struct signalfd_siginfo (128 bytes).
    private func encode(_ s: PendingSignal) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: SignalFDFlags.siginfoSize)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: UInt32(bitPattern: s.signal), toByteOffset: 0, as: UInt32.self)   // ssi_signo
            p.storeBytes(of: s.code, toByteOffset: 8, as: Int32.self)                           // ssi_code
            p.storeBytes(of: UInt32(bitPattern: s.senderPID), toByteOffset: 12, as: UInt32.self) // ssi_pid
            p.storeBytes(of: s.senderUID, toByteOffset: 16, as: UInt32.self)                    // ssi_uid
            p.storeBytes(of: s.status, toByteOffset: 48, as: Int32.self)                        // ssi_status
            p.storeBytes(of: s.address, toByteOffset: 88, as: UInt64.self)                      // ssi_addr
        }
        return b
    }

    /// Readable when the poller itself has a matching signal pending. Signals wake the polling task
    /// directly, not through this file's queue, so epoll looks at signalfds on every wake-up.
    override func pollEvents(task: Task?) -> UInt32 {
        guard let task, task.hasPendingSignal(in: mask) else { return 0 }
        return PollEvents.POLLIN | PollEvents.POLLRDNORM
    }

    override func stat() throws(Errno) -> FileStat {
        FileStat(device: 0x0d, inode: number, mode: 0o600, nlink: 1, blockSize: 4096)
    }
}
