// `runsc exec` inside the Sentry: a new process started from outside the sandbox, and the process list for
// `runsc ps`.
//
// An exec'd process has no parent in the sandbox (like a process entered into a pid namespace with setns:
// its parent lives outside). The kernel reaps it itself when it exits (taskExited drops parentless
// groups), and keeps its ThreadGroup in `execGroups` so the exit status can still be asked for. It is not
// init: init's exit still ends the container, and kills exec'd processes with the other orphans.
import Glibc
import LinuxABI

/// What `runsc exec` asks the Sentry to run.
public struct ExecRequest: Sendable {
    public var argv: [String]
    /// Variables set on top of the container's environment (or the whole environment, see below).
    public var environment: [String]
    /// true: `environment` replaces the container's (an OCI process file); false: it is merged over it.
    public var replaceEnvironment: Bool
    /// nil: the container's process.cwd.
    public var workingDirectory: String?
    /// nil: the container's user.
    public var uid: UInt32?
    public var gid: UInt32?
    /// Host descriptors that become the process's 0, 1 and 2; the Sentry owns them from now on.
    public var stdioFDs: [Int32]
    /// A host pty replica (`exec --tty`): the process gets a Sentry pty bridged to it as 0, 1, 2 and as the
    /// controlling terminal of its session (the Sentry owns the descriptor); `stdioFDs` is then empty.
    public var consoleFD: Int32? = nil

    public init(argv: [String], environment: [String] = [], replaceEnvironment: Bool = false,
                workingDirectory: String? = nil, uid: UInt32? = nil, gid: UInt32? = nil, stdioFDs: [Int32]) {
        self.argv = argv; self.environment = environment; self.replaceEnvironment = replaceEnvironment
        self.workingDirectory = workingDirectory; self.uid = uid; self.gid = gid; self.stdioFDs = stdioFDs
    }
}

/// One row of `runsc ps`.
public struct SentryProcessInfo: Sendable, Equatable {
    public var pid: Int32
    public var parentPID: Int32
    public var uid: UInt32
    public var command: String
    /// User + system CPU time in nanoseconds.
    public var cpuNanoseconds: UInt64
}

extension Kernel {
    /// Starts `request.argv` as a new process in the running container and returns its (sandbox) pid.
    public func exec(_ request: ExecRequest) throws -> Int32 {
        guard let name = request.argv.first, !name.isEmpty else { throw SentryError("exec: no command given") }
        guard let pid = allocatePID() else { throw SentryError("exec: the sandbox has no free pid") }
        let environment = request.replaceEnvironment ? request.environment
            : Self.merge(config.environment, with: request.environment)
        let group = ThreadGroup(pid: pid, parent: nil, handlers: SignalHandlers(), exitSignal: Signal.SIGCHLD.rawValue)
        group.rlimits = config.rlimits
        let mm = MemoryManager(file: memoryFile, minAddress: platform.minUserAddress, maxAddress: platform.maxUserAddress)
        let fdTable = FDTable()
        if let (nofile, _) = config.rlimits[7] { fdTable.limit = Int32(clamping: nofile) }
        var owned = request.stdioFDs
        var consoleOwned = request.consoleFD  // closed here unless the console took it
        defer { if let fd = consoleOwned { Glibc.close(fd) } }
        defer { for fd in owned { Glibc.close(fd) } }  // those not handed to the fd table
        for (i, hostFD) in request.stdioFDs.prefix(3).enumerated() {
            guard let file = HostFileDescription.stdio(takingOver: hostFD) else {
                throw SentryError("exec: stdio descriptor \(i) is not open")
            }
            owned.removeAll { $0 == hostFD }
            _ = try? fdTable.set(Int32(i), file, closeOnExec: false)
        }
        var creds = Credentials()
        let uid = request.uid ?? config.uid
        let gid = request.gid ?? (request.uid == nil ? config.gid : 0)
        creds.uid = uid; creds.euid = uid; creds.suid = uid; creds.fsuid = uid
        creds.gid = gid; creds.egid = gid; creds.sgid = gid; creds.fsgid = gid
        creds.groups = request.uid == nil ? config.additionalGids : []
        let fs = FSContext(root: rootDentry, cwd: rootDentry, umask: config.umask)
        let task = Task(kernel: self, tid: pid, threadGroup: group, mm: mm, fdTable: fdTable, fs: fs, credentials: creds)
        group.tasks = [task]
        // Until it is registered the task is only ours: undo what Task.init took on failure.
        var registered = false
        defer { if !registered { fdTable.dropUser(); mm.dropUser() } }
        let cwdPath = request.workingDirectory ?? config.workingDirectory
        guard let cwd = try? resolve(task: task, path: cwdPath, follow: true), cwd.inode.isDirectoryInode else {
            throw SentryError("exec: cwd \"\(cwdPath)\" is not a directory in the container")
        }
        fs.cwd = cwd
        let path = try resolveExecutable(task: task, name, environment: environment)
        do {
            try ExecLoader.load(task: task, path: path, argv: request.argv, envp: environment, into: mm)
        } catch let e as SentryError {
            throw SentryError("exec: \(e.description)")
        } catch {
            throw SentryError("exec: cannot load \(path): \(error)")
        }
        task.name = String(path.split(separator: "/").last ?? Substring(path)).prefix(15).description
        try applyAppLimits(to: task)  // the container's capabilities, no_new_privs and seccomp, as runc exec applies
        var bridge: ConsoleBridge?
        if let consoleFD = request.consoleFD {
            // An exec'd process leads its own session and group (pid = sid = pgid), as runc's setsid does.
            bridge = try attachConsole(hostFD: consoleFD, task: task)
            consoleOwned = nil
        }
        guard registerExecProcess(task) else {
            bridge?.shutDown()
            throw SentryError("exec: the container is not running")
        }
        if let bridge { consoleLock.withLock { consoles.append(bridge) } }
        registered = true
        task.startHostThread()
        return pid
    }

    /// The exit status of a process started by `exec`, once it has exited (nil while it runs). Forgets it.
    public func execExitStatus(pid: Int32) throws -> ExitStatus? {
        try taskLock.withLock { () throws -> ExitStatus? in
            guard let g = execGroups[pid] else { throw SentryError("no exec'd process with pid \(pid)") }
            guard let status = g.zombieStatus else { return nil }
            execGroups.removeValue(forKey: pid)
            return status.exitStatus
        }
    }

    /// Every live process of the sandbox, for `runsc ps`.
    public func processTable() -> [SentryProcessInfo] {
        let live = taskLock.withLock {
            groups.values.filter { $0.zombieStatus == nil }.sorted { $0.pid < $1.pid }
                .map { ($0, $0.parent?.pid ?? 0, $0.leader?.credentials.uid ?? 0, $0.leader?.name ?? "") }
        }
        return live.map { g, ppid, uid, name in
            SentryProcessInfo(pid: g.pid, parentPID: ppid, uid: uid, command: name, cpuNanoseconds: processCPUTime(g).total)
        }
    }

    /// `base` with each KEY=VALUE of `overrides` replacing the same KEY (or appended).
    static func merge(_ base: [String], with overrides: [String]) -> [String] {
        var result = base
        for entry in overrides {
            let key = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? entry
            if let i = result.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) { result[i] = entry } else { result.append(entry) }
        }
        return result
    }
}
