// The sandbox's kernel: task and process tables, the file tree, and the container's life cycle.
import Glibc
import GoferProtocol
import LinuxABI
import Platform

/// The Sentry: one per sandbox. See `SentryKernel` for how the boot role drives it.
public final class Kernel: SentryKernel, @unchecked Sendable {
    let config: SentryConfig
    let platform: Platform
    let memoryFile: MemoryFile
    let gofer: GoferClient
    let syscalls: SyscallTable
    let signals = SignalDelivery()
    let futexes = FutexTable()
    let sharedFileMappings = SharedFileMappings()
    /// Fires interval and POSIX timers (Time/TimerService.swift).
    let timerService = TimerService()
    /// System V IPC objects and POSIX message queues (IPC/SysVIPC.swift).
    let ipcNamespace = IPCNamespace()
    /// linux.sysctl over the modeled defaults: the IPC limits /proc/sys shows and IPC enforces (Kernel/Sysctls.swift).
    let sysctls: SysctlTable
    /// Per-user inotify instance and watch counts (IPC/Inotify.swift).
    let inotifyLimits = InotifyLimits()
    /// Every mount of the container, made at boot or by mount(2) (VFS/Mounts.swift).
    let mountTable = MountTable()
    /// Pseudo-terminals (FS/DevPTS.swift) and the bridges of host consoles to them (FS/ConsoleBridge.swift).
    let ptys = PTYRegistry()
    let consoleLock = Lock()
    var consoles: [ConsoleBridge] = []
    /// pause/resume and the pids limit, changed from the control socket (Kernel/SandboxControls.swift).
    let controls = SandboxControls()
    let bootTime = Timespec.now()
    let bootMonotonic = monotonicNanoseconds()
    /// The version string the app sees in uname and /proc/version: never the host's.
    static let release = "4.4.0"
    static let version = "#1 SMP Sun Jan 10 15:06:54 PST 2016"

    /// Protects the task and process tables, parent/child links and pending signals.
    let taskLock = Lock()
    private var tasks: [Int32: Task] = [:]
    private(set) var groups: [Int32: ThreadGroup] = [:]
    private var nextPID: Int32 = 1
    private(set) var initTask: Task?
    private var initGroup: ThreadGroup?
    private var initStatus: WaitStatus?
    private let done = Waiter()
    private var finished = false
    private var unimplementedReported = Set<Int>()
    /// Processes started by `exec(_:)`, kept (under taskLock) so their exit status can be asked for
    /// after the kernel has reaped them (they have no parent in the sandbox).
    var execGroups: [Int32: ThreadGroup] = [:]
    private let logLock = Lock()

    private(set) var rootDentry: Dentry!
    var hostname: String

    public init(config: SentryConfig, platform: Platform, memoryFile: MemoryFile) throws {
        self.config = config
        self.platform = platform
        self.memoryFile = memoryFile
        self.gofer = GoferClient(socket: config.goferSocket)
        self.syscalls = SyscallTable()
        self.hostname = config.hostname
        self.sysctls = SysctlTable(overrides: config.sysctl)
        controls.setPidsLimit(config.pidsLimit)
        ipcNamespace.apply(sysctls)
    }

    // MARK: Logging

    func log(_ message: String) {
        guard config.logFD >= 0 else { return }
        let line = "runsc-sentry: " + message + "\n"
        logLock.withLock { _ = line.withCString { Glibc.write(config.logFD, $0, strlen($0)) } }
    }

    /// Reports an unimplemented syscall once, by name.
    func reportUnimplemented(_ number: Int) {
        let first = logLock.withLock { unimplementedReported.insert(number).inserted }
        if first && (config.debug || config.strace) {
            log("unimplemented syscall \(syscallName(number)) (\(number)): returning ENOSYS")
        }
    }

    /// Names of the unimplemented syscalls the app has called so far.
    public var unimplementedSyscalls: [String] {
        logLock.withLock { unimplementedReported.sorted().map { syscallName($0) } }
    }

    // MARK: Life cycle

