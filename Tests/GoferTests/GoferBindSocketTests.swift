// The bindSocket operation (`--host-uds=create|all`), served unconfined in-process: a host socket is
// bound at a name in the walked directory only when allowed, never over an existing name.
import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

final class GoferBindSocketTests: XCTestCase {
    private var scratch: TempTree!

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root")
        try scratch.file("root/plain.txt", "taken")
        try XCTSkipIf(scratch.url("root/app.sock").utf8.count >= 108, "scratch path too long for a unix socket name")
    }

    override func tearDown() { scratch = nil }

    private func withGofer(create: Bool, readOnly: Bool = false, _ body: (GoferClient, GoferProtocol.FileHandle) throws -> Void) throws {
        let hostSockets = try GoferHostSockets.open(connect: false, create: create)
        defer { if hostSockets.procFD >= 0 { close(hostSockets.procFD) } }
        let gofer = try InProcessGofer(root: scratch.url("root"), readOnly: readOnly, hostSockets: hostSockets)
        defer { XCTAssertNil(gofer.stop()) }
        let client = try XCTUnwrap(gofer.client)
        let (root, _) = try client.attach()
        try body(client, root)
    }

    private func address(_ path: String) -> sockaddr_un {
        var a = sockaddr_un()
        a.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &a.sun_path) { for (i, b) in bytes.enumerated() { $0[i] = b } }
        return a
    }

    func testBindsAListeningStreamSocketWhenAllowed() throws {
        let cwd = FileManager.default.currentDirectoryPath
        try withGofer(create: true) { client, root in
            let listener = try client.bindSocket(root, name: Array("app.sock".utf8), type: SocketABI.SOCK_STREAM)
            defer { close(listener) }
            var st = stat()
            XCTAssertEqual(lstat(scratch.url("root/app.sock"), &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
            XCTAssertEqual(fcntl(listener, F_GETFL) & O_NONBLOCK, O_NONBLOCK)
            // Already listening: a host client connects without the Sentry calling listen().
            let c = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(c) }
            var a = address(scratch.url("root/app.sock"))
            let rc = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            XCTAssertEqual(rc, 0)
            let accepted = accept(listener, nil, nil)
            XCTAssertGreaterThanOrEqual(accepted, 0)
            if accepted >= 0 { close(accepted) }

            XCTAssertThrowsError(try client.bindSocket(root, name: Array("app.sock".utf8), type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .EEXIST)
            }
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("plain.txt".utf8), type: SocketABI.SOCK_DGRAM)) {
                XCTAssertEqual($0 as? Errno, .EEXIST)
            }
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("x.sock".utf8), type: SocketABI.SOCK_RAW + 100)) {
                XCTAssertEqual($0 as? Errno, .EINVAL)
            }
            let (plain, _) = try client.walk(root, ["plain.txt"])
            XCTAssertThrowsError(try client.bindSocket(try XCTUnwrap(plain.last).handle, name: Array("y.sock".utf8),
                                                       type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .ENOTDIR)
            }
        }
        XCTAssertEqual(FileManager.default.currentDirectoryPath, cwd, "the working directory is put back")
    }

    func testNamesWithASlashAreRefused() throws {
        try FileManager.default.createDirectory(atPath: scratch.url("root/sub"), withIntermediateDirectories: true)
        try withGofer(create: true) { client, root in
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("sub/z.sock".utf8), type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .EINVAL)
            }
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("..".utf8), type: SocketABI.SOCK_STREAM))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.url("root/sub")), [])
    }

    func testBoundDatagramSocketReceives() throws {
        try withGofer(create: true) { client, root in
            let fd = try client.bindSocket(root, name: Array("d.sock".utf8), type: SocketABI.SOCK_DGRAM)
            defer { close(fd) }
            let s = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(s) }
            var a = address(scratch.url("root/d.sock"))
            let sent = withUnsafePointer(to: &a) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(s, "dg", 2, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            XCTAssertEqual(sent, 2)
            var buffer = [UInt8](repeating: 0, count: 8)
            XCTAssertEqual(recv(fd, &buffer, 8, 0), 2)
        }
    }

    func testRefusedWithEPERMByDefault() throws {
        try withGofer(create: false) { client, root in
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("app.sock".utf8), type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .EPERM)
            }
        }
        try withGofer(create: true, readOnly: true) { client, root in
            XCTAssertThrowsError(try client.bindSocket(root, name: Array("app.sock".utf8), type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .EROFS)
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.url("root/app.sock")))
    }
}
