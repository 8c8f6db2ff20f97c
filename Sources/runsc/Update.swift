import ArgumentParser
import Sandbox

/// `runsc update [flags] [-r FILE|-] ID`: runc's update. Memory and pids limits are applied by the Sentry;
/// CPU, cpuset and blkio values are checked and recorded (they act only through a cgroup).
struct UpdateCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "update", abstract: "Update a container's resource limits.",
                             discussion: "Flags override values from --resources. Sizes take k, m, g suffixes; -1 means unlimited.")
    }

    @Option(name: [.customShort("r"), .long], parsing: .unconditional, help: "An OCI linux.resources JSON file, or - for stdin.") var resources: String?
    @Option(name: .long, parsing: .unconditional, help: "Memory limit in bytes (applied by the Sentry).") var memory: String?
    @Option(name: .customLong("memory-reservation"), parsing: .unconditional, help: "Memory soft limit (recorded).") var memoryReservation: String?
    @Option(name: .customLong("memory-swap"), parsing: .unconditional, help: "Memory plus swap limit (recorded).") var memorySwap: String?
    @Option(name: .customLong("kernel-memory"), parsing: .unconditional, help: "Kernel memory limit (recorded).") var kernelMemory: String?
    @Option(name: .customLong("kernel-memory-tcp"), parsing: .unconditional, help: "Kernel TCP buffer limit (recorded).") var kernelMemoryTCP: String?
    @Option(name: .customLong("cpu-period"), parsing: .unconditional, help: "CPU CFS period in microseconds (recorded).") var cpuPeriod: String?
    @Option(name: .customLong("cpu-quota"), parsing: .unconditional, help: "CPU CFS quota in microseconds (recorded).") var cpuQuota: String?
    @Option(name: [.customLong("cpu-share"), .customLong("cpu-shares")], parsing: .unconditional, help: "CPU shares (recorded).") var cpuShare: String?
    @Option(name: .customLong("cpu-rt-period"), parsing: .unconditional, help: "Real-time period in microseconds (recorded).") var cpuRtPeriod: String?
    @Option(name: .customLong("cpu-rt-runtime"), parsing: .unconditional, help: "Real-time runtime in microseconds (recorded).") var cpuRtRuntime: String?
    @Option(name: .customLong("cpuset-cpus"), parsing: .unconditional, help: "CPUs to use, e.g. 0-3,5 (recorded).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), parsing: .unconditional, help: "Memory nodes to use (recorded).") var cpusetMems: String?
    @Option(name: .customLong("blkio-weight"), parsing: .unconditional, help: "Block IO weight, 10 to 1000 (recorded).") var blkioWeight: String?
    @Option(name: .customLong("pids-limit"), parsing: .unconditional, help: "Maximum number of tasks; -1 for none (applied by the Sentry).") var pidsLimit: String?
    @Argument(help: "The container id.") var id: String

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        var update = ResourceUpdate()
        if let resources {
            let source = resources == "-" ? "stdin" : resources
            let bytes: [UInt8]
            do {
                bytes = try AtomicFile.read(resources == "-" ? "/dev/stdin" : resources)
            } catch {
                throw RuntimeError("--resources: \(error.runtimeError.description)")
            }
            update = try ResourceUpdate.parse(json: bytes, source: source)
        }
        let flags: [(String, String?)] = [
            ("memory", memory), ("memory-reservation", memoryReservation), ("memory-swap", memorySwap),
            ("kernel-memory", kernelMemory), ("kernel-memory-tcp", kernelMemoryTCP), ("cpu-period", cpuPeriod),
            ("cpu-quota", cpuQuota), ("cpu-share", cpuShare), ("cpu-rt-period", cpuRtPeriod),
            ("cpu-rt-runtime", cpuRtRuntime), ("cpuset-cpus", cpusetCpus), ("cpuset-mems", cpusetMems),
            ("blkio-weight", blkioWeight), ("pids-limit", pidsLimit),
        ]
        for case let (flag, value?) in flags { try update.set(flag: flag, value) }
        if update.sections.isEmpty {
            throw RuntimeError("update: nothing to update (give --memory, --pids-limit, ... or --resources)")
        }
        try ContainerManager(options: options, log: log).update(id: id, update)
        return 0
    }
}