    public func prepare() throws {
        rootDentry = try buildMountTree()
        let group = ThreadGroup(pid: 1, parent: nil, handlers: SignalHandlers(), exitSignal: Signal.SIGCHLD.rawValue)
        group.rlimits = config.rlimits
        let mm = MemoryManager(file: memoryFile, minAddress: platform.minUserAddress, maxAddress: platform.maxUserAddress)
        let fdTable = FDTable()
        for (i, hostFD) in config.stdioFDs.enumerated() where config.consoleFD < 0 {
            let dup = Glibc.fcntl(hostFD, F_DUPFD_CLOEXEC, 3)
            guard dup >= 0, let file = HostFileDescription.stdio(takingOver: dup) else {
                throw SentryError("stdio descriptor \(hostFD) is not open")
            }
            _ = try? fdTable.set(Int32(i), file, closeOnExec: false)
        }
        var creds = Credentials()
        creds.uid = config.uid; creds.euid = config.uid; creds.suid = config.uid; creds.fsuid = config.uid
        creds.gid = config.gid; creds.egid = config.gid; creds.sgid = config.gid; creds.fsgid = config.gid
        creds.groups = config.additionalGids
        let fs = FSContext(root: rootDentry, cwd: rootDentry, umask: config.umask)
        if let (nofile, _) = config.rlimits[7] { fdTable.limit = Int32(clamping: nofile) }
        let task = Task(kernel: self, tid: 1, threadGroup: group, mm: mm, fdTable: fdTable, fs: fs, credentials: creds)
        group.tasks = [task]
        try applyPathRestrictions(task: task)  // linux.readonlyPaths, linux.maskedPaths (VFS/PathRestrictions.swift)
        if config.consoleFD >= 0 {
            let bridge = try attachConsole(hostFD: config.consoleFD, task: task)
            consoleLock.withLock { consoles.append(bridge) }
        }
        do {
            if let cwd = try? resolve(task: task, path: config.workingDirectory, follow: true), cwd.inode.isDirectoryInode {
                fs.cwd = cwd
            } else {
                throw SentryError("process.cwd \"\(config.workingDirectory)\" is not a directory in the container")
            }
            let path = try resolveExecutable(task: task, config.argv[0])
            try ExecLoader.load(task: task, path: path, argv: config.argv, envp: config.environment, into: mm)
            try applyAppLimits(to: task)  // capabilities, no_new_privs, seccomp (Kernel/Capabilities.swift)
        } catch let e as SentryError {
            throw e
        }
        taskLock.withLock {
            tasks[1] = task; groups[1] = group; nextPID = 2
            initTask = task; initGroup = group
        }
    }

    /// Finds argv[0] the way a shell would: as a path if it has a '/', else in $PATH of `environment`
    /// (the container's by default).
    func resolveExecutable(task: Task, _ name: String, environment: [String]? = nil) throws -> String {
        guard !name.isEmpty else { throw SentryError("process.args[0] is empty") }
        if name.contains("/") {
            do {
                let d = try resolve(task: task, path: name, follow: true)
                let st = try d.inode.stat()
                guard st.isRegular else { throw SentryError("\(name): not a regular file in the container") }
            } catch let e as Errno {
                throw SentryError("\(name): \(e == .ENOENT ? "no such file or directory in the container" : "cannot be opened (\(e))")")
            }
            return name
        }
        let pathVar = (environment ?? config.environment).first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in pathVar.split(separator: ":") {
            let candidate = (dir.hasSuffix("/") ? String(dir) : dir + "/") + name
            if let d = try? resolve(task: task, path: candidate, follow: true), let st = try? d.inode.stat(),
               st.isRegular, st.mode & 0o111 != 0 {
                return candidate
            }
        }
        throw SentryError("executable file \"\(name)\" not found in $PATH in the container")
    }

    public func start() throws {
        guard let t = taskLock.withLock({ initTask }) else { throw SentryError("start: the container was not prepared") }
        t.startHostThread()
    }

