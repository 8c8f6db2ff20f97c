// Terminals the way containerd and docker drive them: the test listens on a --console-socket, receives the
// pty master runsc sends (SCM_RIGHTS), and types at a busybox shell through it (`docker run -it`), then does
// the same for `exec --tty` (`docker exec -it`).
import Foundation
import XCTest

final class ConsoleTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// A busybox bundle with `process.terminal: true` and a console size.
    private func terminalBundle(args: [String]) throws -> String {
        let bundle = try harness.makeBusyboxBundle(args: args)
        for applet in ["tty", "stty"] {
            try FileManager.default.createSymbolicLink(atPath: bundle + "/rootfs/bin/" + applet, withDestinationPath: "busybox")
        }
        try harness.editSpec(bundle) { config in
            var process = config["process"] as? [String: Any] ?? [:]
            process["terminal"] = true
            process["consoleSize"] = ["height": 30, "width": 90]
            process["env"] = ["PATH=/bin", "TERM=xterm", "PS1=PROMPT# "]
            config["process"] = process
        }
        return bundle
    }

    func testRunInteractiveShellOnConsoleSocket() throws {
        let bundle = try terminalBundle(args: ["sh"])
        let socketPath = harness.workDir + "/console.sock"
        let listener = try ConsoleSocket.listen(socketPath)
        defer { close(listener) }
        let create = try harness.runsc(["create", "--bundle", bundle, "--console-socket", socketPath, "tty1"])
        XCTAssertEqual(create.status, 0, create.stderr)
        let (master, name) = try ConsoleSocket.receiveMaster(listener)
        defer { close(master) }
        XCTAssertEqual(name, "/dev/ptmx")
        XCTAssertEqual(isatty(master), 1)
        var ws = winsize()
        XCTAssertEqual(ioctl(master, UInt(TIOCGWINSZ), &ws), 0)
        XCTAssertEqual(ws.ws_row, 30, "process.consoleSize.height")
        XCTAssertEqual(ws.ws_col, 90, "process.consoleSize.width")
        let start = try harness.runsc(["start", "tty1"])
        XCTAssertEqual(start.status, 0, start.stderr)

        var screen: String
        do { screen = try ConsoleSocket.read(master, until: "PROMPT# ") } catch {
            // Say where the sandbox's threads are, should the first prompt never come.
            let pid = (try? harness.state("tty1"))?["pid"] as? Int ?? 0
            let threads = try harness.run("/bin/sh", ["-c", "for t in /proc/\(pid)/task/*; do echo $(cat $t/comm) $(cat $t/wchan) $(cut -d' ' -f3 $t/stat); done"])
            XCTFail("no prompt; boot \(pid) threads:\n\(threads.stdout)")
            throw error
        }
        try ConsoleSocket.type(master, "echo hi; tty; stty size\n")
        screen = try ConsoleSocket.read(master, until: "PROMPT# ")
        // The Sentry's line discipline echoes the line (ONLCR: CR LF), then the output comes.
        XCTAssertTrue(screen.contains("echo hi; tty; stty size\r\n"), "echo missing: \(screen.debugDescription)")
        XCTAssertTrue(screen.contains("hi\r\n/dev/pts/0\r\n30 90\r\n"), "output: \(screen.debugDescription)")

        // A resize on the host master reaches the app as a new size (and SIGWINCH).
        ws.ws_row = 40; ws.ws_col = 100
        XCTAssertEqual(ioctl(master, UInt(TIOCSWINSZ), &ws), 0)
        usleep(300_000)  // the bridge looks at the host size at least every 100 ms
        // (busybox's line editor redraws its prompt on the SIGWINCH, so wait for the answer and the prompt
        // after it; a read returns whole chunks, so nothing may be awaited that came with an earlier one.)
        try ConsoleSocket.type(master, "stty size\n")
        screen = try ConsoleSocket.read(master, until: "40 100\r\nPROMPT# ", timeout: 10)

        // ^C interrupts the foreground job and the prompt comes back.
        try ConsoleSocket.type(master, "sleep 100\n")
        _ = try ConsoleSocket.read(master, until: "sleep 100\r\n")
        usleep(300_000)
        let interrupted = Date()
        try ConsoleSocket.type(master, "\u{03}")
        screen = try ConsoleSocket.read(master, until: "PROMPT# ", timeout: 10)
        XCTAssertTrue(screen.contains("^C"), "no ^C echo: \(screen.debugDescription)")
        XCTAssertLessThan(Date().timeIntervalSince(interrupted), 10)
        try ConsoleSocket.type(master, "echo back\n")
        screen = try ConsoleSocket.read(master, until: "PROMPT# ")
        XCTAssertTrue(screen.contains("back\r\n"), screen.debugDescription)

        try ConsoleSocket.type(master, "exit 3\n")
        let wait = try harness.runsc(["wait", "tty1"], timeout: 30)
        XCTAssertTrue(wait.stdout.contains("\"exitStatus\":3"), wait.stdout + wait.stderr)
        let delete = try harness.runsc(["delete", "tty1"])
        XCTAssertEqual(delete.status, 0, delete.stderr)
    }

    func testExecWithTerminal() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "30"])
        try FileManager.default.createSymbolicLink(atPath: bundle + "/rootfs/bin/tty", withDestinationPath: "busybox")
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "tty2"]).status, 0)
        XCTAssertEqual(try harness.runsc(["start", "tty2"]).status, 0)
        let socketPath = harness.workDir + "/exec.sock"
        let listener = try ConsoleSocket.listen(socketPath)
        defer { close(listener) }
        let exec = try harness.runsc(["exec", "--detach", "--tty", "--console-socket", socketPath, "tty2",
                                      "sh", "-c", "tty; read x; echo got $x; exit 4"])
        XCTAssertEqual(exec.status, 0, exec.stderr)
        let (master, _) = try ConsoleSocket.receiveMaster(listener)
        defer { close(master) }
        var screen = try ConsoleSocket.read(master, until: "/dev/pts/")
        try ConsoleSocket.type(master, "abc\n")
        screen += try ConsoleSocket.read(master, until: "got abc\r\n")
        XCTAssertTrue(screen.contains("abc\r\n"), "echo: \(screen.debugDescription)")
        // When the process has exited and its terminal is closed, the host master reads end of file / EIO.
        let end = try ConsoleSocket.read(master, until: nil, timeout: 10)
        XCTAssertFalse(end.contains("got"), end)

        let noSocket = try harness.runsc(["exec", "--tty", "tty2", "true"])
        XCTAssertNotEqual(noSocket.status, 0)
        XCTAssertTrue(noSocket.stderr.contains("console socket"), noSocket.stderr)
        _ = try harness.runsc(["kill", "tty2", "KILL"])
        _ = try harness.runsc(["wait", "tty2"])
        XCTAssertEqual(try harness.runsc(["delete", "tty2"]).status, 0)
    }

    func testTerminalFlagRulesFollowRunc() throws {
        let bundle = try terminalBundle(args: ["sh"])
        let missing = try harness.runsc(["create", "--bundle", bundle, "tty3"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("--console-socket"), missing.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("tty3"))

        let plain = try harness.makeBusyboxBundle(name: "plain", args: ["true"])
        let extra = try harness.runsc(["create", "--bundle", plain, "--console-socket", harness.workDir + "/none.sock", "tty4"])
        XCTAssertNotEqual(extra.status, 0)
        XCTAssertTrue(extra.stderr.contains("cannot use console socket"), extra.stderr)

        // A socket nobody listens on fails create, leaving nothing behind.
        let unheard = try harness.runsc(["create", "--bundle", bundle, "--console-socket", harness.workDir + "/none.sock", "tty5"])
        XCTAssertNotEqual(unheard.status, 0)
        XCTAssertTrue(unheard.stderr.contains("console-socket"), unheard.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("tty5"))
    }
}

