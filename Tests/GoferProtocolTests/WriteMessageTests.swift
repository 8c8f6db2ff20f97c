import LinuxABI
import XCTest

@testable import GoferProtocol

/// The write operations' own validation: what the decoder must refuse before a Gofer ever acts on it.
final class WriteMessageTests: XCTestCase {
    private func rejects(_ request: GoferRequest, _ expected: GoferDecodeError, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = GoferWire.encode(GoferRequestMessage(tag: 3, request: request))
        XCTAssertThrowsError(try GoferWire.decodeRequest(bytes), file: file, line: line) {
            XCTAssertEqual($0 as? GoferDecodeError, expected, "\(request)", file: file, line: line)
        }
    }

    func testNamesOfEveryWriteOperationAreValidated() {
        let d = FileHandle(raw: 1), owner = FileOwner(uid: 0, gid: 0)
        for bad in ["", ".", "..", "a/b", "x\u{0}"].map({ Array($0.utf8) }) {
            rejects(.create(directory: d, name: bad, flags: 0, mode: 0o644, owner: owner), .invalidName)
            rejects(.mkdir(directory: d, name: bad, mode: 0o755, owner: owner), .invalidName)
            rejects(.mknod(directory: d, name: bad, mode: FileMode.S_IFIFO, owner: owner), .invalidName)
            rejects(.symlink(directory: d, name: bad, target: Array("t".utf8), owner: owner), .invalidName)
            rejects(.link(file: d, directory: d, name: bad), .invalidName)
            rejects(.unlink(directory: d, name: bad, flags: 0), .invalidName)
            rejects(.rename(directory: d, name: bad, newDirectory: d, newName: Array("ok".utf8), flags: 0), .invalidName)
            rejects(.rename(directory: d, name: Array("ok".utf8), newDirectory: d, newName: bad, flags: 0), .invalidName)
        }
    }

    func testValuesOutOfRangeAreRejected() {
        let d = FileHandle(raw: 1), owner = FileOwner(uid: 0, gid: 0), n = Array("n".utf8)
        // Type bits where only permissions belong.
        rejects(.create(directory: d, name: n, flags: 0, mode: FileMode.S_IFREG | 0o644, owner: owner), .invalidValue)
        rejects(.mkdir(directory: d, name: n, mode: 0o10000, owner: owner), .invalidValue)
        // Empty symlink targets and targets with NUL.
        rejects(.symlink(directory: d, name: n, target: [], owner: owner), .invalidValue)
        rejects(.symlink(directory: d, name: n, target: [0x61, 0, 0x62], owner: owner), .invalidValue)
        // unlink knows only AT_REMOVEDIR; rename only NOREPLACE or EXCHANGE, never both (nor WHITEOUT).
        rejects(.unlink(directory: d, name: n, flags: 0x100), .invalidValue)
        rejects(.rename(directory: d, name: n, newDirectory: d, newName: n, flags: 3), .invalidValue)
        rejects(.rename(directory: d, name: n, newDirectory: d, newName: n, flags: 4), .invalidValue)
        var c = AttributeChanges()
        c.mask = 1 << 9
        rejects(.setAttributes(d, c), .invalidValue)
        c = AttributeChanges(); c.mask = AttributeChanges.mode; c.mode = FileMode.S_IFDIR
        rejects(.setAttributes(d, c), .invalidValue)
        c = AttributeChanges(); c.mask = AttributeChanges.size; c.size = -1
        rejects(.setAttributes(d, c), .invalidValue)
        c = AttributeChanges(); c.mask = AttributeChanges.atime | AttributeChanges.atimeNow
        rejects(.setAttributes(d, c), .invalidValue)
        c = AttributeChanges(); c.mask = AttributeChanges.mtime; c.mtime.nanoseconds = 1_000_000_000
        rejects(.setAttributes(d, c), .invalidValue)
    }

    func testCreatedRepliesKeepTheirOperationAndOnlyCreateDonates() throws {
        let attributes = Samples.attributes
        for op in GoferOperation.allCases where op.createsFile {
            let m = GoferReplyMessage(tag: 9, reply: .created(op, WalkedComponent(handle: FileHandle(raw: 4), attributes: attributes)))
            let decoded = try GoferWire.decodeReply(GoferWire.encode(m))
            XCTAssertEqual(decoded.operation, op.rawValue)
            XCTAssertEqual(decoded, m)
        }
        XCTAssertEqual(Set(GoferOperation.allCases.filter(\.createsFile)), [.create, .mkdir, .mknod, .symlink, .link])
        // A reply that claims to be "done" must carry no payload.
        var bytes = GoferWire.encode(GoferReplyMessage(tag: 1, reply: .done(.unlink)))
        bytes.append(0)
        XCTAssertThrowsError(try GoferWire.decodeReply(bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .trailingBytes) }
    }
}
