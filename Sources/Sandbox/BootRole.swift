// Glue to the Sentry: the `runsc boot` role. Order: read the spec, confine (empty root, no privileges,
// seccomp), build the kernel and load init (errors reach `create` through the ready descriptor), serve the
// control socket, wait for "start", run, then record the exit status and exit with it.
import FoundationEssentials
import Glibc
import OCI
import Platform
import PlatformPtrace
import Sentry

public enum BootRole {
    public static func run(_ options: BootOptions, runtime: RuntimeOptions) -> Never {
        // Our stderr is the app's: our own messages go to the log descriptor (and errors to `create`).
        let log = RuntimeLog(format: runtime.logFormat, debug: runtime.debug, logFD: options.logFD, debugFD: -1,
                             echoErrors: false)
        let kernel: any SentryKernel
        do {
            kernel = try prepareKernel(options, runtime: runtime, log: log)
        } catch {
            log.error("boot \(options.id): \(error)")
            report(options.readyFD, ReadyReport(ok: nil, error: "\(error)"))
            exit(125)
        }
        let supervisor: BootSupervisor
        do {
            supervisor = try BootSupervisor(exitStatusFD: options.exitStatusFD, kernel: kernel) { signal, all in
                try kernel.signal(signal, allProcesses: all)
            }
            try supervisor.serve(listenFD: options.controllerFD)
        } catch {
            report(options.readyFD, ReadyReport(ok: nil, error: "control socket: \(error)"))
            exit(125)
        }
        report(options.readyFD, ReadyReport(ok: true, error: nil))

        switch supervisor.waitForCommand() {
        case .start(let connection):
            do {
                try kernel.start()
                supervisor.reportStart(connection: connection, error: nil)
            } catch {
                log.error("boot \(options.id): start: \(error)")
                supervisor.reportStart(connection: connection, error: "\(error)")
                supervisor.finish(code: 127)
            }
        case .killedBeforeStart(let signal):
            supervisor.finish(code: 128 + signal)
        case .controlLost:
            log.error("boot \(options.id): control socket lost before start")
            supervisor.finish(code: 125)
        }
        let status = kernel.wait()
        log.debug("boot \(options.id): init exited: \(status)")
        supervisor.finish(code: status.shellCode)
    }

    static func prepareKernel(_ options: BootOptions, runtime: RuntimeOptions, log: RuntimeLog) throws -> any SentryKernel {
        let specBytes = try Sys.readAll(options.specFD, what: "read spec from --spec-fd \(options.specFD)")
        close(options.specFD)
        let spec = try SpecLoader.decode(Data(specBytes))
        let plan = try BootPlan.make(from: spec)
        for key in plan.sysctlSkipped {
            log.debug("boot \(options.id): linux.sysctl[\"\(key)\"]: accepted, but the Sentry has no such setting; skipped")
        }
        for name in plan.seccompSkippedNames {
            log.debug("boot \(options.id): linux.seccomp: syscall \"\(name)\" does not exist on x86-64, rule skipped")
        }

        // The MemoryFile first: the filter allows mapping that one file and no other.
        let memory = try MemoryFile(limit: plan.memoryLimit)
        try Confinement.enterEmptyRoot()
        try Confinement.dropPrivileges()
        let rules = SeccompPolicy.sentry(memoryFileFD: memory.fd)
        // With --debug a missing syscall is named in the log instead of killing silently.
        try SeccompFilter.install(rules, trapUnknown: runtime.debug, reportFD: options.logFD >= 0 ? options.logFD : 2)
        log.debug("boot \(options.id): seccomp allowlist installed (\(rules.count) rules): "
                  + rules.map { $0.conditions.isEmpty ? $0.name : $0.name + "(restricted)" }.joined(separator: " "))

        let platform = try PtracePlatform(memoryFileFD: memory.fd)
        let kernel = try Kernel(config: sentryConfig(plan, options: options, runtime: runtime), platform: platform,
                                memoryFile: memory)
        try kernel.prepare()
        return kernel
    }

    static func sentryConfig(_ plan: BootPlan, options: BootOptions, runtime: RuntimeOptions) -> SentryConfig {
        var config = SentryConfig(argv: plan.argv, environment: plan.environment, goferSocket: options.goferFD)
        config.workingDirectory = plan.workingDirectory
        config.hostname = plan.hostname
        config.uid = plan.uid
        config.gid = plan.gid
        config.additionalGids = plan.additionalGids
        config.umask = plan.umask
        config.rootReadOnly = plan.rootReadOnly
        config.rootOverlay = runtime.overlay2 == .none ? .none : .memory
        config.rootShared = runtime.fileAccess == .shared
        config.mountsShared = runtime.fileAccessMounts == .shared
        config.hostUDSConnect = runtime.hostUDS.allowsOpen
        config.hostUDSCreate = runtime.hostUDS.allowsCreate
        config.mounts = plan.mounts.map { mount in
            let source: SentryMountSource
            switch mount.kind {
            case .proc: source = .proc
            case .dev: source = .dev
            case .tmpfs: source = .tmpfs
            case .sysfs: source = .sysfs
            case .empty: source = .empty
            case .bind: source = .gofer(bind: mount.bindIndex ?? -1)
            }
            var options = TmpfsOptions()
            if let t = mount.tmpfs {
                // size=N% is of the sandbox's memory: its limit if the spec sets one, else the host's.
                let physical = UInt64(max(0, sysconf(Int32(_SC_PHYS_PAGES)))) * UInt64(max(0, sysconf(Int32(_SC_PAGESIZE))))
                options = TmpfsOptions(sizeLimit: t.sizeLimit(memory: plan.memoryLimit ?? physical), inodeLimit: t.inodes,
                                       mode: t.mode, uid: t.uid, gid: t.gid)
            }
            var planned = SentryMount(destination: mount.destination, source: source, readOnly: mount.readOnly, tmpfs: options)
            (planned.noSUID, planned.noDev, planned.noExec) = (mount.noSUID, mount.noDev, mount.noExec)
            return planned
        }
        config.rlimits = plan.rlimits.mapValues { ($0.soft, $0.hard) }
        config.capabilities = plan.capabilities
        config.noNewPrivileges = plan.noNewPrivileges
        config.seccomp = plan.seccomp
        config.maskedPaths = plan.maskedPaths
        config.readonlyPaths = plan.readonlyPaths
        config.sysctl = plan.sysctl
        config.pidsLimit = plan.pidsLimit
        config.stdioFDs = [0, 1, 2]
        config.consoleFD = options.consoleFD  // process.terminal: bridged to a Sentry pty (FS/ConsoleBridge.swift)
        config.strace = runtime.strace
        config.debug = runtime.debug
        config.logFD = options.logFD >= 0 ? options.logFD : (runtime.debug || runtime.strace ? 2 : -1)
        return config
    }

    private static func report(_ fd: Int32, _ report: ReadyReport) {
        guard let data = try? JSONEncoder().encode(report) else { return }
        try? Sys.writeAll(fd, String(decoding: data, as: UTF8.self) + "\n", what: "ready report")
        close(fd)
    }
}