/// The receiving side of runc's console-socket protocol, as containerd implements it.
enum ConsoleSocket {
    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < 108 else { throw HarnessError("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0, Glibc.listen(fd, 4) == 0 else { throw HarnessError("cannot listen on \(path): errno \(errno)") }
        return fd
    }

    /// Accepts one connection and reads the message carrying the master: (descriptor, payload).
    static func receiveMaster(_ listener: Int32) throws -> (Int32, String) {
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 10_000) == 1 else { throw HarnessError("nobody connected to the console socket") }
        let conn = accept(listener, nil, nil)
        guard conn >= 0 else { throw HarnessError("accept: errno \(errno)") }
        defer { close(conn) }
        var payload = [UInt8](repeating: 0, count: 4096)
        var control = [UInt8](repeating: 0, count: 64)
        let n = payload.withUnsafeMutableBytes { bytes in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                return withUnsafeMutablePointer(to: &vector) { v -> Int in
                    var header = msghdr()
                    header.msg_iov = v
                    header.msg_iovlen = 1
                    header.msg_control = controlBytes.baseAddress
                    header.msg_controllen = controlBytes.count
                    return recvmsg(conn, &header, 0)
                }
            }
        }
        guard n > 0 else { throw HarnessError("no message on the console socket (errno \(errno))") }
        let (length, level, type) = control.withUnsafeBytes {
            ($0.load(fromByteOffset: 0, as: Int.self), $0.load(fromByteOffset: 8, as: Int32.self), $0.load(fromByteOffset: 12, as: Int32.self))
        }
        guard length == 20, level == SOL_SOCKET, type == Int32(SCM_RIGHTS) else {
            throw HarnessError("expected one SCM_RIGHTS descriptor, got cmsg len \(length) level \(level) type \(type)")
        }
        let fd = control.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
        return (fd, String(decoding: payload[0..<n], as: UTF8.self))
    }

    static func type(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw HarnessError("write to the console: errno \(errno)") }
    }

    /// Reads until `marker` has appeared (or, with nil, until end of file / EIO); returns what was read.
    static func read(_ fd: Int32, until marker: String?, timeout: TimeInterval = 20) throws -> String {
        var seen: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let marker, String(decoding: seen, as: UTF8.self).contains(marker) { return String(decoding: seen, as: UTF8.self) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) == 1 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n <= 0 {
                if marker == nil { return String(decoding: seen, as: UTF8.self) }
                throw HarnessError("console closed before \((marker ?? "").debugDescription); got \(String(decoding: seen, as: UTF8.self).debugDescription)")
            }
            seen += buffer[0..<n]
        }
        throw HarnessError("timed out waiting for \(marker?.debugDescription ?? "end of file"); got \(String(decoding: seen, as: UTF8.self).debugDescription)")
    }
}
