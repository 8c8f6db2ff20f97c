// One app thread, driven by one dedicated host thread (ptrace is per thread): the run loop.
import Glibc
import LinuxABI
import Platform

/// Credentials of a task, as the app sees them.
struct Credentials {
    var uid: UInt32 = 0, euid: UInt32 = 0, suid: UInt32 = 0, fsuid: UInt32 = 0
    var gid: UInt32 = 0, egid: UInt32 = 0, sgid: UInt32 = 0, fsgid: UInt32 = 0
    var groups: [UInt32] = []
}

/// Capability sets as the app sees them (bit N = capability N). Root in the container starts with the full
/// sets; they limit what the Sentry lets the app do, and never reach the host.
struct CapabilitySets {
    var effective: UInt64
    var permitted: UInt64
    var inheritable: UInt64 = 0
    /// The bounding set (what exec may grant, PR_CAPBSET_*) and the ambient set (kept across exec, PR_CAP_AMBIENT).
    var bounding: UInt64 = all
    var ambient: UInt64 = 0
    static let all: UInt64 = (1 << 41) - 1
    static func initial(uid: UInt32) -> CapabilitySets {
        uid == 0 ? CapabilitySets(effective: all, permitted: all) : CapabilitySets(effective: 0, permitted: 0)
    }
}

/// Where a process stands in the file tree.
final class FSContext: @unchecked Sendable {
    var root: Dentry
    var cwd: Dentry
    var umask: UInt32
    init(root: Dentry, cwd: Dentry, umask: UInt32) { self.root = root; self.cwd = cwd; self.umask = umask }
    func copy() -> FSContext { FSContext(root: root, cwd: cwd, umask: umask) }
}

/// One app thread.
final class Task: @unchecked Sendable {
    unowned let kernel: Kernel
    let tid: Int32
    let threadGroup: ThreadGroup
    var mm: MemoryManager
    var fdTable: FDTable
    var fs: FSContext
    var credentials: Credentials
    var capabilities: CapabilitySets
    /// seccomp mode and filters, no_new_privs (Kernel/AppSeccomp.swift); fork and clone copy it.
    var security = TaskSecurity()
    /// PR_SET_PDEATHSIG: sent to this task when its parent process exits.
    var parentDeathSignal: Int32 = 0
    var registers = Registers()
    var name: String = ""
    var signalMask = SignalSet()
    var pendingSignals: [PendingSignal] = []
    /// Sleeps of blocking syscalls; woken by events and by signals.
    let waiter = Waiter()
    var clearChildTID: UInt64 = 0
    /// FP state saved for each signal frame in flight (restored by rt_sigreturn).
    var savedFPStates: [[UInt8]] = []
    /// Set by handlers that replace the registers (execve, rt_sigreturn): no return value is written.
    var registersReplaced = false
    /// Set when the task must stop running app code.
    var exitRequested = false
    /// A vfork parent sleeps on this until the child execs or exits.
    var vforkParent: Task?
    var vforkDone = false
    var robustList: UInt64 = 0
    /// CPU time used by this thread's app code and by the Sentry on its behalf (Time/CPUClocks.swift).
    let cpuClock = TaskCPUClock()
    /// The thread's own exit status (exit(2)); the process's comes from exit_group or a fatal signal.
    var exitStatus: WaitStatus?
    /// An ERESTART* code left by the last syscall, resolved when signals are delivered.
    var restartCode: Int32?
    /// The last fault address that was answered by re-mapping (to tell a stale mirror from a real fault).
    private var lastRemappedFault: UInt64 = 0
    /// rt_sigsuspend's mask to restore once the handler it waited for returns.
    var savedMaskForSuspend: SignalSet?
    /// sigaltstack: (base, size); base 0 when disabled. Frames do not use it yet.
    var altStack: (UInt64, UInt64) = (0, 0)

    private(set) var context: Context?
    private(set) var mirror: PlatformMirror?

    init(kernel: Kernel, tid: Int32, threadGroup: ThreadGroup, mm: MemoryManager, fdTable: FDTable, fs: FSContext,
         credentials: Credentials) {
        self.kernel = kernel; self.tid = tid; self.threadGroup = threadGroup; self.mm = mm
        self.fdTable = fdTable; self.fs = fs; self.credentials = credentials
        self.capabilities = CapabilitySets.initial(uid: credentials.euid)
        fdTable.addUser()
        mm.addUser()
    }

    // MARK: Host thread

    /// Starts the host thread that runs this task.
    func startHostThread() {
        let box = Unmanaged.passRetained(self)
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setstacksize(&attr, 1 << 20)
        var thread = pthread_t()
        let r = pthread_create(&thread, &attr, { arg in
            let task = Unmanaged<Task>.fromOpaque(arg!).takeRetainedValue()
            task.run()
            return nil
        }, box.toOpaque())
        pthread_attr_destroy(&attr)
        if r != 0 {
            box.release()
            kernel.log("could not start a host thread for task \(tid): error \(r)")
            exitGroup(.signaled(9, core: false))
            finishExit()
        } else {
            pthread_detach(thread)
        }
    }

