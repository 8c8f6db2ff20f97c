import LinuxABI
import XCTest

@testable import GoferProtocol

/// Samples of every request and reply, shared by the round-trip and the robustness tests.
enum Samples {
    static let attributes = FileAttributes(
        dev: 0x803, inode: 123_456_789, mode: FileMode.S_IFREG | 0o644, nlink: 1, uid: 1000, gid: 100,
        rdev: 0, size: 4096, blockSize: 4096, blocks: 8,
        atime: FileTime(seconds: 1_700_000_000, nanoseconds: 1), mtime: FileTime(seconds: -5, nanoseconds: 999_999_999),
        ctime: FileTime(seconds: 0, nanoseconds: 0))
    static let directoryAttributes: FileAttributes = {
        var a = attributes
        a.mode = FileMode.S_IFDIR | 0o755
        return a
    }()

    static let requests: [GoferRequest] = [
        .version(minVersion: 1, maxVersion: 7),
        .attach,
        .attachBind(index: 3),
        .connectSocket(file: FileHandle(raw: 4), type: 5),
        .bindSocket(directory: FileHandle(raw: 4), name: Array("app.sock".utf8), type: 1),
        .getXattr(FileHandle(raw: 4), name: Array("user.a".utf8)),
        .setXattr(FileHandle(raw: 4), name: Array("trusted.b".utf8), value: [0, 1, 2], flags: 1),
        .listXattr(FileHandle(raw: 4)),
        .removeXattr(FileHandle(raw: 4), name: Array("security.c".utf8)),
        .walk(directory: FileHandle(raw: 1), names: [Array("usr".utf8), Array("lib".utf8), [0xFF, 0xFE]]),
        .walk(directory: FileHandle(raw: 2), names: []),
        .walk(directory: FileHandle(raw: 3), names: Array(repeating: [UInt8](repeating: 0x61, count: 255),
                                                            count: GoferWire.maxWalkComponents)),
        .open(file: FileHandle(raw: .max), flags: UInt32(OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC)),
        .getAttributes(FileHandle(raw: 42)),
        .readDirectory(FileHandle(raw: 5), cookie: 0x7FFF_FFFF_FFFF_FFFF),
        .readlink(FileHandle(raw: 6)),
        .statfs(FileHandle(raw: 7)),
        .close(FileHandle(raw: 8)),
        .create(directory: FileHandle(raw: 9), name: Array("new".utf8), flags: UInt32(OpenFlags.O_RDWR), mode: 0o640,
                owner: FileOwner(uid: 1000, gid: 100)),
        .mkdir(directory: FileHandle(raw: 9), name: Array("d".utf8), mode: 0o1777, owner: FileOwner(uid: 0, gid: 0)),
        .mknod(directory: FileHandle(raw: 9), name: Array("p".utf8), mode: FileMode.S_IFIFO | 0o600, owner: FileOwner(uid: 1, gid: 2)),
        .symlink(directory: FileHandle(raw: 9), name: Array("l".utf8), target: Array("../x/y".utf8), owner: FileOwner(uid: 1, gid: 2)),
        .link(file: FileHandle(raw: 10), directory: FileHandle(raw: 9), name: Array("hard".utf8)),
        .unlink(directory: FileHandle(raw: 9), name: Array("gone".utf8), flags: UInt32(AtFlags.AT_REMOVEDIR)),
        .rename(directory: FileHandle(raw: 9), name: Array("a".utf8), newDirectory: FileHandle(raw: 11),
                newName: Array("b".utf8), flags: RenameFlags.noReplace),
        .setAttributes(FileHandle(raw: 12), Samples.changes),
    ]

    static let changes: AttributeChanges = {
        var c = AttributeChanges()
        c.mask = AttributeChanges.mode | AttributeChanges.size | AttributeChanges.atime | AttributeChanges.mtimeNow
        c.mode = 0o4755; c.size = 1 << 40; c.atime = FileTime(seconds: -1, nanoseconds: 999_999_999)
        return c
    }()

