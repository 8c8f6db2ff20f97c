// The container lifecycle as the CLI drives it: create (start the gofer and the boot, wait until the Sentry
// has loaded init), start, state, kill, wait, delete, list. Every operation names the container in its
// errors; a failed create leaves no state directory and no process behind.
import FoundationEssentials
import Glibc
import LinuxABI
import OCI

/// The processes of a created sandbox.
public struct SandboxProcesses: Sendable {
    public var bootPID: pid_t
    public var goferPID: pid_t
}

/// Container operations over one state root.
public struct ContainerManager: Sendable {
    public let options: RuntimeOptions
    public let log: RuntimeLog
    public var store: StateStore { StateStore(root: options.root) }

    public init(options: RuntimeOptions, log: RuntimeLog) {
        self.options = options; self.log = log
    }

    // MARK: create

    /// Creates a container from a bundle directory (`create --bundle`).
    public func create(id: String, bundle: String, pidFile: String?, consoleSocket: String?) throws(RuntimeError) {
        try checkCreatable(id: id, consoleSocket: consoleSocket)
        let (spec, bundlePath) = try loadBundle(bundle)
        try HostConsole.check(terminal: spec.process?.terminal ?? false, consoleSocket: consoleSocket)
        _ = try createSandbox(id: id, spec: spec, bundle: bundlePath, pidFile: pidFile, deathSignal: 0, consoleSocket: consoleSocket)
    }

    func checkCreatable(id: String, consoleSocket: String?) throws(RuntimeError) {
        try options.checkSupported()
        try StateStore.validateID(id)
        if let consoleSocket, consoleSocket.isEmpty { throw RuntimeError("--console-socket: empty path") }
    }

    /// Reads and validates `<bundle>/config.json`; returns the spec and the bundle's absolute path.
    func loadBundle(_ bundle: String) throws(RuntimeError) -> (Spec, String) {
        guard let bundlePath = Sys.realPath(bundle.isEmpty ? "." : bundle) else {
            throw RuntimeError("bundle \(bundle): \(String(cString: strerror(errno)))")
        }
        do {
            return (try SpecLoader.load(bundle: bundlePath), bundlePath)
        } catch {
            throw RuntimeError(error.description)
        }
    }

    /// Starts the gofer and the boot for `spec`, waits until the Sentry is ready, and records the container.
    func createSandbox(id: String, spec: Spec, bundle: String, pidFile: String?, deathSignal: Int32,
                       consoleSocket: String? = nil) throws(RuntimeError) -> SandboxProcesses {
        let rootfs = try resolveRootfs(spec: spec, bundle: bundle)
        let plan = try BootPlan.make(from: spec)
        let hooks = try ContainerHooks.parse(spec.hooks)
        for warning in plan.skipped { log.warning("container \"\(id)\": \(warning)") }
        let cgroup = try HostCgroup.make(spec: spec, id: id, systemd: options.systemdCgroup)
        for bind in plan.binds {
            guard let resolved = Sys.realPath(bind.source) else {
                throw RuntimeError("config.json: mounts[\(bind.mountIndex)].source: bind source \(bind.source) does not exist")
            }
            var st = stat()
            guard stat(resolved, &st) == 0, st.st_mode & S_IFMT == S_IFDIR || st.st_mode & S_IFMT == S_IFREG else {
                throw RuntimeError("config.json: mounts[\(bind.mountIndex)].source: bind source \(bind.source) "
                                   + "must be a directory or a regular file")
            }
        }

        // process.terminal: a host pty whose replica the Sentry bridges and whose master goes to the socket.
        let console = consoleSocket == nil ? nil : try HostConsole.open(size: spec.process?.consoleSize)
        defer { console?.close() }
        let lock = try store.createDirectory(id: id)
        var processes: SandboxProcesses?
        do throws(RuntimeError) {
            let created = Timestamp.now()
            var record = ContainerRecord(id: id, status: .creating, pid: 0, bundle: bundle, rootfs: rootfs,
                                         created: created, annotations: spec.annotations)
            try store.save(record)
            let (started, readyFD) = try spawnSandbox(id: id, spec: spec, rootfs: rootfs, binds: plan.binds,
                                                      deathSignal: deathSignal, consoleFD: console?.replica ?? -1)
            processes = started
            if let cgroup {
                // Before the Sentry loads init: every page and task of the sandbox is charged to it.
                record.cgroupPath = cgroup.path
                if let failure = Self.joinCgroup(cgroup, started) {
                    close(readyFD)
                    throw RuntimeError("cannot create container \"\(id)\": \(failure.description)")
                }
            }
            try awaitReady(id: id, readyFD: readyFD, processes: started)
            if let console, let consoleSocket { try console.sendMaster(to: consoleSocket) }
            record.status = .created
            record.pid = started.bootPID
            record.goferPid = started.goferPID
            record.bootStartTime = ProcessProbe.startTime(of: started.bootPID) ?? 0
            record.goferStartTime = ProcessProbe.startTime(of: started.goferPID) ?? 0
            // The sandbox exists and init is loaded: prestart and createRuntime hooks (e.g. network set-up
            // by the orchestrator) see its pid; a failing one fails the create.
            try recordHooks(hooks, id: id)
            try ContainerHooks.run(hooks.prestart ?? [], named: "prestart", state: record.ociState(status: .creating))
            try ContainerHooks.run(hooks.createRuntime ?? [], named: "createRuntime", state: record.ociState(status: .creating))
            try store.save(record)
            if let pidFile { try writePidFile(pidFile, pid: started.bootPID) }
            log.debug("container \"\(id)\": created, boot pid \(started.bootPID), gofer pid \(started.goferPID)")
            _ = lock
            return started
        } catch {
            if let processes { reap(processes) }
            if let cgroup { HostCgroup.remove(path: cgroup.path) }
            store.remove(id: id)
            throw error
        }
    }

