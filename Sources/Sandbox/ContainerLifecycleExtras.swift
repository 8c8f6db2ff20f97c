// `runsc pause`, `resume`, `events` and `update` on the CLI side: check the recorded state, ask the sandbox
// over the control socket, record the result. Errors name the container, in runc's words.
import FoundationEssentials
import Glibc
import OCI

extension ContainerManager {
    /// Stops every process of running container `id` until `resume`.
    public func pause(id: String) throws(RuntimeError) {
        try transition(id: id, doing: "pause", from: .running, "container not running", op: .pause, to: .paused)
    }

    /// Lets the processes of paused container `id` continue.
    public func resume(id: String) throws(RuntimeError) {
        try transition(id: id, doing: "resume", from: .paused, "container not paused", op: .resume, to: .running)
    }

    /// Under the container's lock: checks the observed status, asks the sandbox, records the new status.
    private func transition(id: String, doing verb: String, from expected: ContainerStatus, _ refusal: String,
                            op: ControlOperation, to next: ContainerStatus) throws(RuntimeError) {
        let lock = try store.lock(id: id)
        var record = try store.load(id: id)
        let status = observedStatus(record)
        guard status == expected else {
            throw RuntimeError("cannot \(verb) container \"\(id)\": \(refusal) (\(status.rawValue))")
        }
        let response = try ControlClient.send(ControlRequest(op: op), socketPath: socketPath(id), containerID: id)
        if !response.ok { throw RuntimeError("cannot \(verb) container \"\(id)\": \(response.error ?? "unknown error")") }
        record.status = next
        try store.save(record)
        _ = lock
    }

    /// The Sentry's accounting for container `id` (running or paused).
    public func stats(id: String) throws(RuntimeError) -> ControlStats {
        let status = observedStatus(try store.load(id: id))
        guard status == .running || status == .paused else {
            throw RuntimeError("cannot get stats of container \"\(id)\": container not running (\(status.rawValue))")
        }
        let response = try ControlClient.send(ControlRequest(op: .stats), socketPath: socketPath(id), containerID: id)
        guard response.ok, let stats = response.stats else {
            throw RuntimeError("cannot get stats of container \"\(id)\": \(response.error ?? "no stats in the answer")")
        }
        return stats
    }

    /// Whether `id` is still created, running or paused (for `events` to know when to stop).
    public func isLive(id: String) -> Bool {
        guard let record = try? store.load(id: id) else { return false }
        return [.created, .running, .paused].contains(observedStatus(record))
    }

    /// Applies new resource limits to container `id`: memory and pids in the Sentry, everything to the host
    /// cgroup the sandbox joined (when the spec named one), and all of it recorded in `<root>/<id>/resources.json`.
    public func update(id: String, _ update: ResourceUpdate) throws(RuntimeError) {
        let lock = try store.lock(id: id)
        let record = try store.load(id: id)
        let status = observedStatus(record)
        guard status == .created || status == .running || status == .paused else {
            throw RuntimeError("cannot update container \"\(id)\": container not running (\(status.rawValue))")
        }
        if update.memoryLimit != nil || update.pidsLimit != nil {
            var request = ControlRequest(op: .update)
            request.memoryLimit = update.memoryLimit
            request.pidsLimit = update.pidsLimit
            let response = try ControlClient.send(request, socketPath: socketPath(id), containerID: id)
            if !response.ok { throw RuntimeError("cannot update container \"\(id)\": \(response.error ?? "unknown error")") }
        }
        let path = store.directory(of: id) + "/" + ResourceUpdate.recordFile
        var recorded = ResourceUpdate()
        if let bytes = try? AtomicFile.read(path), let previous = try? ResourceUpdate.parse(json: bytes, source: path) {
            recorded = previous
        }
        recorded.merge(update)
        try AtomicFile.write(path, Array(recorded.ociJSON().utf8), mode: 0o600)
        if let cgroupPath = record.cgroupPath {
            try HostCgroup.update(path: cgroupPath, resources: update.sections.mapValues { .object($0) }).join([])
        } else {
            for warning in update.unappliedWarnings { log.warning("container \"\(id)\": \(warning)") }
        }
        _ = lock
    }
}
