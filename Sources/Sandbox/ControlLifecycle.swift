// The boot's answers to `pause`, `resume`, `stats` and `update` (the control thread calls these; see
// ControlServer.swift). The Sentry does the work (Sentry/Kernel/SandboxControls.swift).
import Sentry

/// The Sentry's accounting as it travels over the control socket.
public struct ControlStats: Codable, Sendable, Equatable {
    public var cpuUser: UInt64
    public var cpuSystem: UInt64
    public var memoryUsage: UInt64
    /// Absent when unlimited.
    public var memoryLimit: UInt64?
    public var memoryFailures: UInt64
    public var tasks: UInt64
    public var pidsLimit: UInt64?

    public init(cpuUser: UInt64, cpuSystem: UInt64, memoryUsage: UInt64, memoryLimit: UInt64?, memoryFailures: UInt64,
                tasks: UInt64, pidsLimit: UInt64?) {
        self.cpuUser = cpuUser; self.cpuSystem = cpuSystem; self.memoryUsage = memoryUsage; self.memoryLimit = memoryLimit
        self.memoryFailures = memoryFailures; self.tasks = tasks; self.pidsLimit = pidsLimit
    }
}

extension BootSupervisor {
    func handleLifecycleExtra(_ request: ControlRequest) -> ControlResponse {
        guard let kernel else { return .failure("this sandbox cannot \(request.op.rawValue)") }
        if hasExited { return .failure("container not running (stopped)") }
        switch request.op {
        case .pause:
            guard isRunning else { return .failure("container not running (created)") }
            return kernel.pause() ? ControlResponse(ok: true) : .failure("container already paused")
        case .resume:
            return kernel.resume() ? ControlResponse(ok: true) : .failure("container not paused")
        case .stats:
            let usage = kernel.resourceUsage()
            var response = ControlResponse(ok: true)
            response.stats = ControlStats(
                cpuUser: usage.cpuUserNanoseconds, cpuSystem: usage.cpuSystemNanoseconds, memoryUsage: usage.memoryUsage,
                memoryLimit: usage.memoryLimit, memoryFailures: usage.memoryFailures, tasks: UInt64(usage.tasks),
                pidsLimit: usage.pidsLimit)
            return response
        case .update:
            func limit(_ value: Int64?) -> SentryLimit? {
                guard let value else { return nil }
                return value < 0 ? .unlimited : .limit(UInt64(value))
            }
            if let memory = request.memoryLimit, memory == 0 {
                return .failure("memory limit must be a positive number of bytes or -1")
            }
            kernel.updateLimits(memory: limit(request.memoryLimit), pids: limit(request.pidsLimit))
            return ControlResponse(ok: true)
        default:
            return .failure("unexpected operation \(request.op.rawValue)")
        }
    }
}
