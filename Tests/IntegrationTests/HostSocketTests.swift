// --host-uds: an app connecting to a host unix socket found on a bind mount. The test itself is the host
// service (an echo server on a thread, listening in a temp directory bind-mounted into a busybox bundle);
// a static C program compiled here is the app. Without the flag the connect is refused (ECONNREFUSED).
// With `create`, the reverse: an app server binds on a bind mount and the test connects from the host.
import Foundation
import Glibc
import XCTest

/// A host AF_UNIX stream echo server: each connection gets back what it sends, until it shuts down.
private final class EchoServer: @unchecked Sendable {
    let path: String
    private let listener: Int32
    private let thread: Thread

    init(path: String) throws {
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw POSIXError(.ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, rc == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        thread = Thread {
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }  // the listener was shut down
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(c, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    _ = buffer.withUnsafeBytes { write(c, $0.baseAddress, n) }
                }
                close(c)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
    }
}

final class HostSocketTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Connects to argv[1], checks poll readiness, sends "ping" (and then a descriptor, which must be
    /// refused), reads the echo, and prints one line per step.
    static let client = #"""
    #include <errno.h>
    #include <poll.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <sys/un.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
        if (argc > 2 && strcmp(argv[2], "dgram") == 0) {  // a datagram to a host socket
            int d = socket(AF_UNIX, SOCK_DGRAM, 0);
            if (connect(d, (struct sockaddr *)&a, sizeof a) != 0) { printf("dgram connect: %s\n", strerror(errno)); return 0; }
            printf("dgram send: %d\n", (int)send(d, "dgram-hello", 11, 0));
            return 0;
        }
        if (argc > 2) {  // bind mode: a name on the Gofer mount
            if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { printf("bind: %s\n", strerror(errno)); return 0; }
            printf("bind: ok\n");
            int c = socket(AF_UNIX, SOCK_STREAM, 0);
            listen(s, 1);
            printf("self-connect: %s\n", connect(c, (struct sockaddr *)&a, sizeof a) == 0 ? "ok" : strerror(errno));
            return 0;
        }
        if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
            printf("connect: %s\n", errno == ECONNREFUSED ? "ECONNREFUSED" : strerror(errno));
            return 0;
        }
        printf("connected\n");
        struct pollfd p = {.fd = s, .events = POLLOUT};
        printf("pollout: %d\n", poll(&p, 1, 1000) == 1 && (p.revents & POLLOUT) != 0);
        char fdbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec v = {.iov_base = "x", .iov_len = 1};
        struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = fdbuf, .msg_controllen = sizeof fdbuf};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
        int zero = 0; memcpy(CMSG_DATA(c), &zero, sizeof zero);
        printf("scm_rights: %s\n", sendmsg(s, &m, 0) < 0 && errno == EPERM ? "EPERM" : "sent");
        if (write(s, "ping", 4) != 4) { perror("write"); return 1; }
        p.events = POLLIN; p.revents = 0;
        printf("pollin: %d\n", poll(&p, 1, 5000) == 1 && (p.revents & POLLIN) != 0);
        char buf[16] = {0};
        ssize_t n = read(s, buf, sizeof buf - 1);
        printf("echo: %s\n", n > 0 ? buf : "(nothing)");
        shutdown(s, SHUT_WR);
        n = read(s, buf, sizeof buf);
        printf("eof: %d\n", (int)n);
        close(s);
        return 0;
    }
    """#

    /// A busybox bundle with C `program` compiled statically to /bin/NAME and `directory` bind-mounted
    /// (read-write) at `destination`.
    private func programBundle(_ program: String, named name: String, args: [String], binding directory: String,
                               at destination: String) throws -> String {
        let source = harness.workDir + "/\(name).c"
        try program.write(toFile: source, atomically: false, encoding: .utf8)
        let bundle = try harness.makeBusyboxBundle(name: "bundle-" + UUID().uuidString.prefix(6), args: args)
        let compile = try harness.run("/usr/bin/gcc", ["-static", "-O1", "-o", bundle + "/rootfs/bin/" + name, source])
        XCTAssertEqual(compile.status, 0, compile.stderr)
        try harness.editSpec(bundle) { config in
            config["mounts"] = (config["mounts"] as? [[String: Any]] ?? []) +
                [["destination": destination, "type": "bind", "source": directory, "options": ["rbind", "rw"]]]
        }
        return bundle
    }

    /// Runs the client in a busybox bundle with `directory` bind-mounted at /run/host; returns its output.
    private func runClient(globalFlags: [String], directory: String) throws -> CommandResult {
        let bundle = try programBundle(HostSocketTests.client, named: "client", args: ["/bin/client", "/run/host/echo.sock"],
                                       binding: directory, at: "/run/host")
        return try harness.runsc(globalFlags + ["run", "--bundle", bundle, "uds-" + UUID().uuidString.prefix(6).lowercased()],
                                 timeout: 60)
    }

    private func withEchoServer(_ body: (String) throws -> Void) throws {
        let directory = harness.workDir + "/sock-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let server = try EchoServer(path: directory + "/echo.sock")
        defer { server.stop() }
        try body(directory)
    }

    func testConnectToHostSocketWithHostUDSOpen() throws {
        try withEchoServer { directory in
            let result = try runClient(globalFlags: ["--host-uds", "open"], directory: directory)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, """
                connected
                pollout: 1
                scm_rights: EPERM
                pollin: 1
                echo: ping
                eof: 0

                """, result.stderr)
        }
    }

    func testConnectToHostSocketIsRefusedByDefault() throws {
        try withEchoServer { directory in
            let result = try runClient(globalFlags: [], directory: directory)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stdout, "connect: ECONNREFUSED\n", result.stderr)
        }
    }

    func testHostUDSFlagValues() throws {
        let bad = try harness.runsc(["--host-uds", "bogus", "list"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--host-uds"), bad.stderr)
    }
}

extension HostSocketTests {
    /// Without `create`, bind() on a Gofer mount stays refused (EPERM, as without the flag) and nothing
    /// appears on the host.
    func testBindOnGoferMountIsRefusedWithHostUDSOpen() throws {
        let directory = harness.workDir + "/bind-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bundle = try programBundle(HostSocketTests.client, named: "client", args: ["/bin/client", "/run/host/app.sock", "bind"],
                                       binding: directory, at: "/run/host")
        let result = try harness.runsc(["--host-uds", "open", "run", "--bundle", bundle,
                                        "b-" + UUID().uuidString.prefix(6).lowercased()], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "bind: Operation not permitted\n", result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// Binds argv[1], listens, checks getsockname and poll readiness, accepts one connection, reads a
    /// line and echoes it back; one output line per step.
    static let server = #"""
    #include <errno.h>
    #include <poll.h>
    #include <stdio.h>
    #include <string.h>
    #include <sys/socket.h>
    #include <sys/un.h>
    #include <unistd.h>
    int main(int argc, char **argv) {
        int dgram = argc > 2 && strcmp(argv[2], "dgram") == 0;
        int s = socket(AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        strncpy(a.sun_path, argv[1], sizeof a.sun_path - 1);
        if (dgram) {  // receive one datagram from the host
            if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { printf("bind: %s\n", strerror(errno)); return 0; }
            char d[32] = {0};
            struct sockaddr_un from;
            socklen_t fromLength = sizeof from;
            ssize_t r = recvfrom(s, d, sizeof d - 1, 0, (struct sockaddr *)&from, &fromLength);
            printf("dgram: %d %s\n", (int)r, r > 0 ? d : strerror(errno));
            return 0;
        }
        if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) { printf("bind: %s\n", strerror(errno)); return 0; }
        printf("bind: ok\n");
        printf("listen: %s\n", listen(s, 4) == 0 ? "ok" : strerror(errno));
        struct sockaddr_un n = {0};
        socklen_t len = sizeof n;
        getsockname(s, (struct sockaddr *)&n, &len);
        printf("name: %s\n", n.sun_path);
        struct pollfd p = {.fd = s, .events = POLLIN};
        printf("pollin: %d\n", poll(&p, 1, 30000) == 1 && (p.revents & POLLIN) != 0);
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) { printf("accept: %s\n", strerror(errno)); return 0; }
        char buf[64] = {0};
        int got = 0;
        while (got < (int)sizeof buf - 1 && (got == 0 || buf[got - 1] != '\n')) {
            ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
            if (r <= 0) break;
            got += r;
        }
        printf("got: %s", buf);
        printf("echoed: %d\n", (int)write(c, buf, got));
        close(c);
        close(s);
        return 0;
    }
    """#

    /// With `--host-uds create`, an app service bound on a bind mount is reachable from the host.
    func testBindOnGoferMountCreatesHostSocketWithHostUDSCreate() throws {
        let directory = harness.workDir + "/srv-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/srv.sock"
        try XCTSkipIf(path.utf8.count >= 108, "work directory too long for a unix socket name")
        let bundle = try programBundle(HostSocketTests.server, named: "server", args: ["/bin/server", "/data/srv.sock"],
                                       binding: directory, at: "/data")
        // The host side, on a thread while the container runs: wait for the file, connect, send, read back.
        let echo = HostEcho(path: path)
        let thread = Thread { echo.run() }
        thread.start()
        let result = try harness.runsc(["--host-uds", "create", "run", "--bundle", bundle,
                                        "s-" + UUID().uuidString.prefix(6).lowercased()], timeout: 60)
        echo.finished.wait()
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            bind: ok
            listen: ok
            name: /data/srv.sock
            pollin: 1
            got: hello sandbox
            echoed: 14

            """, result.stderr)
        XCTAssertEqual(echo.reply, "hello sandbox\n")
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, "the socket file stays on the host")
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
    }
}