    public func wait() -> ExitStatus {
        while !taskLock.withLock({ finished }) { done.wait() }
        // The app's last words on a console must reach the host before the boot exits.
        for bridge in consoleLock.withLock({ consoles }) { bridge.drain(timeout: 1_000_000_000) }
        return (taskLock.withLock { initStatus } ?? .signaled(9, core: false)).exitStatus
    }

    public func signal(_ signal: Int32, allProcesses: Bool) throws {
        guard signal >= 1 && signal <= 64 else { throw SentryError("invalid signal \(signal): expected 1..64") }
        let targets: [ThreadGroup] = taskLock.withLock {
            allProcesses ? Array(groups.values) : (initGroup.map { [$0] } ?? [])
        }
        guard !targets.isEmpty else { throw SentryError("the container has no running processes") }
        for g in targets { sendSignal(to: g, PendingSignal(signal: signal, code: 0, fromOutside: true)) }
    }

    /// A signal from outside the sandbox to one process (the host-side waiter of an exec'd process
    /// forwards what it receives).
    public func signal(_ signal: Int32, process pid: Int32) throws {
        guard signal >= 1 && signal <= 64 else { throw SentryError("invalid signal \(signal): expected 1..64") }
        let target = taskLock.withLock { groups[pid].flatMap { $0.zombieStatus == nil ? $0 : nil } }
        guard let target else { throw SentryError("no process \(pid) in the container") }
        sendSignal(to: target, PendingSignal(signal: signal, code: 0, fromOutside: true))
    }

    public func processes() -> [(pid: Int32, command: String)] {
        taskLock.withLock {
            groups.values.filter { $0.zombieStatus == nil }.sorted { $0.pid < $1.pid }
                .map { ($0.pid, $0.leader?.name ?? "") }
        }
    }

    // MARK: Process table

    func allocatePID() -> Int32? {
        taskLock.withLock { () -> Int32? in
            // The pids limit (`linux.resources.pids.limit`, `runsc update --pids-limit`) counts threads too.
            guard tasks.count < 32768, controls.allowsTask(count: tasks.count) else { return nil }
            while tasks[nextPID] != nil || groups[nextPID] != nil { nextPID = nextPID >= 4_194_304 ? 2 : nextPID + 1 }
            let p = nextPID
            nextPID += 1
            return p
        }
    }

    func register(_ task: Task, newGroup: Bool) {
        taskLock.withLock {
            tasks[task.tid] = task
            if newGroup { groups[task.threadGroup.pid] = task.threadGroup }
        }
    }

    /// Enters an exec'd process into the tables, in the same critical section that checks init is still
    /// alive: a process registered after init's death would escape the kill of the namespace's orphans.
    func registerExecProcess(_ task: Task) -> Bool {
        taskLock.withLock {
            guard initTask != nil, initStatus == nil, !finished else { return false }
            tasks[task.tid] = task
            groups[task.threadGroup.pid] = task.threadGroup
            execGroups[task.threadGroup.pid] = task.threadGroup
            return true
        }
    }

    func group(_ pid: Int32) -> ThreadGroup? { taskLock.withLock { groups[pid] } }
    func task(_ tid: Int32) -> Task? { taskLock.withLock { tasks[tid] } }
    /// The tid of the task that sleeps on `waiter` (PI futex hand-over).
    func taskID(of waiter: Waiter) -> Int32? { taskLock.withLock { tasks.values.first { $0.waiter === waiter }?.tid } }
    var allGroups: [ThreadGroup] { taskLock.withLock { Array(groups.values) } }

    /// Job control: stops every thread of `group` and tells the parent (SIGCHLD with CLD_STOPPED, unless it
    /// asked not to be told with SA_NOCLDSTOP).
    func stopThreadGroup(_ group: ThreadGroup, signal: Int32) {
        let parent: ThreadGroup? = taskLock.withLock {
            guard group.stopSignal == nil, !group.exiting else { return nil }
            group.stopSignal = signal
            group.unreportedStop = true
            group.unreportedContinue = false
            return group.parent
        }
        guard let parent else { return }
        let flags = parent.handlers.lock.withLock { parent.handlers.actions[Int(Signal.SIGCHLD.rawValue)].flags }
        if flags & SignalConstants.SA_NOCLDSTOP == 0 {
            sendSignal(to: parent, PendingSignal(signal: Signal.SIGCHLD.rawValue, code: 5, senderPID: group.pid, status: signal))  // CLD_STOPPED
        }
        parent.childEvents.notifyAll()
    }

