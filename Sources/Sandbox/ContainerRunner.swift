// `run` and `do`: create + start + wait in one CLI process that stays the parent of the sandbox, forwards
// the signals a terminal or supervisor sends it, exits with the container's status and cleans up.
import FoundationEssentials
import Glibc
import LinuxABI
import OCI

extension ContainerManager {
    /// `runsc run --bundle DIR ID`: returns the container's exit status.
    public func run(id: String, bundle: String, pidFile: String?, consoleSocket: String?) throws(RuntimeError) -> Int32 {
        try checkCreatable(id: id, consoleSocket: consoleSocket)
        let (spec, bundlePath) = try loadBundle(bundle)
        try HostConsole.check(terminal: spec.process?.terminal ?? false, consoleSocket: consoleSocket)
        return try runToCompletion(id: id, spec: spec, bundle: bundlePath, pidFile: pidFile, consoleSocket: consoleSocket)
    }

    /// `runsc do CMD...`: runs CMD over the host's root (read-only) under a generated id.
    public func runCommand(_ command: [String]) throws(RuntimeError) -> Int32 {
        guard let first = command.first, !first.isEmpty else { throw RuntimeError("do: missing command to run") }
        try options.checkSupported()
        let id = "runsc-do-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cwd = Sys.currentDirectory()
        return try runToCompletion(id: id, spec: DoSpec.make(command: command, cwd: cwd), bundle: cwd, pidFile: nil)
    }

    func runToCompletion(id: String, spec: Spec, bundle: String, pidFile: String?, consoleSocket: String? = nil) throws(RuntimeError) -> Int32 {
        // The sandbox dies with us (SIGKILL on parent death) so an interrupted run leaves nothing behind.
        let processes = try createSandbox(id: id, spec: spec, bundle: bundle, pidFile: pidFile, deathSignal: SIGKILL,
                                          consoleSocket: consoleSocket)
        defer {
            reap(SandboxProcesses(bootPID: 0, goferPID: processes.goferPID))
            if let record = try? store.load(id: id) {
                if let path = record.cgroupPath { HostCgroup.remove(path: path) }
                runHooksLogging(recordedHooks(id: id)?.poststop, named: "poststop", record: record, status: .stopped)
            }
            store.remove(id: id)
        }
        do {
            try start(id: id)
        } catch {
            reap(processes)
            throw error
        }
        SignalForwarder.start(containerID: id, socketPath: socketPath(id), bootPID: processes.bootPID)
        let status = try Sys.waitChild(processes.bootPID)
        let code = Sys.shellCode(fromWaitStatus: status)
        log.debug("container \"\(id)\": sandbox exited with \(code)")
        return code
    }
}

/// The spec `runsc do` runs: the host's root read-only, the caller's cwd and a few of its variables.
public enum DoSpec {
    /// Variables carried over from the caller's environment.
    static let inherited = ["PATH", "TERM", "HOME", "LANG", "LC_ALL", "TZ", "USER"]
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public static func make(command: [String], cwd: String, environment: [String: String] = currentEnvironment()) -> Spec {
        var env: [String] = []
        for name in inherited {
            if let value = environment[name] { env.append("\(name)=\(value)") }
        }
        if environment["PATH"] == nil { env.insert("PATH=\(defaultPath)", at: 0) }
        let process = Process(terminal: false, user: User(uid: 0, gid: 0), args: command, env: env, cwd: cwd)
        var spec = Spec.defaultSpec(rootPath: "/", args: command, terminal: false)
        spec.process = process
        // Not read-only: with the default --overlay2=root:memory, changes land in Sentry memory and the host
        // root stays untouched (as with gVisor's `do`); --overlay2=none would write through to the host.
        spec.root = Root(path: "/", readonly: false)
        spec.mounts = [
            Mount(destination: "/proc", type: "proc", source: "proc"),
            Mount(destination: "/dev", type: "tmpfs", source: "tmpfs"),
            Mount(destination: "/dev/shm", type: "tmpfs", source: "shm"),
            Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["ro"]),
        ]
        return spec
    }

    public static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

/// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1/2 received by `run`/`do` to the container. The same
/// SIGINT or SIGTERM a second time kills the sandbox outright, so a wedged sandbox never makes `run` unkillable.
enum SignalForwarder {
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]

    /// Blocks those signals in this process (the sandbox is already spawned, so it does not inherit the mask)
    /// and relays them from a dedicated thread.
    static func start(containerID: String, socketPath: String, bootPID: pid_t) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in forwarded { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let blocked = set
        try? HostThread.detach {
            var waitSet = blocked
            var seen = Set<Int32>()
            while true {
                var received: Int32 = 0
                if sigwait(&waitSet, &received) != 0 { continue }
                if (received == SIGINT || received == SIGTERM) && !seen.insert(received).inserted {
                    kill(bootPID, SIGKILL)
                    continue
                }
                let request = ControlRequest(op: .signal, signal: received, all: false)
                _ = try? ControlClient.send(request, socketPath: socketPath, containerID: containerID)
            }
        }
    }
}