extension HostSocketTests {
    /// A datagram socket bound with `--host-uds all` receives what a host process sends to the file.
    func testBoundDatagramSocketReceivesFromHostWithHostUDSAll() throws {
        let directory = harness.workDir + "/dsrv-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/d.sock"
        try XCTSkipIf(path.utf8.count >= 108, "work directory too long for a unix socket name")
        let bundle = try programBundle(HostSocketTests.server, named: "server", args: ["/bin/server", "/data/d.sock", "dgram"],
                                       binding: directory, at: "/data")
        let sender = Thread {
            let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(s) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
            for _ in 0..<600 {  // up to 30 s for the container to bind
                let n = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(s, "from-host", 9, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                    }
                }
                if n == 9 { return }
                usleep(50_000)
            }
        }
        sender.start()
        let result = try harness.runsc(["--host-uds", "all", "run", "--bundle", bundle,
                                        "g-" + UUID().uuidString.prefix(6).lowercased()], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "dgram: 9 from-host\n", result.stderr)
    }
}

/// The host client of testBindOnGoferMountCreatesHostSocketWithHostUDSCreate.
private final class HostEcho: @unchecked Sendable {
    let path: String
    let finished = DispatchSemaphore(value: 0)
    var reply = ""

    init(path: String) { self.path = path }