    /// SIGCONT: resumes a stopped process and tells the parent (CLD_CONTINUED).
    private func continueThreadGroup(_ group: ThreadGroup) {
        let (wasStopped, tasks, parent): (Bool, [Task], ThreadGroup?) = taskLock.withLock {
            // A SIGCONT discards pending stop signals.
            group.pendingSignals.removeAll { [19, 20, 21, 22].contains($0.signal) }
            for t in group.tasks { t.pendingSignals.removeAll { [19, 20, 21, 22].contains($0.signal) } }
            guard group.stopSignal != nil else { return (false, [], nil) }
            group.stopSignal = nil
            group.unreportedStop = false
            group.unreportedContinue = true
            return (true, group.tasks, group.parent)
        }
        guard wasStopped else { return }
        for t in tasks { t.wake() }
        if let parent {
            let flags = parent.handlers.lock.withLock { parent.handlers.actions[Int(Signal.SIGCHLD.rawValue)].flags }
            if flags & SignalConstants.SA_NOCLDSTOP == 0 {
                sendSignal(to: parent, PendingSignal(signal: Signal.SIGCHLD.rawValue, code: 6, senderPID: group.pid, status: 18))  // CLD_CONTINUED
            }
            parent.childEvents.notifyAll()
        }
    }

    /// Queues a signal for a process and wakes one of its threads.
    func sendSignal(to group: ThreadGroup, _ signal: PendingSignal) {
        if signal.signal == Signal.SIGCONT.rawValue { continueThreadGroup(group) }
        if [19, 20, 21, 22].contains(signal.signal) {
            // A stop signal discards a pending SIGCONT.
            taskLock.withLock { group.pendingSignals.removeAll { $0.signal == 18 } }
        }
        if !signal.forced && initIgnores(group, signal) { return }
        let target: Task? = taskLock.withLock {
            guard group.zombieStatus == nil else { return nil }
            if signal.signal < 32 && group.pendingSignals.contains(where: { $0.signal == signal.signal }) { return group.tasks.first }
            group.pendingSignals.append(signal)
            return group.tasks.first(where: { !$0.signalMask.contains(Signal(signal.signal)) }) ?? group.tasks.first
        }
        target?.wake()
    }

    /// The container's init, like a pid namespace's init on Linux, only receives signals it handles or
    /// blocks (the handler may change before it unblocks them); from outside the sandbox SIGKILL and SIGSTOP
    /// still get through (`docker stop` of a `sleep` waits the grace period and then kills, as on runc).
    func initIgnores(_ group: ThreadGroup, _ signal: PendingSignal) -> Bool {
        let sig = signal.signal
        guard sig > 0 && sig < 65 else { return false }
        let isKernelOnly = sig == Signal.SIGKILL.rawValue || sig == Signal.SIGSTOP.rawValue
        let blocked: Bool? = taskLock.withLock {
            guard group === initGroup else { return nil }
            return !isKernelOnly && group.tasks.contains { $0.signalMask.contains(Signal(sig)) }
        }
        guard let blocked, !blocked else { return false }
        if signal.fromOutside && isKernelOnly { return false }
        return group.handlers.lock.withLock { group.handlers.actions[Int(sig)].handler } == SignalConstants.SIG_DFL
    }

    /// True for the container's init: a signal it blocked and then took with the default action is dropped.
    func isInit(_ group: ThreadGroup) -> Bool { taskLock.withLock { group === initGroup } }

    /// Ends every thread of `group` with `status`.
    func exitThreadGroup(_ group: ThreadGroup, status: WaitStatus) {
        let all: [Task] = taskLock.withLock {
            if group.groupExitStatus == nil { group.groupExitStatus = status }
            group.exiting = true
            for t in group.tasks { t.exitRequested = true }
            return group.tasks
        }
        for t in all { t.wake() }
    }

