import Glibc
import LinuxABI
import XCTest

@testable import GoferProtocol

/// A host thread running a closure (the fake Gofer side), joined by the test.
final class TestThread: @unchecked Sendable {
    private final class Body { let run: @Sendable () -> Void; init(_ run: @escaping @Sendable () -> Void) { self.run = run } }
    private var thread = pthread_t()

    init(_ run: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(run)).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed")
    }

    func join() { pthread_join(thread, nil) }
}

final class ClientTransportTests: XCTestCase {
    func testPacketsCarryBytesAndDescriptors() throws {
        let (a, b) = try GoferSocket.pair()
        defer { close(a); close(b) }
        var pipeFDs: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeFDs), 0)
        defer { close(pipeFDs[0]) }

        try GoferSocket.send(a, [1, 2, 3], donating: pipeFDs[1])
        close(pipeFDs[1])
        let packet = try XCTUnwrap(try GoferSocket.receive(b))
        XCTAssertEqual(packet.bytes, [1, 2, 3])
        XCTAssertEqual(packet.descriptors.count, 1)
        let received = packet.descriptors[0]
        XCTAssertTrue(isCloseOnExec(received), "received descriptors are close-on-exec")
        XCTAssertEqual(write(received, "x", 1), 1)
        close(received)
        var c: UInt8 = 0
        XCTAssertEqual(read(pipeFDs[0], &c, 1), 1)
        XCTAssertEqual(c, UInt8(ascii: "x"))
    }

    func testOversizedPacketIsRefusedAndEndOfStreamIsNil() throws {
        let (a, b) = try GoferSocket.pair()
        defer { close(b) }
        try GoferSocket.send(a, [UInt8](repeating: 7, count: GoferWire.maxMessageSize + 1))
        XCTAssertThrowsError(try GoferSocket.receive(b)) { XCTAssertEqual($0 as? Errno, .EMSGSIZE) }
        close(a)
        XCTAssertNil(try GoferSocket.receive(b))
    }

    func testDeadGoferGivesEIOAndNeverTraps() throws {
        let (a, b) = try GoferSocket.pair()
        close(b)
        let client = GoferClient(socket: a)
        XCTAssertThrowsError(try client.attach()) { XCTAssertEqual($0 as? Errno, .EIO) }
        XCTAssertThrowsError(try client.attributes(FileHandle(raw: 1))) { XCTAssertEqual($0 as? Errno, .EIO) }
        client.close(FileHandle(raw: 1))  // must not trap either
    }

    /// Runs a fake Gofer that answers the handshake properly and then each later request with `answer`.
    private func withFakeGofer(_ answer: @escaping @Sendable (GoferRequestMessage, Int32) -> Void,
                               _ body: (GoferClient) throws -> Void) throws {
        let (a, b) = try GoferSocket.pair()
        let server = TestThread {
            defer { close(b) }
            while let packet = try? GoferSocket.receive(b), let request = try? GoferWire.decodeRequest(packet.bytes) {
                if case .version = request.request {
                    _ = try? GoferSocket.send(b, GoferWire.encode(GoferReplyMessage(tag: request.tag, reply: .version(1, maxMessageSize: 65536))))
                } else {
                    answer(request, b)
                }
            }
        }
        do {
            let client = GoferClient(socket: a)
            try body(client)
        }
        server.join()
    }

    func testErrnoRepliesPassThroughAndKeepTheConnection() throws {
        try withFakeGofer({ request, socket in
            let reply: GoferReplyMessage
            if case .getAttributes = request.request {
                reply = GoferReplyMessage(tag: request.tag, reply: .attributes(Samples.attributes))
            } else {
                reply = GoferReplyMessage(operation: request.request.operation.rawValue, tag: request.tag, error: .ENOENT)
            }
            _ = try? GoferSocket.send(socket, GoferWire.encode(reply))
        }) { client in
            XCTAssertThrowsError(try client.attach()) { XCTAssertEqual($0 as? Errno, .ENOENT) }
            XCTAssertEqual(try client.attributes(FileHandle(raw: 3)), Samples.attributes)
            XCTAssertEqual(try client.negotiatedVersion(), 1)
        }
    }

    func testMalformedRepliesBecomeEIOAndPoisonTheConnection() throws {
        typealias Answer = @Sendable (GoferRequestMessage, Int32) -> Void
        func reply(_ payload: GoferReply) -> Answer {
            { r, s in _ = try? GoferSocket.send(s, GoferWire.encode(GoferReplyMessage(tag: r.tag, reply: payload))) }
        }
        let file = WalkedComponent(handle: FileHandle(raw: 9), attributes: Samples.attributes)
        let directory = WalkedComponent(handle: FileHandle(raw: 10), attributes: Samples.directoryAttributes)
        let open: (GoferClient) throws -> Void = { _ = try $0.open(FileHandle(raw: 1), flags: 0) }
        let walk: (GoferClient) throws -> Void = { _ = try $0.walk(FileHandle(raw: 1), ["a", "b"]) }
        let cases: [(String, Answer, (GoferClient) throws -> Void)] = [
            ("garbage", { _, s in _ = try? GoferSocket.send(s, [0xde, 0xad, 0xbe, 0xef]) }, open),
            ("wrong tag", { r, s in
                _ = try? GoferSocket.send(s, GoferWire.encode(GoferReplyMessage(tag: r.tag &+ 1, reply: .attributes(Samples.attributes))))
            }, { _ = try $0.attributes(FileHandle(raw: 1)) }),
            ("wrong operation", reply(.close), open),
            ("open without descriptor", reply(.open), open),
            ("walk that claims more than asked", reply(.walk([directory, directory, directory], failure: nil)), walk),
            ("walk that goes on through a file", reply(.walk([file, directory], failure: nil)), walk),
            ("walk that fails after resolving everything", reply(.walk([directory, directory], failure: .ENOENT)), walk),
        ]
        for (name, answer, operation) in cases {
            try withFakeGofer(answer) { client in
                XCTAssertThrowsError(try operation(client)) { XCTAssertEqual($0 as? Errno, .EIO, name) }
                // Poisoned: even a request the fake would answer properly now fails without an exchange.
                XCTAssertThrowsError(try client.negotiatedVersion()) { XCTAssertEqual($0 as? Errno, .EIO, name) }
            }
        }
    }

    func testEndlessDirectoryListingIsCutOff() throws {
        try withFakeGofer({ r, s in
            // A page that never advances and never ends.
            let page = DirectoryPage(entries: [], nextCookie: 0, end: false)
            _ = try? GoferSocket.send(s, GoferWire.encode(GoferReplyMessage(tag: r.tag, reply: .directory(page))))
        }) { client in
            XCTAssertThrowsError(try client.readDirectory(FileHandle(raw: 1))) { XCTAssertEqual($0 as? Errno, .EIO) }
        }
    }

    func testInvalidNamesAreRefusedBeforeSending() throws {
        let (a, b) = try GoferSocket.pair()
        defer { close(b) }
        let client = GoferClient(socket: a)
        XCTAssertThrowsError(try client.walk(FileHandle(raw: 1), ["ok", ".."])) { XCTAssertEqual($0 as? Errno, .EINVAL) }
        XCTAssertThrowsError(try client.walk(FileHandle(raw: 1), [String(repeating: "x", count: 256)])) {
            XCTAssertEqual($0 as? Errno, .ENAMETOOLONG)
        }
        // Nothing reached the socket: a non-blocking read finds it empty.
        var byte: UInt8 = 0
        XCTAssertEqual(recv(b, &byte, 1, Int32(MSG_DONTWAIT)), -1)
        XCTAssertEqual(errno, EAGAIN)
    }
}

/// Whether `fd` is close-on-exec, read from /proc/self/fdinfo (glibc's fcntl is variadic in Swift).
func isCloseOnExec(_ fd: Int32) -> Bool {
    guard let f = fopen("/proc/self/fdinfo/\(fd)", "r") else { return false }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, f) != nil {
        let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if s.hasPrefix("flags:"), let flags = Int32(String(s.dropFirst(6).filter { ("0"..."7").contains($0) }), radix: 8) {
            return flags & Int32(OpenFlags.O_CLOEXEC) != 0
        }
    }
    return false
}
