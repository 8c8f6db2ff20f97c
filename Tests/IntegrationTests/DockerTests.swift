// docker driving runsc as it drives runc: a private dockerd with runsc registered as a runtime, the
// commands users type, and our error messages reaching them through the client.
import Foundation
import XCTest

final class DockerTests: XCTestCase {
    nonisolated(unsafe) static var docker: PrivateDocker?
    nonisolated(unsafe) static var startError: Error?
    var docker: PrivateDocker!

    override class func setUp() {
        do { docker = try PrivateDocker() } catch { startError = error }
    }

    override class func tearDown() {
        docker?.stop()
        docker = nil
    }

    override func setUpWithError() throws {
        if let error = Self.startError { throw error }
        docker = Self.docker
    }

    func testRunExitCodesEnvironmentWorkdirUserHostname() throws {
        let exit = try docker.run(["--rm"], ["sh", "-c", "echo out; echo err >&2; exit 7"])
        XCTAssertEqual(exit.status, 7, exit.stderr)
        XCTAssertEqual(exit.stdout, "out\n")
        XCTAssertEqual(exit.stderr, "err\n")

        let env = try docker.run(["--rm", "-e", "GREETING=hello there", "-w", "/tmp", "-u", "1000:1000", "--hostname", "boxname"],
                                 ["sh", "-c", "echo \"$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)\""])
        XCTAssertEqual(env.status, 0, env.stderr)
        XCTAssertEqual(env.stdout, "hello there|/tmp|1000:1000|boxname\n")

        // The kernel the app sees is the Sentry's, not the host's.
        let uname = try docker.run(["--rm"], ["cat", "/proc/version"])
        XCTAssertEqual(uname.status, 0, uname.stderr)
        let host = try String(contentsOfFile: "/proc/version", encoding: .utf8)
        XCTAssertNotEqual(uname.stdout, host)
        XCTAssertFalse(uname.stdout.isEmpty)

        // docker's sysfs mount is the Sentry's sysfs (what nproc and runtimes probe); its masked paths are empty.
        let sys = try docker.run(["--rm"], ["sh", "-c", "cat /sys/devices/system/cpu/online; ls /sys/firmware | wc -l; cat /proc/kcore | wc -c"])
        XCTAssertEqual(sys.status, 0, sys.stderr)
        let lines = sys.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(lines.count, 3, sys.stdout)
        XCTAssertTrue(lines.first?.hasPrefix("0") == true, sys.stdout)
        XCTAssertEqual(Array(lines.dropFirst()), ["0", "0"], "masked paths must be empty: \(sys.stdout)")

        // docker's /dev/shm is noexec: a program copied there does not run (126, as on runc).
        let shm = try docker.run(["--rm"], ["sh", "-c", "cp /bin/busybox /dev/shm/b && /dev/shm/b true; echo $?"])
        XCTAssertEqual(shm.stdout, "126\n", shm.stderr)
    }

    func testReadOnlyRootTmpfsAndVolumes() throws {
        let volume = NSTemporaryDirectory() + "runsc-docker-vol-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: volume) }
        try "from the host\n".write(toFile: volume + "/in", atomically: true, encoding: .utf8)

        let readOnly = try docker.run(["--rm", "--read-only", "--tmpfs", "/scratch:size=1m"],
                                      ["sh", "-c", "touch /x 2>/dev/null && echo wrote-root; echo data > /scratch/f && cat /scratch/f"])
        XCTAssertEqual(readOnly.status, 0, readOnly.stderr)
        XCTAssertEqual(readOnly.stdout, "data\n", "the root must be read-only and the tmpfs writable")

        let rw = try docker.run(["--rm", "-v", volume + ":/vol"], ["sh", "-c", "cat /vol/in; echo from the container > /vol/out"])
        XCTAssertEqual(rw.status, 0, rw.stderr)
        XCTAssertEqual(rw.stdout, "from the host\n")
        XCTAssertEqual(try String(contentsOfFile: volume + "/out", encoding: .utf8), "from the container\n")

        let ro = try docker.run(["--rm", "-v", volume + ":/vol:ro"], ["sh", "-c", "echo x > /vol/out2 || echo refused"])
        XCTAssertEqual(ro.stdout, "refused\n", ro.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: volume + "/out2"))