    private static func joinCgroup(_ cgroup: HostCgroup, _ processes: SandboxProcesses) -> RuntimeError? {
        do {
            try cgroup.join([processes.bootPID, processes.goferPID])
            return nil
        } catch {
            return error
        }
    }

    func resolveRootfs(spec: Spec, bundle: String) throws(RuntimeError) -> String {
        let path = spec.root?.path ?? ""
        let absolute = path.hasPrefix("/") ? path : bundle + "/" + path
        guard let resolved = Sys.realPath(absolute), Sys.isDirectory(resolved) else {
            throw RuntimeError("config.json: root.path: rootfs directory \(absolute) does not exist")
        }
        return resolved
    }

    /// Spawns gofer then boot with every descriptor they need; closes our copies of the children's ends.
    func spawnSandbox(id: String, spec: Spec, rootfs: String, binds: [PlannedBind], deathSignal: Int32,
                      consoleFD: Int32 = -1) throws(RuntimeError) -> (SandboxProcesses, readyFD: Int32) {
        let dir = store.directory(of: id)
        var ours: [Int32] = []
        defer { for fd in ours { close(fd) } }

        let listener = try listenControlSocket(dir + "/" + StateStore.controlSocket)
        ours.append(listener)
        let exitFD = try Sys.open(dir + "/" + StateStore.exitStatusFile, O_RDWR | O_CREAT | O_TRUNC, mode: 0o600)
        ours.append(exitFD)
        let specData: Data
        do { specData = try JSONEncoder().encode(spec) } catch { throw RuntimeError("cannot encode spec: \(error)") }
        let specFD = try Sys.memoryFile(name: "runsc-spec", bytes: Array(specData))
        ours.append(specFD)
        let (sentryEnd, goferEnd) = try Sys.socketPair(type: Int32(SOCK_SEQPACKET.rawValue))
        ours += [sentryEnd, goferEnd]
        let ready = try Sys.pipe()
        ours += [ready.write]
        var bootLogFD: Int32 = -1
        if let debugDir = options.debugLog {
            bootLogFD = RuntimeLog.openDebugLog(dir: debugDir, name: "runsc.\(id).boot.log")
        } else if let logPath = options.log {
            bootLogFD = Glibc.open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        }
        if bootLogFD >= 0 { ours.append(bootLogFD) }
        // The gofer logs its setup (the filter it installs) to its own file; it closes it before confining.
        var goferLogFD: Int32 = -1
        if options.debug, let debugDir = options.debugLog {
            goferLogFD = RuntimeLog.openDebugLog(dir: debugDir, name: "runsc.\(id).gofer.log")
        } else if options.debug, let logPath = options.log {
            goferLogFD = Glibc.open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        }
        if goferLogFD >= 0 { ours.append(goferLogFD) }

        // The gofer only needs its own mount namespace (to pivot into the rootfs) and no network.
        var gofer = GoferOptions(id: id, rootfs: rootfs,
                                 readOnly: GoferOptions.rootReadOnly(specReadOnly: spec.root?.readonly ?? false, runtime: options))
        gofer.binds = binds
        var goferFlags = CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_NEWIPC | CloneFlags.CLONE_NEWUTS
        if options.network == "none" { goferFlags |= CloneFlags.CLONE_NEWNET }
        var goferArguments = gofer.arguments(runtime: options)
        // The gofer never needs the caller's stdin/stdout (the container's). With a terminal neither role
        // keeps any of the caller's stdio: clients such as containerd's runc shim read `create`'s output
        // through a pipe until every writer is gone, which a sandbox holding it would never be.
        let null = try Sys.open("/dev/null", O_RDWR)
        ours.append(null)
        var goferDescriptors: [(from: Int32, to: Int32)] = [(goferEnd, gofer.goferFD), (null, 0), (null, 1)]
        if consoleFD >= 0 { goferDescriptors.append((null, 2)) }
        if goferLogFD >= 0 {
            // Options may follow the id argument; the log descriptor is the next free number.
            let logNumber = gofer.goferFD + 1
            goferArguments += ["--log-fd", "\(logNumber)"]
            goferDescriptors.append((goferLogFD, logNumber))
        }
        let goferPID = try Spawner.spawn(SpawnRequest(
            arguments: goferArguments, cloneFlags: goferFlags, descriptors: goferDescriptors, deathSignal: deathSignal))

        var boot = BootOptions(id: id)
        if bootLogFD < 0 { boot.logFD = -1 }
        var descriptors: [(from: Int32, to: Int32)] = [
            (specFD, boot.specFD), (sentryEnd, boot.goferFD), (listener, boot.controllerFD),
            (exitFD, boot.exitStatusFD), (ready.write, boot.readyFD),
        ]
        if bootLogFD >= 0 {
            boot.logFD = 8
            descriptors.append((bootLogFD, boot.logFD))
        }
        if consoleFD >= 0 {
            boot.consoleFD = 9  // the host pty replica of process.terminal (Console.swift)
            descriptors += [(consoleFD, boot.consoleFD), (null, 0), (null, 1), (null, 2)]
        }
        // The Sentry gets every namespace; its user namespace maps its root to an unprivileged host user.
        var bootFlags = CloneFlags.CLONE_NEWUSER | CloneFlags.CLONE_NEWPID | CloneFlags.CLONE_NEWNS
            | CloneFlags.CLONE_NEWIPC | CloneFlags.CLONE_NEWUTS
        if options.network == "none" { bootFlags |= CloneFlags.CLONE_NEWNET }
        let bootPID: pid_t
        do {
            bootPID = try Spawner.spawn(SpawnRequest(
                arguments: boot.arguments(runtime: options), cloneFlags: bootFlags, descriptors: descriptors,
                idMaps: Spawner.sandboxIDMaps(), deathSignal: deathSignal))
        } catch {
            close(ready.read)
            reap(SandboxProcesses(bootPID: 0, goferPID: goferPID))
            throw error
        }
        log.debug("container \"\(id)\": spawned gofer \(goferPID) and boot \(bootPID)")
        return (SandboxProcesses(bootPID: bootPID, goferPID: goferPID), ready.read)
    }

