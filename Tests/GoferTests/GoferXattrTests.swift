import Glibc
import GoferProtocol
import LinuxABI
import XCTest

// glibc's <sys/xattr.h>, not imported by Swift's Glibc module: to look at the host file directly.
@_silgen_name("getxattr")
private func host_getxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int
@_silgen_name("setxattr")
private func host_setxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32

/// The extended-attribute operations (30...33) of a Gofer, in-process, against a scratch tree:
///
///     root/f (user.host = "h", trusted.host = "t")   root/d/   root/l -> f   root/p (FIFO)
final class GoferXattrTests: XCTestCase {
    private var scratch: TempTree!
    private var gofer: InProcessGofer?

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root/d")
        try scratch.file("root/f", "x")
        try scratch.symlink("root/l", to: "f")
        try scratch.fifo("root/p")
        XCTAssertEqual(host_setxattr(scratch.url("root/f"), "user.host", "h", 1, 0), 0)
        XCTAssertEqual(host_setxattr(scratch.url("root/f"), "trusted.host", "t", 1, 0), 0)
    }

    override func tearDown() {
        if let gofer { XCTAssertNil(gofer.stop()) }
        gofer = nil
        scratch = nil
    }

    private func start(readOnly: Bool) throws -> (GoferClient, GoferProtocol.FileHandle) {
        let g = try InProcessGofer(root: scratch.url("root"), readOnly: readOnly)
        gofer = g
        let client = try XCTUnwrap(g.client)
        return (client, try client.attach().0)
    }

    private func handle(_ client: GoferClient, _ root: GoferProtocol.FileHandle, _ name: String) throws -> GoferProtocol.FileHandle {
        let (walked, failure) = try client.walk(root, [name])
        if let failure { throw failure }
        return walked[0].handle
    }

    private func hostValue(_ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = host_getxattr(scratch.url("root/f"), name, &buffer, buffer.count)
        return n < 0 ? nil : String(decoding: buffer.prefix(n), as: UTF8.self)
    }

    func testGetSetListRemoveReachTheHostFile() throws {
        let (client, root) = try start(readOnly: false)
        let f = try handle(client, root, "f")
        XCTAssertEqual(try client.getXattr(f, Array("user.host".utf8)), Array("h".utf8))
        XCTAssertEqual(Set(try client.listXattr(f).map { String(decoding: $0, as: UTF8.self) }), ["user.host", "trusted.host"])
        try client.setXattr(f, Array("user.new".utf8), value: Array("v".utf8), flags: 0)
        XCTAssertEqual(hostValue("user.new"), "v")
        XCTAssertThrowsError(try client.setXattr(f, Array("user.new".utf8), value: [], flags: XattrWire.create)) { XCTAssertEqual($0 as? Errno, .EEXIST) }
        XCTAssertThrowsError(try client.setXattr(f, Array("user.none".utf8), value: [], flags: XattrWire.replace)) { XCTAssertEqual($0 as? Errno, .ENODATA) }
        try client.removeXattr(f, Array("user.new".utf8))
        XCTAssertNil(hostValue("user.new"))
        XCTAssertThrowsError(try client.getXattr(f, Array("user.new".utf8))) { XCTAssertEqual($0 as? Errno, .ENODATA) }
        // Directories work; symlinks and FIFOs are never opened: no attributes, none settable.
        let d = try handle(client, root, "d")
        try client.setXattr(d, Array("user.dir".utf8), value: [1], flags: 0)
        XCTAssertEqual(try client.listXattr(d), [Array("user.dir".utf8)])
        for name in ["l", "p"] {
            let h = try handle(client, root, name)
            XCTAssertEqual(try client.listXattr(h), [])
            XCTAssertThrowsError(try client.getXattr(h, Array("user.host".utf8))) { XCTAssertEqual($0 as? Errno, .ENODATA) }
            XCTAssertThrowsError(try client.setXattr(h, Array("user.a".utf8), value: [], flags: 0)) { XCTAssertEqual($0 as? Errno, .EPERM) }
        }
    }

    func testOnlyUserNamesAreWrittenAndNamesAreChecked() throws {
        let (client, root) = try start(readOnly: false)
        let f = try handle(client, root, "f")
        XCTAssertThrowsError(try client.setXattr(f, Array("trusted.x".utf8), value: [], flags: 0)) { XCTAssertEqual($0 as? Errno, .EPERM) }
        XCTAssertThrowsError(try client.removeXattr(f, Array("trusted.host".utf8))) { XCTAssertEqual($0 as? Errno, .EPERM) }
        XCTAssertEqual(hostValue("trusted.host"), "t")
        XCTAssertThrowsError(try client.getXattr(f, Array("system.posix_acl_access".utf8))) { XCTAssertEqual($0 as? Errno, .EOPNOTSUPP) }
        XCTAssertThrowsError(try client.getXattr(f, [])) { XCTAssertEqual($0 as? Errno, .ERANGE) }
        XCTAssertThrowsError(try client.getXattr(f, Array(repeating: 0x61, count: 256))) { XCTAssertEqual($0 as? Errno, .ERANGE) }
        XCTAssertThrowsError(try client.setXattr(f, Array("user.big".utf8), value: Array(repeating: 1, count: XattrWire.maxValueSize + 1), flags: 0)) {
            XCTAssertEqual($0 as? Errno, .E2BIG)
        }
    }

    func testReadOnlyGoferReadsButRefusesChanges() throws {
        let (client, root) = try start(readOnly: true)
        let f = try handle(client, root, "f")
        XCTAssertEqual(try client.getXattr(f, Array("user.host".utf8)), Array("h".utf8))
        XCTAssertThrowsError(try client.setXattr(f, Array("user.new".utf8), value: [], flags: 0)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.removeXattr(f, Array("user.host".utf8))) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertEqual(hostValue("user.host"), "h")
    }

    /// Hand-made requests a well-behaved client never sends: each is refused, and the server goes on.
    func testHostileRequestsAreRefused() throws {
        let g = try InProcessGofer(root: scratch.url("root"), readOnly: false, raw: true)
        gofer = g
        func exchange(_ bytes: [UInt8]) throws -> GoferReplyMessage {
            try GoferSocket.send(g.rawSocket, bytes)
            let packet = try XCTUnwrap(try GoferSocket.receive(g.rawSocket))
            for fd in packet.descriptors { close(fd) }
            return try GoferWire.decodeReply(packet.bytes)
        }
        func request(_ tag: UInt32, _ r: GoferRequest) throws -> GoferReplyMessage {
            try exchange(GoferWire.encode(GoferRequestMessage(tag: tag, request: r)))
        }
        _ = try request(1, .version(minVersion: 1, maxVersion: 1))
        guard case let .success(.attach(root, _)) = try request(2, .attach).result else { return XCTFail("attach") }
        guard case let .success(.walk(walked, nil)) = try request(3, .walk(directory: root, names: [Array("f".utf8)])).result else {
            return XCTFail("walk")
        }
        let f = walked[0].handle
        // setXattr header, then a value length claiming more than a message can hold.
        var oversized: [UInt8] = [31, 0, 0, 0, 4, 0, 0, 0]
        withUnsafeBytes(of: f.raw.littleEndian) { oversized += $0 }
        oversized += [6, 0] + Array("user.a".utf8) + [0xFF, 0xFF] + Array(repeating: 0x41, count: 1000)
        XCTAssertEqual(try exchange(oversized).result, .failure(.EMSGSIZE))
        // A value just over the limit, with its real length: refused on decode.
        var tooLong: [UInt8] = [31, 0, 0, 0, 5, 0, 0, 0]
        withUnsafeBytes(of: f.raw.littleEndian) { tooLong += $0 }
        let n = XattrWire.maxValueSize + 1
        tooLong += [6, 0] + Array("user.a".utf8) + [UInt8(n & 0xFF), UInt8(n >> 8)] + Array(repeating: 0x41, count: n) + [0, 0, 0, 0]
        XCTAssertNotEqual(try exchange(tooLong).result, .success(.done(.setXattr)))
        // Names the decoder refuses: unknown namespace, embedded NUL, over 255 bytes; unknown flags.
        for (name, error) in [(Array("system.x".utf8), Errno.EINVAL), (Array("user.a\0b".utf8), .EINVAL),
                              (Array(repeating: 0x75, count: 300), .EMSGSIZE)] {
            var bytes: [UInt8] = [30, 0, 0, 0, 6, 0, 0, 0]
            withUnsafeBytes(of: f.raw.littleEndian) { bytes += $0 }
            bytes += [UInt8(name.count & 0xFF), UInt8(name.count >> 8)] + name
            XCTAssertEqual(try exchange(bytes).result, .failure(error))
        }
        var badFlags = GoferWire.encode(GoferRequestMessage(tag: 7, request: .setXattr(f, name: Array("user.a".utf8), value: [], flags: 0)))
        badFlags[badFlags.count - 4] = 8
        XCTAssertEqual(try exchange(badFlags).result, .failure(.EINVAL))
        // A stale handle, then a well-formed request still works.
        XCTAssertEqual(try request(8, .getXattr(GoferProtocol.FileHandle(raw: 9999), name: Array("user.a".utf8))).result, .failure(.EBADF))
        XCTAssertEqual(try request(9, .getXattr(f, name: Array("user.host".utf8))).result, .success(.xattr(.getXattr, Array("h".utf8))))
        XCTAssertNil(hostValue("user.a"))
    }
}