        // Without a volume the image itself is not changed by what the container writes.
        let write = try docker.run(["--rm"], ["sh", "-c", "echo scribble > /etc/passwd && echo ok"])
        XCTAssertEqual(write.stdout, "ok\n", write.stderr)
        let again = try docker.run(["--rm"], ["head", "-1", "/etc/passwd"])
        XCTAssertEqual(again.stdout, "root:x:0:0:root:/root:/bin/sh\n")
    }

    func testNetworkNoneAndHostBothRun() throws {
        for mode in ["--network=none", "--network=host"] {
            let result = try docker.run(["--rm", mode], ["echo", "ran"])
            XCTAssertEqual(result.status, 0, "\(mode): \(result.stderr)")
            XCTAssertEqual(result.stdout, "ran\n", mode)
        }
    }

    func testDetachedLogsExecTopStatsKillStopAndRemove() throws {
        let started = try docker.run(["-d", "--memory", "256m", "--pids-limit", "64"],
                                     ["sh", "-c", "trap 'echo got USR1' USR1; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? docker(["rm", "-f", id]) }
        usleep(800_000)

        let logs = try docker(["logs", id])
        XCTAssertTrue(logs.stdout.contains("tick 1"), logs.stdout + logs.stderr)

        let exec = try docker(["exec", id, "sh", "-c", "echo in exec; exit 4"])
        XCTAssertEqual(exec.status, 4, exec.stderr)
        XCTAssertEqual(exec.stdout, "in exec\n")
        let execEnv = try docker(["exec", "-e", "X=y", "-w", "/etc", id, "sh", "-c", "echo $X $(pwd)"])
        XCTAssertEqual(execEnv.stdout, "y /etc\n", execEnv.stderr)

        // top: the sandbox's host processes, matched against the host's ps as for runc.
        let top = try docker(["top", id])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertTrue(top.stdout.contains("runsc-sandbox"), top.stdout)

        // stats: the sandbox sits in the container's cgroup with its limits.
        let stats = try docker(["stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", id])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        let fields = stats.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        XCTAssertEqual(fields.count, 2, stats.stdout)
        XCTAssertFalse(fields.first?.hasPrefix("0B") ?? true, "memory usage must be counted: \(stats.stdout)")
        XCTAssertNotEqual(fields.last, "0", "the sandbox's processes must be in the cgroup: \(stats.stdout)")

        let signal = try docker(["kill", "-s", "USR1", id])
        XCTAssertEqual(signal.status, 0, signal.stderr)
        var caught = false
        for _ in 0..<50 where !caught {
            usleep(100_000)
            caught = try docker(["logs", id]).stdout.contains("got USR1")
        }
        XCTAssertTrue(caught, "the trap must run on docker kill -s USR1")

        // A shell as init ignores SIGTERM without a trap: docker stop kills it after the grace period.
        let stop = try docker(["stop", "-t", "1", id])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        let inspect = try docker(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id])
        XCTAssertEqual(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "exited 137")
        XCTAssertEqual(try docker(["rm", id]).status, 0)
    }

    func testStopWithATrapExitsCleanlyAndRestartRunsAgain() throws {
        let started = try docker.run(["-d"], ["sh", "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.2; done"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? docker(["rm", "-f", id]) }
        usleep(500_000)
        XCTAssertEqual(try docker(["stop", "-t", "10", id]).status, 0)
        XCTAssertEqual(try docker(["inspect", "-f", "{{.State.ExitCode}}", id]).stdout, "0\n")
        XCTAssertTrue(try docker(["logs", id]).stdout.contains("bye"))

        XCTAssertEqual(try docker(["restart", "-t", "1", id]).status, 0)
        XCTAssertEqual(try docker(["inspect", "-f", "{{.State.Running}}", id]).stdout, "true\n")
        var twice = false
        for _ in 0..<50 where !twice {
            usleep(100_000)
            twice = try docker(["logs", id]).stdout.components(separatedBy: "started").count == 3
        }
        XCTAssertTrue(twice, "restart must run the container's command again")
    }

    private func interactive(_ arguments: [String]) throws -> String {
        let result = try ClientHarness.runOnTerminal([docker.docker, "-H", docker.socket] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stdout
    }

    func testRunAndExecWithATerminal() throws {
        // docker run -it: the container's shell on a pty the Sentry runs (echo, ^C → SIGINT, exit status).
        let run = try interactive(["run", "-it", "--rm", "--network=none", "--runtime", PrivateDocker.runtimeName,
                                   PrivateDocker.image, "sh"])
        XCTAssertTrue(run.contains("hi\r\n/dev/pts/0\r\n"), run)
        XCTAssertTrue(run.contains("^C"), "^C must be echoed and interrupt sleep: \(run)")
        XCTAssertTrue(run.hasSuffix("status=3\n"), run)

        let started = try docker.run(["-d"], ["sleep", "120"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? docker(["rm", "-f", id]) }
        // docker run -t: /dev/console is the container's terminal (absent without one, as on runc).
        let console = try docker.run(["--rm", "-t"], ["sh", "-c", "echo to-console > /dev/console; ls /dev/console"])
        XCTAssertEqual(console.stdout, "to-console\r\n/dev/console\r\n", console.stderr)
        let noConsole = try docker.run(["--rm"], ["ls", "/dev/console"])
        XCTAssertNotEqual(noConsole.status, 0, noConsole.stdout)

        let exec = try interactive(["exec", "-it", id, "sh"])
        XCTAssertTrue(exec.contains("hi\r\n/dev/pts/"), exec)
        XCTAssertTrue(exec.hasSuffix("status=3\n"), exec)
    }

    func testPauseUnpauseAndUpdate() throws {
        let started = try docker.run(["-d"], ["sh", "-c", "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"])
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? docker(["rm", "-f", id]) }
        usleep(500_000)
        XCTAssertEqual(try docker(["pause", id]).status, 0)
        XCTAssertEqual(try docker(["inspect", "-f", "{{.State.Status}}", id]).stdout, "paused\n")
        let before = try docker(["logs", id]).stdout.split(separator: "\n").count
        usleep(600_000)
        XCTAssertEqual(try docker(["logs", id]).stdout.split(separator: "\n").count, before, "nothing runs while paused")
        XCTAssertEqual(try docker(["unpause", id]).status, 0)
        var resumed = false
        for _ in 0..<50 where !resumed {
            usleep(100_000)
            resumed = try docker(["logs", id]).stdout.split(separator: "\n").count > before
        }
        XCTAssertTrue(resumed, "the loop must go on after unpause")

        // docker update reaches the Sentry and the sandbox's host cgroup.
        let update = try docker(["update", "--memory", "300m", "--memory-swap", "300m", "--pids-limit", "20", id])
        XCTAssertEqual(update.status, 0, update.stderr)
        let limit = try? String(contentsOfFile: "/sys/fs/cgroup/pids/docker/\(id)/pids.max", encoding: .utf8)
        if let limit { XCTAssertEqual(limit, "72\n", "20 app tasks: two host tasks each plus the Sentry's own") }
        XCTAssertEqual(try docker(["inspect", "-f", "{{.HostConfig.PidsLimit}}", id]).stdout, "20\n")
    }

    func testErrorsReachTheUserThroughDocker() throws {
        let missing = try docker.run(["--rm"], ["/no/such/program"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/no/such/program"), missing.stderr)

        let hostPID = try docker.run(["--rm", "--pid=host"], ["true"])
        XCTAssertNotEqual(hostPID.status, 0)
        XCTAssertTrue(hostPID.stderr.contains("host's pid namespace"), hostPID.stderr)

        let device = try docker.run(["--rm", "--device", "/dev/null:/dev/extra"], ["true"])
        XCTAssertNotEqual(device.status, 0)
        XCTAssertTrue(device.stderr.contains("/dev/extra"), device.stderr)
    }
}