    static let replies: [GoferReplyMessage] = [
        GoferReplyMessage(tag: 1, reply: .version(1, maxMessageSize: 65536)),
        GoferReplyMessage(tag: 2, reply: .attach(FileHandle(raw: 1), directoryAttributes)),
        GoferReplyMessage(tag: 2, reply: .attachedBind(FileHandle(raw: 9), attributes)),
        GoferReplyMessage(tag: 2, reply: .connectedSocket),
        GoferReplyMessage(tag: 2, reply: .boundSocket),
        GoferReplyMessage(tag: 2, reply: .xattr(.getXattr, [0, 255])),
        GoferReplyMessage(tag: 2, reply: .xattr(.listXattr, Array("user.a\0".utf8))),
        GoferReplyMessage(tag: 2, reply: .done(.setXattr)),
        GoferReplyMessage(tag: 2, reply: .done(.removeXattr)),
        GoferReplyMessage(tag: 3, reply: .walk([
            WalkedComponent(handle: FileHandle(raw: 10), attributes: directoryAttributes),
            WalkedComponent(handle: FileHandle(raw: 11), attributes: attributes),
        ], failure: nil)),
        GoferReplyMessage(tag: 4, reply: .walk([], failure: .ENOENT)),
        GoferReplyMessage(tag: 5, reply: .open),
        GoferReplyMessage(tag: 6, reply: .attributes(attributes)),
        GoferReplyMessage(tag: 7, reply: .directory(DirectoryPage(entries: [
            DirectoryEntry(rawName: Array("bin".utf8), inode: 12, type: DirentType.DT_DIR),
            DirectoryEntry(rawName: [0xC3, 0x28], inode: 13, type: DirentType.DT_REG),
        ], nextCookie: 99, end: false))),
        GoferReplyMessage(tag: 8, reply: .directory(DirectoryPage(entries: [], nextCookie: 0, end: true))),
        GoferReplyMessage(tag: 9, reply: .readlink(Array("/etc/passwd".utf8))),
        GoferReplyMessage(tag: 10, reply: .statfs(FileSystemStatistics(
            type: 0xEF53, blockSize: 4096, blocks: 1000, blocksFree: 500, blocksAvailable: 400, files: 100,
            filesFree: 50, nameLength: 255, fragmentSize: 4096, flags: 1))),
        GoferReplyMessage(tag: 11, reply: .close),
        GoferReplyMessage(tag: 14, reply: .created(.create, WalkedComponent(handle: FileHandle(raw: 20), attributes: attributes))),
        GoferReplyMessage(tag: 15, reply: .created(.mkdir, WalkedComponent(handle: FileHandle(raw: 21), attributes: directoryAttributes))),
        GoferReplyMessage(tag: 16, reply: .created(.symlink, WalkedComponent(handle: FileHandle(raw: 22), attributes: attributes))),
        GoferReplyMessage(tag: 20, reply: .created(.mknod, WalkedComponent(handle: FileHandle(raw: 23), attributes: attributes))),
        GoferReplyMessage(tag: 21, reply: .created(.link, WalkedComponent(handle: FileHandle(raw: 24), attributes: attributes))),
        GoferReplyMessage(tag: 17, reply: .done(.unlink)),
        GoferReplyMessage(tag: 18, reply: .done(.rename)),
        GoferReplyMessage(tag: 19, reply: .setAttributes(attributes)),
        GoferReplyMessage(operation: GoferOperation.walk.rawValue, tag: 12, error: .EBADF),
        GoferReplyMessage(operation: 999, tag: 13, error: .ENOSYS),
    ]

    static var encodedRequests: [[UInt8]] {
        requests.enumerated().map { GoferWire.encode(GoferRequestMessage(tag: UInt32($0.offset), request: $0.element)) }
    }
    static var encodedReplies: [[UInt8]] { replies.map { GoferWire.encode($0) } }
}

final class MessageCodingTests: XCTestCase {
    func testEveryRequestRoundTrips() throws {
        for (i, request) in Samples.requests.enumerated() {
            let message = GoferRequestMessage(tag: UInt32(i) &* 7919, request: request)
            XCTAssertEqual(try GoferWire.decodeRequest(GoferWire.encode(message)), message, "\(request)")
        }
        // Every operation has a sample, so a new operation cannot be added without a round-trip test.
        XCTAssertEqual(Set(Samples.requests.map(\.operation)), Set(GoferOperation.allCases))
    }

    func testEveryReplyRoundTrips() throws {
        for reply in Samples.replies {
            XCTAssertEqual(try GoferWire.decodeReply(GoferWire.encode(reply)), reply)
        }
        let ops = Samples.replies.compactMap { try? $0.result.get().operation }
        XCTAssertEqual(Set(ops), Set(GoferOperation.allCases))
    }

