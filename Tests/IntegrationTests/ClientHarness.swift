// Real container clients driving the built runsc: a private dockerd (its own data root, exec root and
// socket, so a docker already running on the machine is left alone), podman and containerd's ctr. Each
// client is started by the tests themselves from Debian's packages (`make test` installs them); a client
// that is missing is a test failure that says what to install, never a silent skip.
import Foundation
import XCTest

/// Output of one client command.
struct ClientResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum ClientHarness {
    /// The runsc under test (the release binary `make test` built, or RUNSC_BINARY).
    static var runsc: String { (try? RunscHarness.locateBinary()) ?? "runsc" }

    /// Runs a command with a deadline, stdin from /dev/null, outputs through files (a daemon the command
    /// starts may keep inherited pipes open).
    @discardableResult
    static func run(_ argv: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        let scratch = NSTemporaryDirectory() + "runsc-client-" + UUID().uuidString.prefix(8)
        let outPath = scratch + ".out", errPath = scratch + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { unlink(outPath); unlink(errPath) }
        // posix_spawn and waitpid of our own: Foundation's Process sometimes misses the exit of a client
        // that leaves daemons behind (podman run -d), leaving it a zombie it never reaps.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_APPEND, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard rc == 0 else { throw HarnessError("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        var reaped = false
        while !reaped && Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true } else { usleep(10_000) }
        }
        let timedOut = !reaped
        if timedOut {
            kill(pid, SIGTERM)
            usleep(200_000)
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if timedOut {
            throw HarnessError("\(argv.joined(separator: " ")) did not finish in \(Int(timeout)) s; stdout: \(stdout) stderr: \(stderr)")
        }
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ClientResult(status: code, stdout: stdout, stderr: stderr)
    }

    /// Runs `argv` on a pty (python3's pty module plays the user): waits for a shell's prompt, types
    /// `echo hi; tty`, interrupts `sleep 100` with ^C, then `exit 3`; stdout is what it saw and `status=N`.
    static func runOnTerminal(_ argv: [String]) throws -> ClientResult {
        let driver = NSTemporaryDirectory() + "runsc-pty-driver.py"
        try """
            import os, pty, select, sys, time
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(sys.argv[1], sys.argv[1:])
            def until(token, timeout=20):
                buf, end = b"", time.time() + timeout
                while time.time() < end:
                    if select.select([fd], [], [], 0.2)[0]:
                        try:
                            data = os.read(fd, 4096)
                        except OSError:
                            break
                        if not data:
                            break
                        buf += data
                        if token in buf:
                            break
                return buf
            out = until(b"# ")
            os.write(fd, b"echo hi; tty\\r")
            out += until(b"/dev/pts")
            out += until(b"# ")
            os.write(fd, b"sleep 100\\r")
            time.sleep(0.5)
            os.write(fd, b"\\x03")
            out += until(b"# ")
            os.write(fd, b"exit 3\\r")
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace") + "\\nstatus=%d\\n" % os.waitstatus_to_exitcode(status))
            """.write(toFile: driver, atomically: true, encoding: .utf8)
        return try run(["/usr/bin/python3", driver] + argv, timeout: 90)
    }

    /// The path of an installed program, or a failure naming the Debian package.
    static func require(_ program: String, package: String) throws -> String {
        for directory in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"] {
            let path = directory + "/" + program
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw HarnessError("\(program) is not installed: run `make deps` (Debian package \(package))")
    }

    /// A rootfs directory with a static busybox and its applets, for importing as an image.
    static func busyboxRootfs(at directory: String) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: directory)
        for sub in ["bin", "etc", "tmp", "proc", "dev", "sys", "root"] {
            try fm.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        let busybox = try require("busybox", package: "busybox-static")
        try fm.copyItem(atPath: busybox, toPath: directory + "/bin/busybox")
        for applet in ["sh", "echo", "cat", "ls", "sleep", "true", "false", "id", "hostname", "pwd", "env", "touch",
                       "date", "wc", "kill", "ps", "grep", "head", "tty", "stty", "mount", "trap"] {
            try? fm.createSymbolicLink(atPath: directory + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/tmp:/bin/sh\n".write(toFile: directory + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nuser:x:1000:\n".write(toFile: directory + "/etc/group", atomically: true, encoding: .utf8)
    }
}

/// A dockerd of the tests' own, with runsc registered as runtime "runsc-swift" and a busybox image.
final class PrivateDocker: @unchecked Sendable {
    static let runtimeName = "runsc-swift"
    static let image = "runsc-test-busybox"
    let base = "/var/lib/runsc-test-docker"
    var socket: String { "unix://" + base + "/docker.sock" }
    let docker: String
    private var daemon: Process?

    init() throws {
        docker = try ClientHarness.require("docker", package: "docker.io")
        let dockerd = try ClientHarness.require("dockerd", package: "docker.io")
        _ = try ClientHarness.require("containerd", package: "containerd")
        _ = try ClientHarness.require("runc", package: "runc")
        let fm = FileManager.default
        try fm.createDirectory(atPath: base, withIntermediateDirectories: true)
        // A previous run that was killed may have left its daemon: stop it first (its pid file says which).
        if let old = try? String(contentsOfFile: base + "/docker.pid", encoding: .utf8), let pid = Int32(old.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGTERM)
            for _ in 0..<100 where kill(pid, 0) == 0 { usleep(100_000) }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dockerd)
        // Loopback only: no bridge, no iptables; runsc registered by absolute path.
        process.arguments = [
            "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false",
            "--data-root", base + "/data", "--exec-root", base + "/exec", "--pidfile", base + "/docker.pid",
            "-H", socket, "--add-runtime", "\(Self.runtimeName)=\(ClientHarness.runsc)",
        ]
        let log = FileHandle(forWritingAtPath: base + "/dockerd.log") ?? {
            fm.createFile(atPath: base + "/dockerd.log", contents: nil)
            return FileHandle(forWritingAtPath: base + "/dockerd.log")!
        }()
        log.truncateFile(atOffset: 0)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        daemon = process
        var ready = false
        for _ in 0..<300 where !ready {
            usleep(200_000)
            ready = (try? ClientHarness.run([docker, "-H", socket, "version"], timeout: 10))?.status == 0
            if !process.isRunning { break }
        }
        guard ready else {
            let tail = (try? String(contentsOfFile: base + "/dockerd.log", encoding: .utf8))?.suffix(2000) ?? ""
            stop()
            throw HarnessError("dockerd did not become ready; its log ends with: \(tail)")
        }
        let rootfs = base + "/busybox-rootfs"
        try ClientHarness.busyboxRootfs(at: rootfs)
        let imported = try ClientHarness.run(["/bin/sh", "-c", "tar -C '\(rootfs)' -c . | '\(docker)' -H '\(socket)' import - \(Self.image)"])
        guard imported.status == 0 else { throw HarnessError("docker import failed: \(imported.stderr)") }
    }

    /// `docker -H <ours> ARGS...`
    @discardableResult
    func callAsFunction(_ arguments: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        try ClientHarness.run([docker, "-H", socket] + arguments, timeout: timeout)
    }

    /// `docker run --runtime runsc-swift --network=none ARGS...` with the test image inserted before `command`.
    func run(_ options: [String], _ command: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        try self(["run", "--runtime", Self.runtimeName] + (options.contains { $0.hasPrefix("--network") } ? [] : ["--network=none"])
                 + options + [Self.image] + command, timeout: timeout)
    }

    func stop() {
        guard let daemon, daemon.isRunning else { return }
        _ = try? self(["rm", "-f"] + ((try? self(["ps", "-aq"]))?.stdout.split(separator: "\n").map(String.init) ?? []), timeout: 60)
        daemon.terminate()
        for _ in 0..<200 where daemon.isRunning { usleep(50_000) }
        if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        self.daemon = nil
    }
}
