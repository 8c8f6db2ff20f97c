// `runsc exec` and `runsc ps`: a new process in a running container, and the container's process list.
import Glibc

/// What `runsc exec` runs (from its flags or an OCI process file).
public struct ExecOptions: Sendable {
    public var argv: [String]
    public var environment: [String] = []
    /// An OCI process file gives the whole environment; --env adds to the container's.
    public var replaceEnvironment = false
    public var workingDirectory: String?
    public var uid: UInt32?
    public var gid: UInt32?
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
    /// Starts a process in running container `id` with this process's stdio; returns its sandbox pid, which
    /// is also written to `pidFile` (a pid in the sandbox's pid namespace: there is no host process per app
    /// process under the Sentry).
    public func exec(id: String, _ process: ExecOptions, pidFile: String? = nil) throws(RuntimeError) -> Int32 {
        try requireRunning(id: id, doing: "exec in")
        var request = ControlRequest(op: .exec)
        request.argv = process.argv
        request.env = process.environment
        request.replaceEnv = process.replaceEnvironment
        request.cwd = process.workingDirectory
        request.uid = process.uid
        request.gid = process.gid
        let response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id, descriptors: [0, 1, 2])
        guard response.ok, let pid = response.pid else {
            throw RuntimeError("cannot exec in container \"\(id)\": \(response.error ?? "no pid in the sandbox's answer")")
        }
        if let pidFile { try writePidFile(pidFile, pid: pid) }
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