    func testHeaderLayoutIsLittleEndianOpFlagsTag() {
        let bytes = GoferWire.encode(GoferRequestMessage(tag: 0x0102_0304, request: .getAttributes(FileHandle(raw: 0x0A0B))))
        XCTAssertEqual(bytes, [5, 0, 0, 0, 4, 3, 2, 1, 0x0B, 0x0A, 0, 0, 0, 0, 0, 0])
        let error = GoferWire.encode(GoferReplyMessage(operation: 4, tag: 9, error: .EROFS))
        XCTAssertEqual(error, [4, 0, 0, 0, 9, 0, 0, 0, 30, 0, 0, 0])
    }

    /// Every cut of every sample fails (for the 33 KB walk: every 97th cut and the last 600).
    private func cuts(_ bytes: [UInt8]) -> [Int] {
        bytes.count <= 1024 ? Array(0..<bytes.count)
            : Array(stride(from: 0, to: bytes.count - 600, by: 97)) + Array((bytes.count - 600)..<bytes.count)
    }

    func testEveryTruncationIsRejected() {
        for bytes in Samples.encodedRequests {
            for length in cuts(bytes) {
                XCTAssertThrowsError(try GoferWire.decodeRequest(Array(bytes[0..<length])), "request cut at \(length)")
            }
        }
        for bytes in Samples.encodedReplies {
            for length in cuts(bytes) {
                XCTAssertThrowsError(try GoferWire.decodeReply(Array(bytes[0..<length])), "reply cut at \(length)")
            }
        }
    }

    func testTrailingBytesAreRejected() {
        for bytes in Samples.encodedRequests {
            XCTAssertThrowsError(try GoferWire.decodeRequest(bytes + [0])) { XCTAssertEqual($0 as? GoferDecodeError, .trailingBytes) }
        }
        for bytes in Samples.encodedReplies {
            XCTAssertThrowsError(try GoferWire.decodeReply(bytes + [0])) { XCTAssertEqual($0 as? GoferDecodeError, .trailingBytes) }
        }
    }

    func testOversizedMessagesAndCountsAreRejected() {
        let huge = [UInt8](repeating: 0, count: GoferWire.maxMessageSize + 1)
        XCTAssertThrowsError(try GoferWire.decodeRequest(huge)) { XCTAssertEqual($0 as? GoferDecodeError, .oversized) }
        XCTAssertThrowsError(try GoferWire.decodeReply(huge)) { XCTAssertEqual($0 as? GoferDecodeError, .oversized) }

        // A walk of 129 names, hand-built because the encoder's users never make one.
        var w = WireWriter()
        w.u16(GoferOperation.walk.rawValue); w.u16(0); w.u32(1); w.u64(1)
        w.u16(UInt16(GoferWire.maxWalkComponents + 1))
        for _ in 0...GoferWire.maxWalkComponents { w.string([0x61]) }
        XCTAssertThrowsError(try GoferWire.decodeRequest(w.bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .oversized) }

        // A count far larger than the bytes that follow is refused before anything is allocated for it.
        var r = WireWriter()
        r.u16(GoferOperation.readDirectory.rawValue); r.u16(0); r.u32(1); r.i32(0); r.u8(0); r.u64(0); r.u16(.max)
        XCTAssertThrowsError(try GoferWire.decodeReply(r.bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .truncated) }

        // A symlink target longer than PATH_MAX.
        var l = WireWriter()
        l.u16(GoferOperation.readlink.rawValue); l.u16(0); l.u32(1); l.i32(0)
        l.string([UInt8](repeating: 0x61, count: GoferWire.maxLinkTargetLength + 1))
        XCTAssertThrowsError(try GoferWire.decodeReply(l.bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .oversized) }
    }

