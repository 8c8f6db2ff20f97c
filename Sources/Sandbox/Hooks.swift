// OCI hooks (config.json `hooks`), run by the CLI on the host with the container's state on stdin, as runc
// runs them: prestart and createRuntime once the sandbox exists and before `create` returns (a failure fails
// the create), poststart after `start` and poststop at `delete` (failures there are logged). The hooks that
// runc runs inside the container's namespaces (createContainer, startContainer) would need a host binary
// inside the sandbox, which the Sentry does not have: a spec asking for them is refused.
import FoundationEssentials
import Glibc
import OCI

/// One hook: an absolute host path, its argv (argv[0] included), its whole environment, a timeout in seconds.
public struct ContainerHook: Codable, Sendable, Equatable {
    public var path: String
    public var args: [String]?
    public var env: [String]?
    public var timeout: Int?
}

/// The hooks of a container, checked at create and kept in its state directory for start and delete.
public struct ContainerHooks: Codable, Sendable, Equatable {
    public var prestart: [ContainerHook]?
    public var createRuntime: [ContainerHook]?
    public var createContainer: [ContainerHook]?
    public var startContainer: [ContainerHook]?
    public var poststart: [ContainerHook]?
    public var poststop: [ContainerHook]?

    /// The file in the container's state directory.
    static let recordFile = "hooks.json"

    public var isEmpty: Bool {
        [prestart, createRuntime, poststart, poststop].allSatisfy { ($0 ?? []).isEmpty }
    }

    /// Parses and checks `hooks` from config.json; errors name the field.
    public static func parse(_ value: JSONValue?) throws(RuntimeError) -> ContainerHooks {
        guard let value, value != .null else { return ContainerHooks() }
        let hooks: ContainerHooks
        do {
            hooks = try JSONDecoder().decode(ContainerHooks.self, from: try JSONEncoder().encode(value))
        } catch {
            throw RuntimeError("config.json: hooks: expected {\"prestart\"|\"createRuntime\"|\"poststart\"|\"poststop\": "
                               + "[{\"path\": ABSOLUTE-PATH, \"args\": [...], \"env\": [...], \"timeout\": SECONDS}]}")
        }
        for (name, list) in [("createContainer", hooks.createContainer), ("startContainer", hooks.startContainer)]
        where !(list ?? []).isEmpty {
            throw RuntimeError("config.json: hooks.\(name): hooks that run inside the container's namespaces are not "
                               + "supported (the container runs on the Sentry, which has no host program to run); "
                               + "use createRuntime, prestart, poststart or poststop")
        }
        for (name, list) in hooks.named {
            for (index, hook) in list.enumerated() {
                guard hook.path.hasPrefix("/") else {
                    throw RuntimeError("config.json: hooks.\(name)[\(index)].path: must be an absolute path, got \"\(hook.path)\"")
                }
                if let timeout = hook.timeout, timeout <= 0 {
                    throw RuntimeError("config.json: hooks.\(name)[\(index)].timeout: must be a positive number of seconds, got \(timeout)")
                }
            }
        }
        return hooks
    }

    var named: [(String, [ContainerHook])] {
        [("prestart", prestart ?? []), ("createRuntime", createRuntime ?? []), ("poststart", poststart ?? []),
         ("poststop", poststop ?? [])]
    }

    /// Runs each hook of `list` in order with `state` on its stdin; the first failure is thrown.
    static func run(_ list: [ContainerHook], named name: String, state: State) throws(RuntimeError) {
        let stateBytes: [UInt8]
        do { stateBytes = Array(try JSONEncoder().encode(state)) } catch {
            throw RuntimeError("hooks.\(name): cannot encode the container state: \(error)")
        }
        for (index, hook) in list.enumerated() {
            try runOne(hook, label: "hooks.\(name)[\(index)] (\(hook.path))", stdin: stateBytes)
        }
    }

    private static func runOne(_ hook: ContainerHook, label: String, stdin: [UInt8]) throws(RuntimeError) {
        // The state goes through a memory file (no pipe to fill); output is kept for the error message.
        let input = try Sys.memoryFile(name: "runsc-hook-state", bytes: stdin)
        defer { close(input) }
        let output = try Sys.memoryFile(name: "runsc-hook-output", bytes: [])
        defer { close(output) }
        let pid = try Spawner.spawn(SpawnRequest(executable: hook.path, arguments: hook.args ?? [hook.path],
                                                 environment: hook.env ?? [], descriptors: [(input, 0), (output, 1), (output, 2)]))
        var status: Int32 = 0
        let deadline = hook.timeout.map { Timestamp.monotonicSeconds() + Double($0) }
        while true {
            let waited = waitpid(pid, &status, WNOHANG)
            if waited == pid { break }
            if waited < 0 && errno != EINTR { throw RuntimeError.errno("\(label): waitpid") }
            if let deadline, Timestamp.monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
                _ = try? Sys.waitChild(pid)
                throw RuntimeError("\(label): did not finish within its timeout of \(hook.timeout ?? 0) s")
            }
            usleep(2_000)
        }
        guard status != 0 else { return }
        var tail = [UInt8](repeating: 0, count: 4096)
        let size = lseek(output, 0, SEEK_END)
        let start = max(0, size - off_t(tail.count))
        let n = tail.withUnsafeMutableBytes { pread(output, $0.baseAddress, $0.count, start) }
        let text = String(decoding: tail.prefix(max(0, n)), as: UTF8.self).split(separator: "\n").joined(separator: "; ")
        throw RuntimeError("\(label): exited with status \(Sys.shellCode(fromWaitStatus: status))"
                           + (text.isEmpty ? "" : ": \(text)"))
    }
}

extension ContainerManager {
    /// Keeps the hooks start and delete need in the state directory.
    func recordHooks(_ hooks: ContainerHooks, id: String) throws(RuntimeError) {
        guard !hooks.isEmpty else { return }
        let data: Data
        do { data = try JSONEncoder().encode(hooks) } catch { throw RuntimeError("cannot record hooks: \(error)") }
        try AtomicFile.write(store.directory(of: id) + "/" + ContainerHooks.recordFile, Array(data), mode: 0o600)
    }

    func recordedHooks(id: String) -> ContainerHooks? {
        guard let bytes = try? AtomicFile.read(store.directory(of: id) + "/" + ContainerHooks.recordFile) else { return nil }
        return try? JSONDecoder().decode(ContainerHooks.self, from: Data(bytes))
    }

    /// poststart/poststop: run, and on failure log (the container's life goes on, as with runc).
    func runHooksLogging(_ list: [ContainerHook]?, named name: String, record: ContainerRecord, status: ContainerStatus) {
        guard let list, !list.isEmpty else { return }
        do {
            try ContainerHooks.run(list, named: name, state: record.ociState(status: status))
        } catch {
            log.warning("container \"\(record.id)\": \(error.description)")
        }
    }
}
