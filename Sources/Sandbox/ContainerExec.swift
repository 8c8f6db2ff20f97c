// `runsc exec` and `runsc ps`: a new process in a running container, and the container's process list.
import Glibc
import OCI

/// What `runsc exec` runs (from its flags or an OCI process file).
public struct ExecOptions: Sendable {
    public var argv: [String]
    public var environment: [String] = []
    /// An OCI process file gives the whole environment; --env adds to the container's.
    public var replaceEnvironment = false
    public var workingDirectory: String?
    public var uid: UInt32?
    public var gid: UInt32?
    /// `--tty` / process.terminal: the process gets a terminal whose master goes to `consoleSocket`.
    public var terminal = false
    public var consoleSocket: String?
    public var consoleSize: ConsoleSize?
    public init(argv: [String]) { self.argv = argv }
}

/// One process of a container, as `runsc ps` shows it.
public struct ContainerProcess: Sendable, Equatable {
    /// The pid inside the sandbox's pid namespace (the Sentry's; the host has no process per app process).
    public var pid: Int32
    public var ppid: Int32
    public var uid: UInt32
    public var command: String
    public var cpuNanoseconds: UInt64
}

extension ContainerManager {
    /// Starts a process in running container `id` with this process's stdio; returns its pid in the
    /// sandbox's pid namespace (there is no host process per app process under the Sentry).
    public func exec(id: String, _ process: ExecOptions) throws(RuntimeError) -> Int32 {
        try requireRunning(id: id, doing: "exec in")
        do { try HostConsole.check(terminal: process.terminal, consoleSocket: process.consoleSocket) } catch {
            throw RuntimeError("cannot exec in container \"\(id)\": \(error.description)")
        }
        // With a terminal the sandbox gets the host pty's replica instead of our stdio; the master goes to the
        // console socket first, so nothing the process writes is lost.
        let console = process.terminal ? try HostConsole.open(size: process.consoleSize) : nil
        defer { console?.close() }
        if let console, let socket = process.consoleSocket { try console.sendMaster(to: socket) }
        var request = ControlRequest(op: .exec)
        request.terminal = console == nil ? nil : true
        request.argv = process.argv
        request.env = process.environment
        request.replaceEnv = process.replaceEnvironment
        request.cwd = process.workingDirectory
        request.uid = process.uid
        request.gid = process.gid
        let response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id,
                                              descriptors: console.map { [$0.replica] } ?? [0, 1, 2])
        guard response.ok, let pid = response.pid else {
            throw RuntimeError("cannot exec in container \"\(id)\": \(response.error ?? "no pid in the sandbox's answer")")
        }
        return pid
    }

    /// Blocks until exec'd process `pid` of container `id` exits; its status (code, or 128+N for signal N).
    public func waitExec(id: String, pid: Int32) throws(RuntimeError) -> Int32 {
        var request = ControlRequest(op: .execWait)
        request.pid = pid
        let response: ControlResponse
        do {
            response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id)
        } catch {
            // The sandbox ended while the process ran: it died with the container (SIGKILL, as Linux does).
            if observedStatus(try store.load(id: id)) == .stopped { return 128 + SIGKILL }
            throw error
        }
        guard response.ok, let code = response.exitStatus else {
            throw RuntimeError("container \"\(id)\": waiting for exec'd process \(pid): \(response.error ?? "no status")")
        }
        return code
    }

    /// `exec --detach --pid-file`: containerd's shim and podman's conmon wait for the pid in the pid file as
    /// their (re-parented) child and take its exit status as the process's. An app process has no host
    /// process under the Sentry, so a small host process stands in for it: `runsc wait --pid N --exit-code ID`
    /// exits with the process's status and forwards the signals it receives to it. Returns its host pid.
    public func spawnExecWaiter(id: String, pid: Int32) throws(RuntimeError) -> pid_t {
        let null = Glibc.open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw RuntimeError.errno("open /dev/null") }
        defer { close(null) }
        let arguments = ["runsc-exec-waiter"] + options.roleArguments + ["wait", "--pid", "\(pid)", "--exit-code", id]
        // stdio to /dev/null: the waiter must not hold the client's pipes open after the process is done.
        return try Spawner.spawn(SpawnRequest(arguments: arguments, descriptors: [(null, 0), (null, 1), (null, 2)]))
    }

    /// Forwards `signal` to exec'd process `pid` of container `id`.
    public func signalExec(id: String, pid: Int32, signal: Int32) throws(RuntimeError) {
        var request = ControlRequest(op: .signal, signal: signal)
        request.pid = pid
        let response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id)
        if !response.ok {
            throw RuntimeError("cannot signal process \(pid) of container \"\(id)\": \(response.error ?? "unknown error")")
        }
    }

    /// The host processes of running container `id`: its sandbox (boot) process and that process's
    /// descendants (the ptrace stubs holding the app's address spaces). `ps --format json` prints these,
    /// because docker top matches them against the host's own `ps` as it does for runc.
    public func hostProcesses(id: String) throws(RuntimeError) -> [Int32] {
        try requireRunning(id: id, doing: "list processes of")
        let record = try store.load(id: id)
        var children: [Int32: [Int32]] = [:]
        if let dir = opendir("/proc") {
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard let pid = Int32(name), let fields = ProcessProbe.statFields(pid), fields.count > 1,
                      let parent = Int32(fields[1]) else { continue }
                children[parent, default: []].append(pid)
            }
        }
        var result: [Int32] = []
        var queue = [record.pid]
        while let pid = queue.popLast() {
            guard result.count < 65_536, !result.contains(pid) else { continue }
            result.append(pid)
            queue += children[pid] ?? []
        }
        return result.sorted()
    }

    /// The processes of running container `id`.
    public func processes(id: String) throws(RuntimeError) -> [ContainerProcess] {
        try requireRunning(id: id, doing: "list processes of")
        let response = try ControlClient.send(ControlRequest(op: .ps), socketPath: socketPath(id), containerID: id)
        guard response.ok, let list = response.processes else {
            throw RuntimeError("cannot list processes of container \"\(id)\": \(response.error ?? "no process list")")
        }
        return list.map { ContainerProcess(pid: $0.pid, ppid: $0.ppid, uid: $0.uid, command: $0.command, cpuNanoseconds: $0.cpu) }
    }

    private func requireRunning(id: String, doing what: String) throws(RuntimeError) {
        let status = observedStatus(try store.load(id: id))
        guard status == .running else {
            throw RuntimeError("cannot \(what) container \"\(id)\": container is \(status.rawValue), not running")
        }
    }
}
