import Glibc
import GoferProtocol
import LinuxABI
import XCTest

/// What the server does with requests a well-behaved client never sends.
final class ProtocolRulesTests: XCTestCase {
    private var scratch: TempTree!
    private var gofer: InProcessGofer!

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.file("f", "x")
        gofer = try InProcessGofer(root: scratch.path, raw: true)
    }

    override func tearDown() {
        XCTAssertNil(gofer.stop())
        gofer = nil
        scratch = nil
    }

    private func exchange(_ bytes: [UInt8]) throws -> GoferReplyMessage {
        try GoferSocket.send(gofer.rawSocket, bytes)
        let packet = try XCTUnwrap(try GoferSocket.receive(gofer.rawSocket))
        for fd in packet.descriptors { close(fd) }
        return try GoferWire.decodeReply(packet.bytes)
    }

    private func exchange(_ tag: UInt32, _ request: GoferRequest) throws -> GoferReplyMessage {
        try exchange(GoferWire.encode(GoferRequestMessage(tag: tag, request: request)))
    }

    func testHandshakeComesFirstAndNegotiatesAVersion() throws {
        XCTAssertEqual(try exchange(1, .attach), GoferReplyMessage(operation: GoferOperation.attach.rawValue, tag: 1, error: .EPROTO))
        XCTAssertEqual(try exchange(2, .version(minVersion: 2, maxVersion: 9)),
                       GoferReplyMessage(operation: GoferOperation.version.rawValue, tag: 2, error: .EPROTONOSUPPORT))
        XCTAssertEqual(try exchange(3, .version(minVersion: 1, maxVersion: 9)),
                       GoferReplyMessage(tag: 3, reply: .version(1, maxMessageSize: UInt32(GoferWire.maxMessageSize))))
        guard case .success(.attach) = try exchange(4, .attach).result else { return XCTFail("attach after handshake") }
    }

    func testMalformedRequestsGetAnErrnoWithTheirTag() throws {
        _ = try exchange(1, .version(minVersion: 1, maxVersion: 1))
        // Unknown operation: ENOSYS, so later protocol additions degrade cleanly.
        XCTAssertEqual(try exchange([200, 0, 0, 0, 7, 0, 0, 0]), GoferReplyMessage(operation: 200, tag: 7, error: .ENOSYS))
        // ".." as a walk component, hand-encoded (the client would refuse to send it).
        let dotdot: [UInt8] = [3, 0, 0, 0, 8, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0] + [1, 0] + [2, 0, 0x2E, 0x2E]
        XCTAssertEqual(try exchange(dotdot), GoferReplyMessage(operation: 3, tag: 8, error: .EINVAL))
        // Truncated and garbage requests.
        XCTAssertEqual(try exchange([5, 0, 0, 0, 9, 0, 0, 0, 1]), GoferReplyMessage(operation: 5, tag: 9, error: .EINVAL))
        XCTAssertEqual(try exchange([0xFF]), GoferReplyMessage(operation: 0, tag: 0, error: .EINVAL))
        // Descriptors sent to the Gofer are dropped, and the request is still answered.
        var p: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&p), 0)
        try GoferSocket.send(gofer.rawSocket, GoferWire.encode(GoferRequestMessage(tag: 10, request: .attach)), donating: p[0])
        close(p[0])
        let packet = try XCTUnwrap(try GoferSocket.receive(gofer.rawSocket))
        XCTAssertEqual(try GoferWire.decodeReply(packet.bytes).tag, 10)
        close(p[1])
        // The server is still in step afterwards.
        guard case .success(.attach) = try exchange(11, .attach).result else { return XCTFail("attach still works") }
    }

    func testOversizedRequestIsAnsweredAndServingContinues() throws {
        _ = try exchange(1, .version(minVersion: 1, maxVersion: 1))
        XCTAssertEqual(try exchange([UInt8](repeating: 1, count: GoferWire.maxMessageSize + 100)).result, .failure(.EMSGSIZE))
        guard case .success(.attach) = try exchange(2, .attach).result else { return XCTFail("attach still works") }
    }
}
