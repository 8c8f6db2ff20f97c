// The connectSocket operation (`--host-uds`), served unconfined in-process: a host socket is connected to
// the walked socket file only when allowed, and only to a socket file.
import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

final class GoferHostSocketTests: XCTestCase {
    private var scratch: TempTree!
    private var listener: Int32 = -1

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root")
        try scratch.file("root/plain.txt", "not a socket")
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(scratch.url("root/listen.sock").utf8)
        try XCTSkipIf(path.count >= 108, "scratch path too long for a unix socket name")
        withUnsafeMutableBytes(of: &address.sun_path) { for (i, b) in path.enumerated() { $0[i] = b } }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(listen(listener, 4), 0)
    }

    override func tearDown() {
        if listener >= 0 { close(listener) }
        scratch = nil
    }

    private func withGofer(connect: Bool, _ body: (GoferClient, GoferProtocol.FileHandle) throws -> Void) throws {
        let hostSockets = try GoferHostSockets.open(connect: connect)
        defer { if hostSockets.procFD >= 0 { close(hostSockets.procFD) } }
        let gofer = try InProcessGofer(root: scratch.url("root"), hostSockets: hostSockets)
        defer { XCTAssertNil(gofer.stop()) }
        let client = try XCTUnwrap(gofer.client)
        let (root, _) = try client.attach()
        try body(client, root)
    }

    func testConnectsToTheWalkedSocketWhenAllowed() throws {
        let cwd = FileManager.default.currentDirectoryPath
        try withGofer(connect: true) { client, root in
            let (walked, failure) = try client.walk(root, ["listen.sock"])
            XCTAssertNil(failure)
            let handle = try XCTUnwrap(walked.last).handle
            let fd = try client.connectSocket(handle, type: SocketABI.SOCK_STREAM)
            defer { close(fd) }
            XCTAssertEqual(write(fd, "hi", 2), 2)
            let accepted = accept(listener, nil, nil)
            XCTAssertGreaterThanOrEqual(accepted, 0)
            defer { close(accepted) }
            var buffer = [UInt8](repeating: 0, count: 8)
            XCTAssertEqual(read(accepted, &buffer, 8), 2)
            XCTAssertEqual(Array(buffer.prefix(2)), Array("hi".utf8))

            let (plain, _) = try client.walk(root, ["plain.txt"])
            XCTAssertThrowsError(try client.connectSocket(try XCTUnwrap(plain.last).handle, type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .ECONNREFUSED)
            }
            XCTAssertThrowsError(try client.connectSocket(handle, type: SocketABI.SOCK_RAW + 100)) {
                XCTAssertEqual($0 as? Errno, .EINVAL)
            }
            // A datagram socket cannot connect to a stream listener.
            XCTAssertThrowsError(try client.connectSocket(handle, type: SocketABI.SOCK_DGRAM)) {
                XCTAssertEqual($0 as? Errno, .EPROTOTYPE)
            }
        }
        XCTAssertEqual(FileManager.default.currentDirectoryPath, cwd, "the working directory is put back")
    }

    /// The descriptor kept for connect() leads nowhere but to the Gofer's own descriptors: `..` stays put.
    func testProcDescriptorCannotReachTheRestOfProc() throws {
        let hostSockets = try GoferHostSockets.open(connect: true)
        defer { close(hostSockets.procFD) }
        var here = stat(), up = stat()
        XCTAssertEqual(fstat(hostSockets.procFD, &here), 0)
        let parent = openat(hostSockets.procFD, "../..", Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC))
        XCTAssertGreaterThanOrEqual(parent, 0)
        defer { close(parent) }
        XCTAssertEqual(fstat(parent, &up), 0)
        XCTAssertEqual(here.st_ino, up.st_ino)
        XCTAssertEqual(here.st_dev, up.st_dev)
        XCTAssertEqual(openat(hostSockets.procFD, "../../1/root/etc/passwd", O_RDONLY | O_CLOEXEC), -1)
        XCTAssertEqual(faccessat(hostSockets.procFD, "../../self/status", F_OK, 0), -1)
    }

    func testRefusedWithECONNREFUSEDByDefault() throws {
        try withGofer(connect: false) { client, root in
            let (walked, _) = try client.walk(root, ["listen.sock"])
            XCTAssertThrowsError(try client.connectSocket(try XCTUnwrap(walked.last).handle, type: SocketABI.SOCK_STREAM)) {
                XCTAssertEqual($0 as? Errno, .ECONNREFUSED)
            }
        }
    }
}