    func run() {
        defer { finished.signal() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 { close(fd); usleep(50_000); continue }
            let line = Array("hello sandbox\n".utf8)
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var buffer = [UInt8](repeating: 0, count: 64)
            var got: [UInt8] = []
            while !got.contains(10) {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                got += buffer.prefix(n)
            }
            reply = String(decoding: got, as: UTF8.self)
            close(fd)
            return
        }
    }
}

extension HostSocketTests {
    func testDatagramToHostSocketWithHostUDSOpen() throws {
        let directory = harness.workDir + "/dgram-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array((directory + "/dgram.sock").utf8)
        try XCTSkipIf(path.count >= 108, "work directory too long for a unix socket name")
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in path.enumerated() { $0[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)

        let bundle = try programBundle(HostSocketTests.client, named: "client", args: ["/bin/client", "/run/host/dgram.sock", "dgram"],
                                       binding: directory, at: "/run/host")
        let result = try harness.runsc(["--host-uds", "open", "run", "--bundle", bundle,
                                        "d-" + UUID().uuidString.prefix(6).lowercased()], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "dgram send: 11\n", result.stderr)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        XCTAssertEqual(n, 11)
        XCTAssertEqual(String(decoding: buffer.prefix(max(n, 0)), as: UTF8.self), "dgram-hello")
    }
}
