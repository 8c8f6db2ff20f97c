// In-sandbox IPC on a real Sentry: C programs (Tests/SentryTests/programs/ipc_*.c) compiled with the host's
// gcc, run on the Sentry; every check in them prints "ok NAME" or "FAIL NAME" and the exit status counts
// the failures.
import Foundation
import Gofer
import PlatformPtrace
import XCTest
@testable import Sentry

final class IPCTests: XCTestCase {
    private static let programs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("programs")
    private var workDir: URL!

    override func setUpWithError() throws {
        workDir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ipc-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: workDir)
    }

    private func compile(_ name: String) throws -> String {
        let out = workDir.appendingPathComponent(name).path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        p.arguments = ["-O1", "-Wall", "-o", out, IPCTests.programs.appendingPathComponent(name + ".c").path]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "gcc \(name).c failed")
        return out
    }

    /// Runs program `name` on the Sentry; requires every check to pass and the named ones to have run.
    @discardableResult
    private func runChecks(_ name: String, mustPass: [String], file: StaticString = #filePath, line: UInt = #line) throws -> SentryRun {
        let exe = try compile(name)
        let r = try SentryHarness.run([exe], cwd: workDir.path)
        let failed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        XCTAssertTrue(failed.isEmpty, "failed checks:\n" + failed.joined(separator: "\n") + "\nstderr:\n" + r.stderr, file: file, line: line)
        for check in mustPass {
            XCTAssertTrue(r.stdout.contains("ok \(check)\n"), "check \"\(check)\" did not pass:\n\(r.stdout)", file: file, line: line)
        }
        XCTAssertTrue(r.stdout.contains("failures 0\n"), "the program did not finish:\n\(r.stdout)\n\(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.status, .exited(0), file: file, line: line)
        return r
    }

    func testEpollServerClientAndSemantics() throws {
        try runChecks("ipc_epoll", mustPass: [
            "epoll server answered 5 pings", "epoll reports peer close (RDHUP)", "LT ready again", "ET no second report",
            "ONESHOT disabled", "ONESHOT re-armed by MOD", "full pipe not EPOLLOUT", "regular file EPERM",
            "mod EXCLUSIVE EINVAL", "closed file left the interest list", "nested ready", "epoll loop ELOOP",
            "epoll_wait EINTR on signal", "epoll_wait woken by another process",
        ])
    }

    func testEventfdAcrossFork() throws {
        try runChecks("ipc_eventfd", mustPass: [
            "parent read child's 3 increments", "empty nonblocking read EAGAIN", "write of 2^64-1 EINVAL",
            "overflowing write EAGAIN", "full counter: POLLIN only", "semaphore mode counts down by one",
            "blocked writer woken by read", "blocked write landed",
        ])
    }

    func testTimerfdAndSignalfd() throws {
        try runChecks("ipc_timer_signal", mustPass: [
            "three blocking reads see the interval ticks", "gettime", "missed ticks are counted", "disarmed",
            "poll woken by expiry", "epoll woken by boottime timer", "read own SIGUSR1",
            "epoll on signalfd woken by kill from child", "read child's SIGUSR2", "SIGUSR2 no longer read",
            "poll on signalfd", "child's blocking signalfd read",
        ])
    }

    func testPollSelectWakeupsAndSignals() throws {
        try runChecks("ipc_poll", mustPass: [
            "poll woken by writer in another process", "poll slept until the write", "POLLHUP when the last writer closes",
            "POLLNVAL for a closed fd, negative fd ignored", "poll timeout", "POLLERR on write end without readers",
            "poll EINTR on signal", "ppoll mask blocks the signal", "ppoll mask unblocks the pending signal",
            "select woken by writer", "select writes back the time left", "select bad timeval EINVAL", "select folds tv_usec into seconds", "select read and write", "select EBADF", "pselect timeout", "nonblocking pipe read EAGAIN",
        ])
    }

    func testUnixSockets() throws {
        try runChecks("ipc_unix", mustPass: [
            "bind abstract", "abstract name in use", "connect before listen refused", "getsockname abstract",
            "accept4 (unnamed peer)", "SO_PEERCRED is the child", "MSG_PEEK", "MSG_WAITALL reads all", "EOF after peer SHUT_WR",
            "abstract client passed its checks", "nonblocking accept EAGAIN", "name gone after close",
            "bind path in tmpfs", "socket inode", "connect by path", "path in use", "connect after unlink ENOENT",
            "autobind", "nonblocking full write EAGAIN", "full socket not writable", "FIONREAD",
            "EPIPE after peer close", "POLLHUP|POLLRDHUP after peer close", "MSG_NOSIGNAL: EPIPE without SIGPIPE",
            "SIGPIPE kills the writer", "SO_RCVBUF doubled", "AF_INET EAFNOSUPPORT", "AF_NETLINK EAFNOSUPPORT",
            "recvfrom with sender address", "MSG_TRUNC returns the datagram length", "recvmsg sets MSG_TRUNC",
            "connected dgram", "peer connected elsewhere EPERM", "record boundary kept", "seqpacket EOF after close",
        ])
    }

    func testHostPipeStdinReadiness() throws {
        let exe = try compile("ipc_hoststdin")
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let writeEnd = fds[1]
        let outPath = workDir.appendingPathComponent("hoststdin.out").path
        let done = DispatchSemaphore(value: 0)
        // The host writes once the program has looked at the empty pipe, then closes its end.
        Thread {
            for _ in 0..<1000 {
                if let out = try? String(contentsOfFile: outPath, encoding: .utf8), out.contains("host pipe empty at first") { break }
                usleep(10_000)
            }
            usleep(100_000)
            _ = "hello".withCString { write(writeEnd, $0, 5) }
            usleep(200_000)
            close(writeEnd)
            done.signal()
        }.start()
        let r = try runSentry([exe], readOnlyRoot: false, stdin: fds[0], outPath: outPath)
        done.wait()
        close(fds[0])
        XCTAssertTrue(r.stdout.contains("failures 0\n"), r.stdout)
        for check in ["epoll accepts a host pipe", "host pipe empty at first", "epoll sees data written by the host",
                      "poll sees data written by the host", "POLLHUP once the host closes its end"] {
            XCTAssertTrue(r.stdout.contains("ok \(check)\n"), r.stdout)
        }
        XCTAssertEqual(r.status, .exited(0), r.stdout)
    }

    func testBindOnReadOnlyRootIsEROFS() throws {
        let exe = try compile("ipc_unix")
        let r = try runSentry([exe, "readonly-root"], readOnlyRoot: true)
        XCTAssertTrue(r.stdout.contains("ok bind on read-only root EROFS\n"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("ok abstract bind with read-only root\n"), r.stdout + r.stderr)
        XCTAssertEqual(r.status, .exited(0), r.stdout + r.stderr)
    }

    /// Like SentryHarness.run, with a choice of root (the harness gives a writable overlay root) and stdin.
    private func runSentry(_ argv: [String], readOnlyRoot: Bool, stdin: Int32? = nil, outPath: String? = nil) throws -> SentryRun {
        var sv: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
            throw SentryError("socketpair failed")
        }
        let server = GoferServer(rootFD: open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), socket: sv[1], readOnly: true)
        nonisolated(unsafe) let unsafeServer = server
        let serverSocket = sv[1]
        Thread { try? unsafeServer.serve(); close(serverSocket) }.start()
        let outPath = outPath ?? workDir.appendingPathComponent("run.out").path
        let outFD = open(outPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let nullFD = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(outFD); close(nullFD) }
        var config = SentryConfig(argv: argv, environment: ["PATH=/usr/bin:/bin"], goferSocket: sv[0])
        config.rootReadOnly = readOnlyRoot
        config.stdioFDs = [stdin ?? nullFD, outFD, outFD]
        config.logFD = -1
        let memory = try MemoryFile(size: 1 << 30)
        let kernel = try Kernel(config: config, platform: try PtracePlatform(memoryFileFD: memory.fd), memoryFile: memory)
        try kernel.prepare()
        try kernel.start()
        let status = kernel.wait()
        close(sv[0])
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        return SentryRun(status: status, stdout: out, stderr: "")
    }

    func testSCMRightsAndCredentials() throws {
        try runChecks("ipc_scm", mustPass: [
            "sendmsg SCM_RIGHTS", "child read the pipe through the passed fd",
            "bytes glue up to the message with the fd, which ends the read", "MSG_PEEK passes a copy of the fd",
            "received the fd", "the passed fd is the same pipe", "bytes after the fd come alone", "MSG_CTRUNC",
            "SCM_RIGHTS with a bad fd EBADF", "in-flight fd released with the socket", "SCM_CREDENTIALS explicit",
            "SCM_CREDENTIALS attached by the kernel",
        ])
    }

    func testHostileArgumentsGiveErrnos() throws {
        let r = try runChecks("ipc_hostile", mustPass: ["sockets still work afterwards"])
        XCTAssertTrue(r.stdout.contains("made 9800 hostile calls\n"), r.stdout)
    }

    func testPythonSocketpairAndSelectors() throws {
        let script = IPCTests.programs.appendingPathComponent("ipc_selectors.py").path
        let r = try SentryHarness.run(["/usr/bin/python3", script], cwd: workDir.path)
        XCTAssertTrue(r.stdout.contains("selector EpollSelector\n"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("answered 3 child status 0\n"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("quiet select 0 after >= 45ms: True\n"), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("BlockingIOError ok\n"), r.stdout + r.stderr)
        XCTAssertEqual(r.status, .exited(0), r.stdout + r.stderr)
    }
}