    func testNamesAreValidated() {
        XCTAssertNil(GoferWire.nameError(Array("ok.name".utf8)))
        XCTAssertNil(GoferWire.nameError([UInt8](repeating: 0x61, count: 255)))
        XCTAssertNil(GoferWire.nameError(Array("...".utf8)))
        XCTAssertEqual(GoferWire.nameError([UInt8](repeating: 0x61, count: 256)), .ENAMETOOLONG)
        for bad in ["", ".", "..", "a/b", "/", "a\u{0}b"] {
            XCTAssertEqual(GoferWire.nameError(Array(bad.utf8)), .EINVAL, bad)
            let bytes = GoferWire.encode(GoferRequestMessage(tag: 1, request: .walk(directory: FileHandle(raw: 1), names: [Array(bad.utf8)])))
            XCTAssertThrowsError(try GoferWire.decodeRequest(bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .invalidName) }
        }
        // Names in a directory listing follow the same rules.
        let listing = GoferReplyMessage(tag: 1, reply: .directory(DirectoryPage(
            entries: [DirectoryEntry(rawName: Array("..".utf8), inode: 1, type: 4)], nextCookie: 1, end: true)))
        XCTAssertThrowsError(try GoferWire.decodeReply(GoferWire.encode(listing))) {
            XCTAssertEqual($0 as? GoferDecodeError, .invalidName)
        }
    }

    func testHeaderAndValueChecks() {
        // Nonzero flags.
        XCTAssertThrowsError(try GoferWire.decodeRequest([9, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])) {
            XCTAssertEqual($0 as? GoferDecodeError, .badHeader)
        }
        // Unknown operation: reported with its code so the server can answer ENOSYS.
        XCTAssertThrowsError(try GoferWire.decodeRequest([200, 0, 0, 0, 1, 0, 0, 0])) {
            XCTAssertEqual($0 as? GoferDecodeError, .unknownOperation(200))
        }
        XCTAssertEqual(GoferWire.requestHeader([200, 0, 0, 0, 1, 0, 0, 0])?.tag, 1)
        XCTAssertNil(GoferWire.requestHeader([1, 0, 0]))
        // Negative and out-of-range errno values.
        for errno: Int32 in [-1, 4096, .min] {
            var w = WireWriter()
            w.u16(5); w.u16(0); w.u32(1); w.i32(errno)
            XCTAssertThrowsError(try GoferWire.decodeReply(w.bytes)) { XCTAssertEqual($0 as? GoferDecodeError, .invalidValue) }
        }
        // Nanoseconds out of range.
        var bad = Samples.attributes
        bad.mtime.nanoseconds = 1_000_000_000
        XCTAssertThrowsError(try GoferWire.decodeReply(GoferWire.encode(GoferReplyMessage(tag: 1, reply: .attributes(bad))))) {
            XCTAssertEqual($0 as? GoferDecodeError, .invalidValue)
        }
        // The end flag of a directory page is 0 or 1.
        var page = GoferWire.encode(GoferReplyMessage(tag: 1, reply: .directory(DirectoryPage(entries: [], nextCookie: 0, end: true))))
        page[12] = 2
        XCTAssertThrowsError(try GoferWire.decodeReply(page)) { XCTAssertEqual($0 as? GoferDecodeError, .invalidValue) }
    }

    /// Random bytes, and random mutations of valid messages, must decode or fail cleanly; whatever
    /// decodes must re-encode to exactly the same bytes (the encoding is canonical).
    func testDecoderSurvivesRandomInput() {
        var rng = SplitMix64(seed: 0x5EED)
        let valid = Samples.encodedRequests + Samples.encodedReplies
        var decoded = 0
        for i in 0..<40_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                if bytes.count >= 2 && i % 4 == 0 { bytes[0] = UInt8(1 + rng.next() % 9); bytes[1] = 0 }
            } else {
                bytes = valid[Int(rng.next() % UInt64(valid.count))]
                for _ in 0..<(1 + rng.next() % 4) {
                    switch rng.next() % 3 {
                    case 0 where !bytes.isEmpty: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                    case 1 where !bytes.isEmpty: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
                    default: bytes.append(UInt8(truncatingIfNeeded: rng.next()))
                    }
                }
            }
            if let m = try? GoferWire.decodeRequest(bytes) {
                decoded += 1
                XCTAssertEqual(GoferWire.encode(m), bytes)
            }
            if let m = try? GoferWire.decodeReply(bytes) {
                decoded += 1
                XCTAssertEqual(GoferWire.encode(m), bytes)
            }
        }
        XCTAssertGreaterThan(decoded, 0, "the mutations should sometimes still be valid messages")
    }
}

/// A small deterministic generator, so a failing input can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