    /// Reads the boot's readiness line: `{"ok":true}` once init is loaded, or `{"error":"..."}`.
    func awaitReady(id: String, readyFD fd: Int32, processes: SandboxProcesses) throws(RuntimeError) {
        defer { close(fd) }
        let line = try Sys.readLine(fd)
        if let line, let report = try? JSONDecoder().decode(ReadyReport.self, from: Data(line.utf8)) {
            if let error = report.error { throw RuntimeError("cannot create container \"\(id)\": \(error)") }
            if report.ok == true { return }
        }
        var status: Int32 = 0
        let reaped = waitpid(processes.bootPID, &status, WNOHANG) == processes.bootPID
        let how = reaped ? " (exit status \(Sys.shellCode(fromWaitStatus: status)))" : ""
        throw RuntimeError("cannot create container \"\(id)\": the sandbox exited before it was ready\(how)")
    }

    func listenControlSocket(_ path: String) throws(RuntimeError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.errno("socket") }
        let rc = try ControlProtocol.withSocketAddress(path) { bind(fd, $0, $1) }
        if rc != 0 || listen(fd, 16) != 0 {
            let code = errno
            close(fd)
            throw RuntimeError.errno("control socket \(path)", code)
        }
        return fd
    }

    func writePidFile(_ path: String, pid: pid_t) throws(RuntimeError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = try Sys.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
        defer { close(fd) }
        try Sys.writeAll(fd, "\(pid)", what: "write --pid-file \(path)")
        if rename(temporary, path) != 0 { throw RuntimeError.errno("--pid-file \(path)") }
    }

    /// Kills and reaps processes we spawned (only valid in the process that spawned them).
    func reap(_ processes: SandboxProcesses) {
        for pid in [processes.bootPID, processes.goferPID] where pid > 0 {
            Glibc.kill(pid, SIGKILL)
            _ = try? Sys.waitChild(pid)
        }
    }

    // MARK: start, state, kill, wait

    public func start(id: String) throws(RuntimeError) {
        let lock = try store.lock(id: id)
        var record = try store.load(id: id)
        let status = observedStatus(record)
        guard status == .created else {
            throw RuntimeError("cannot start container \"\(id)\": container is \(status.rawValue), not created")
        }
        let response = try ControlClient.send(ControlRequest(op: .start), socketPath: socketPath(id), containerID: id)
        if !response.ok {
            throw RuntimeError("cannot start container \"\(id)\": \(response.error ?? "unknown error")")
        }
        record.status = .running
        try store.save(record)
        runHooksLogging(recordedHooks(id: id)?.poststart, named: "poststart", record: record, status: .running)
        _ = lock
    }

    /// The OCI state of a container as observed now.
    public func state(id: String) throws(RuntimeError) -> State {
        let record = try store.load(id: id)
        return record.ociState(status: observedStatus(record))
    }

    /// stopped once the boot is gone or has recorded an exit status; otherwise what was recorded.
    func observedStatus(_ record: ContainerRecord) -> ContainerStatus {
        if record.status == .creating || record.status == .stopped { return record.status }
        if !ProcessProbe.isAlive(record.pid, startTime: record.bootStartTime) { return .stopped }
        if store.recordedExitStatus(id: record.id) != nil { return .stopped }
        return record.status
    }

    public func kill(id: String, signal: Signal, all: Bool) throws(RuntimeError) {
        let record = try store.load(id: id)
        let status = observedStatus(record)
        // A paused container takes signals too: SIGKILL ends it at once, others are delivered on resume.
        guard status == .created || status == .running || status == .paused else {
            throw RuntimeError("cannot kill container \"\(id)\": container not running (\(status.rawValue))")
        }
        let request = ControlRequest(op: .signal, signal: signal.rawValue, all: all)
        let response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id)
        if !response.ok {
            throw RuntimeError("cannot kill container \"\(id)\": \(response.error ?? "unknown error")")
        }
    }

    /// Blocks until the container exits; returns its exit status (code, or 128+N for signal N).
    public func wait(id: String) throws(RuntimeError) -> Int32 {
        let record = try store.load(id: id)
        if observedStatus(record) != .stopped {
            if let response = try? ControlClient.send(ControlRequest(op: .wait), socketPath: socketPath(id), containerID: id),
               response.ok, let code = response.exitStatus {
                return code
            }
        }
        if let code = store.recordedExitStatus(id: id) { return code }
        // The boot records init's status before it exits; a boot that is gone without one was killed from
        // outside (or crashed) and took the container with it: report that as death by SIGKILL, as a shell would.
        if record.status != .creating, !ProcessProbe.isAlive(record.pid, startTime: record.bootStartTime) {
            if let code = store.recordedExitStatus(id: id) { return code }
            log.warning("container \"\(id)\": the sandbox (boot pid \(record.pid)) was killed before it recorded an exit status; reporting 137")
            return 128 + SIGKILL
        }
        throw RuntimeError("container \"\(id)\": the sandbox exited without recording an exit status")
    }

    func socketPath(_ id: String) -> String { store.directory(of: id) + "/" + StateStore.controlSocket }

    // MARK: delete, list

    /// Deletes a container: kills what is left of its sandbox and removes its state.
    public func delete(id: String, force: Bool) throws(RuntimeError) {
        let lock = try store.lock(id: id)
        let record: ContainerRecord
        do {
            record = try store.load(id: id)
        } catch {
            // A directory without a readable record is debris of a crashed create: --force clears it.
            guard force else { throw error }
            store.remove(id: id)
            return
        }
        let status = observedStatus(record)
        if (status == .running || status == .paused) && !force {
            throw RuntimeError("cannot delete container \"\(id)\": container is \(status.rawValue) (use --force)")
        }
        terminate(pid: record.pid, startTime: record.bootStartTime)
        terminate(pid: record.goferPid, startTime: record.goferStartTime)
        if let path = record.cgroupPath { HostCgroup.remove(path: path) }
        runHooksLogging(recordedHooks(id: id)?.poststop, named: "poststop", record: record, status: .stopped)
        store.remove(id: id)
        _ = lock
    }

    /// SIGKILLs a process of ours (if it is still the same process) and waits briefly until it is gone.
    func terminate(pid: Int32, startTime: UInt64) {
        guard pid > 0, startTime != 0, ProcessProbe.isAlive(pid, startTime: startTime) else { return }
        Glibc.kill(pid, SIGKILL)
        for _ in 0..<200 where ProcessProbe.isAlive(pid, startTime: startTime) {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)  // reaps it if it happens to be our child
            usleep(10_000)
        }
    }

    /// Every container under the root with its current status.
    public func list() -> [State] {
        store.ids().compactMap { id in try? state(id: id) }
    }
}

/// The line the boot writes on its ready descriptor.
struct ReadyReport: Codable {
    var ok: Bool?
    var error: String?
}
