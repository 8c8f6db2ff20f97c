// The boot's answers to `exec`, `execWait` and `ps` (the control thread calls these; see ControlServer.swift).
import Glibc
import Sentry

extension BootSupervisor {
    /// Starts a process in the running container. Takes over the three stdio descriptors on success.
    func handleExec(_ request: ControlRequest, descriptors: inout [Int32]) -> ControlResponse {
        guard let kernel else { return .failure("this sandbox cannot exec") }
        guard isRunning else { return .failure("container is not running") }
        guard let argv = request.argv, let first = argv.first, !first.isEmpty else {
            return .failure("exec: no command given")
        }
        let terminal = request.terminal == true
        guard descriptors.count == (terminal ? 1 : 3) else {
            return .failure(terminal ? "exec: expected 1 terminal descriptor, got \(descriptors.count)"
                                     : "exec: expected 3 stdio descriptors, got \(descriptors.count)")
        }
        var exec = ExecRequest(argv: argv, environment: request.env ?? [], replaceEnvironment: request.replaceEnv ?? false,
                               workingDirectory: request.cwd, uid: request.uid, gid: request.gid,
                               stdioFDs: terminal ? [] : descriptors)
        if terminal { exec.consoleFD = descriptors[0] }  // a host pty replica (Console.swift)
        descriptors = []  // the kernel owns them now, on success or failure
        do {
            return ControlResponse(ok: true, pid: try kernel.exec(exec))
        } catch {
            return .failure("\(error)")
        }
    }

    /// Answers when the exec'd process `request.pid` has exited, from a thread of its own so the control
    /// thread keeps serving (and the answer is not lost while the process runs for long).
    func handleExecWait(_ request: ControlRequest, connection fd: Int32) -> ControlResponse? {
        guard let kernel else { return .failure("this sandbox cannot exec") }
        guard let pid = request.pid else { return .failure("execWait: no pid given") }
        do {
            if let status = try kernel.execExitStatus(pid: pid) { return ControlResponse(ok: true, exitStatus: status.shellCode) }
        } catch {
            return .failure("\(error)")
        }
        beginRequest()
        do {
            try HostThread.detach { [self] in
                defer { endRequest() }
                var response = ControlResponse.failure("process \(pid) vanished")
                // Polled: exits are rare and a few milliseconds of latency do not matter to the CLI.
                while true {
                    do {
                        if let status = try kernel.execExitStatus(pid: pid) {
                            response = ControlResponse(ok: true, exitStatus: status.shellCode)
                            break
                        }
                    } catch {
                        response = .failure("\(error)")
                        break
                    }
                    usleep(5_000)
                }
                try? Sys.writeAll(fd, ControlProtocol.encode(response), what: "execWait response")
                close(fd)
            }
        } catch {
            endRequest()
            return .failure("execWait: \(error)")
        }
        return nil
    }

    func handlePs() -> ControlResponse {
        guard let kernel else { return .failure("this sandbox cannot list processes") }
        let list = kernel.processTable().map {
            ControlProcess(pid: $0.pid, ppid: $0.parentPID, uid: $0.uid, command: $0.command, cpu: $0.cpuNanoseconds)
        }
        return ControlResponse(ok: true, processes: list)
    }
}