    /// The run loop: switch to the app, serve what comes back, deliver signals; until the task exits.
    private func run() {
        do {
            context = try kernel.platform.newContext()
            try installAddressSpace()
        } catch {
            kernel.log("task \(tid): cannot start on the platform: \(error)")
            exitGroup(.signaled(9, core: false))
            finishExit()
            return
        }
        while true {
            kernel.waitWhilePaused(self)  // `runsc pause`: no app code runs until resume (or SIGKILL)
            deliverSignals()
            if exitRequested { break }
            guard let context, let mirror else { break }
            do { try mm.enterApp(mirror) } catch {
                kernel.log("task \(tid): bringing the address space up to date failed: \(error)")
                exitGroup(.signaled(9, core: false)); continue
            }
            let event = context.switchToApp(mirror.addressSpace, &registers)
            mm.leaveApp(mirror)
            if kernel.config.debug { kernel.log("task \(tid): event \(event) rip=0x\(String(registers.rip, radix: 16))") }
            switch event {
            case .syscall:
                kernel.syscalls.dispatch(self)
            case .fault(let info):
                handleFault(info)
            case .interrupted:
                continue
            case .addressSpaceLost(let why):
                kernel.log("task \(tid): address space lost: \(why)")
                exitGroup(.signaled(9, core: false))
            }
        }
        finishExit()
    }

    /// Creates this task's platform address space and mirrors its memory into it.
    func installAddressSpace() throws {
        if let old = mirror {
            mm.detach(old)
            old.addressSpace.release()
        }
        let context = self.context
        let m = PlatformMirror(addressSpace: try kernel.platform.newAddressSpace(), interrupt: { context?.interrupt() })
        cpuClock.attach(m.addressSpace)
        try mm.attach(m)
        mirror = m
    }

    /// Switches to a new memory manager (execve).
    func replaceMemory(_ newMM: MemoryManager) throws {
        if let old = mirror {
            mm.detach(old)
            old.addressSpace.release()
            mirror = nil
        }
        mm.dropUser()
        newMM.addUser()
        mm = newMM
        try installAddressSpace()
    }

    private func handleFault(_ info: FaultInfo) {
        let SEGV_MAPERR: Int32 = 1, SEGV_ACCERR: Int32 = 2
        if info.signal == Signal.SIGSEGV.rawValue, let mirror {
            // Another thread changed the mappings: replay them and retry.
            if mm.hasPending(mirror) { return }
            // A write to copy-on-write memory: copy the page and retry.
            if info.code == SEGV_ACCERR, info.access != .execute, mm.handleWriteFault(info.address, mirror: mirror) { return }
            // A "not mapped" fault inside a VMA means the mirror lost a mapping (rare: it is built eagerly):
            // map it once and retry. A second fault at the same address is real.
            if info.code == SEGV_MAPERR, info.address != lastRemappedFault, mm.remap(info.address, mirror: mirror) {
                lastRemappedFault = info.address
                return
            }
        }
        lastRemappedFault = 0
        queueSignal(PendingSignal(signal: info.signal, code: info.code, address: info.address, forced: true))
    }

    // MARK: Blocking

    /// Runs a host read/write on a non-seekable host descriptor (a pipe or tty handed to the sandbox)
    /// without blocking the task past a signal: polls with a timeout and checks for signals between.
    func blockingHostIO(fd: Int32, forWrite: Bool, nonBlocking: Bool, _ op: () -> Int) throws(Errno) -> Int {
        while true {
            var p = pollfd(fd: fd, events: Int16(forWrite ? POLLOUT : POLLIN), revents: 0)
            let r = poll(&p, 1, nonBlocking ? 0 : 50)
            if r > 0 {
                let n = op()
                if n >= 0 { return n }
                let e = errno
                if e == EAGAIN && !nonBlocking { continue }
                throw Errno(e)
            }
            if r == 0 && nonBlocking { throw Errno.EAGAIN }
            if r < 0 && errno != EINTR { throw Errno(errno) }
            if hasDeliverableSignal() { throw Errno.ERESTARTSYS }
        }
    }

    /// Sleeps until `ready()` holds, the deadline passes (ETIMEDOUT), or a signal arrives (ERESTARTSYS).
    /// `queues` are notified whenever the condition may have changed.
    func block(on queues: [WaitQueue], deadline: UInt64? = nil, until ready: () throws(Errno) -> Bool) throws(Errno) {
        for q in queues { q.add(waiter) }
        defer { for q in queues { q.remove(waiter) } }
        while true {
            if try ready() { return }
            if hasDeliverableSignal() { throw Errno.ERESTARTSYS }
            if let deadline, monotonicNanoseconds() >= deadline { throw Errno.ETIMEDOUT }
            waiter.wait(deadline: deadline)
        }
    }