    /// Called on a task's own thread when it has finished: turns the process into a zombie once its last
    /// thread is gone, re-parents its children to init and tells the parent.
    func taskExited(_ task: Task) {
        var notifyParent: ThreadGroup?
        var sigchld: PendingSignal?
        var initDied = false
        var orphansToKill: [ThreadGroup] = []
        var endedSession: Int32?
        var deathNotices: [Task] = []
        let vforkParent = task.vforkParent
        task.vforkParent = nil
        taskLock.withLock {
            tasks.removeValue(forKey: task.tid)
            let g = task.threadGroup
            g.tasks.removeAll { $0 === task }
            guard g.tasks.isEmpty else { return }
            let status = g.groupExitStatus ?? task.exitStatus ?? .exited(0)
            g.zombieStatus = status
            if g.pid == g.sessionID { endedSession = g.pid }
            if g === initGroup {
                initStatus = status
                initDied = true
                orphansToKill = groups.values.filter { $0 !== g && $0.zombieStatus == nil }
            }
            // Orphans go to init (or are reaped right away when init itself is gone).
            for (pid, child) in g.children {
                if let ig = initGroup, ig !== g, ig.zombieStatus == nil {
                    child.parent = ig; ig.children[pid] = child
                } else {
                    child.parent = nil
                    if child.zombieStatus != nil { groups.removeValue(forKey: pid) }
                }
            }
            // PR_SET_PDEATHSIG: children that asked are told their parent died.
            for (_, child) in g.children {
                for t in child.tasks where t.parentDeathSignal != 0 {
                    t.pendingSignals.append(PendingSignal(signal: t.parentDeathSignal, code: 0, senderPID: g.pid))
                    deathNotices.append(t)
                }
            }
            g.children = [:]
            if let p = g.parent {
                let action = p.handlers.lock.withLock { p.handlers.actions[Int(Signal.SIGCHLD.rawValue)] }
                let autoReap = action.handler == SignalConstants.SIG_IGN || action.flags & SignalConstants.SA_NOCLDWAIT != 0
                if autoReap && g.exitSignal == Signal.SIGCHLD.rawValue {
                    p.children.removeValue(forKey: g.pid)
                    groups.removeValue(forKey: g.pid)
                } else if g.exitSignal > 0 {
                    let (code, st): (Int32, Int32) = status.raw & 0x7f == 0 ? (1, (status.raw >> 8) & 0xff)
                        : (status.raw & 0x80 != 0 ? 3 : 2, status.raw & 0x7f)  // CLD_EXITED, CLD_DUMPED, CLD_KILLED
                    sigchld = PendingSignal(signal: g.exitSignal, code: code, senderPID: g.pid, status: st)
                }
                notifyParent = p
            } else if g !== initGroup {
                groups.removeValue(forKey: g.pid)
            }
        }
        if let vp = vforkParent { vp.vforkDone = true; vp.waiter.notify() }
        for t in deathNotices { t.wake() }
        task.fdTable.dropUser()
        if let p = notifyParent {
            if let s = sigchld { sendSignal(to: p, s) }
            p.childEvents.notifyAll()
        }
        // A session leader's exit releases its controlling terminal and hangs up its foreground group.
        if let endedSession { ptys.sessionEnded(endedSession, kernel: self) }
        if initDied {
            // Like Linux when a pid namespace's init dies: every other process is killed.
            for g in orphansToKill { exitThreadGroup(g, status: .signaled(9, core: false)) }
        }
        checkFinished()
    }

    private func checkFinished() {
        let isDone = taskLock.withLock { () -> Bool in
            if initStatus != nil && tasks.isEmpty && !finished { finished = true; return true }
            return false
        }
        if isDone { done.notify() }
    }

    /// Removes a reaped zombie.
    func reap(_ child: ThreadGroup) {
        taskLock.withLock {
            child.parent?.children.removeValue(forKey: child.pid)
            groups.removeValue(forKey: child.pid)
        }
    }
}

extension Inode {
    var isDirectoryInode: Bool { (try? stat().isDirectory) ?? false }
}