    // MARK: Signals

    func queueSignal(_ s: PendingSignal) {
        if !s.forced && kernel.initIgnores(threadGroup, s) { return }
        kernel.taskLock.withLock {
            if !s.forced && s.signal < 32 && pendingSignals.contains(where: { $0.signal == s.signal }) { return }
            pendingSignals.append(s)
        }
        wake()
    }

    /// Makes the task notice new signals: wakes a sleep and interrupts app code.
    func wake() {
        waiter.notify()
        context?.interrupt()
    }

    func hasDeliverableSignal() -> Bool {
        kernel.taskLock.withLock {
            if exitRequested { return true }
            let all = pendingSignals + threadGroup.pendingSignals
            return all.contains { s in
                s.signal == 9 || s.forced || !signalMask.contains(Signal(s.signal))
            }
        }
    }

    /// Delivers the first deliverable pending signal, if any: runs its default action or sets up a handler frame.
    func deliverSignals() {
        while true {
            let next: PendingSignal? = kernel.taskLock.withLock {
                if let i = pendingSignals.firstIndex(where: { $0.forced || $0.signal == 9 || !signalMask.contains(Signal($0.signal)) }) {
                    return pendingSignals.remove(at: i)
                }
                if let i = threadGroup.pendingSignals.firstIndex(where: { $0.signal == 9 || !signalMask.contains(Signal($0.signal)) }) {
                    return threadGroup.pendingSignals.remove(at: i)
                }
                return nil
            }
            guard let sig = next else {
                if waitWhileStopped() { continue }
                restartSyscallIfPending(handlerFlags: nil)
                return
            }
            let action = threadGroup.handlers.lock.withLock { threadGroup.handlers.actions[Int(sig.signal)] }
            let signal = Signal(sig.signal)
            if sig.signal == 9 { exitGroup(.signaled(9, core: false)); return }
            if sig.signal == 19 { kernel.stopThreadGroup(threadGroup, signal: 19); continue }
            if action.handler == SignalConstants.SIG_IGN && !sig.forced { continue }
            if action.handler == SignalConstants.SIG_DFL || (sig.forced && action.handler == SignalConstants.SIG_IGN) {
                // init never takes a default action it did not ask for (a blocked signal queued earlier).
                if !sig.forced && sig.signal != 19 && kernel.isInit(threadGroup) { continue }
                switch signal.defaultAction {
                case .ignore, .continue: continue
                case .stop: kernel.stopThreadGroup(threadGroup, signal: sig.signal); continue
                case .terminate: exitGroup(.signaled(sig.signal, core: false)); return
                case .coreDump: exitGroup(.signaled(sig.signal, core: true)); return
                }
            }
            restartSyscallIfPending(handlerFlags: action.flags)
            if !kernel.signals.setupFrame(self, sig, action) {
                exitGroup(.signaled(Signal.SIGSEGV.rawValue, core: true))
            }
            return
        }
    }

    /// Job control: while the process is stopped, the thread sleeps here (SIGCONT or SIGKILL end it).
    /// Returns true if it slept, so pending signals are looked at again.
    private func waitWhileStopped() -> Bool {
        var slept = false
        while kernel.taskLock.withLock({ threadGroup.stopSignal != nil && !exitRequested &&
                                         !(pendingSignals + threadGroup.pendingSignals).contains { $0.signal == 9 } }) {
            slept = true
            waiter.wait(deadline: monotonicNanoseconds() + 100_000_000)
        }
        return slept
    }

    // MARK: Exit

    /// Ends the whole process with `status`.
    func exitGroup(_ status: WaitStatus) {
        kernel.exitThreadGroup(threadGroup, status: status)
    }

    /// Ends this thread (exit(2)); the process ends with this status if it was the last thread.
    func exitTask(status: WaitStatus) {
        kernel.taskLock.withLock {
            exitStatus = status
            exitRequested = true
        }
    }

    /// Runs on the task's own thread after its loop ends: releases its resources and reports to the parent.
    private func finishExit() {
        if robustList != 0 { kernel.futexes.releaseRobustList(task: self) }
        if clearChildTID != 0 {
            try? mm.write(clearChildTID, UInt32(0))
            kernel.futexes.wake(mm: mm, address: clearChildTID, count: 1)
        }
        if let m = mirror { mm.detach(m); m.addressSpace.release(); mirror = nil }
        context?.release()
        context = nil
        mm.dropUser()
        kernel.taskWillExit(self)  // CPU time, and the process's timers and SEM_UNDO if this is its last thread
        kernel.taskExited(self)
    }
}
