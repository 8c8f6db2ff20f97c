import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

/// Bind mounts served as further roots (`attachBind`), in-process and unconfined, over this tree:
///
///     root/file.txt           the (read-only) root
///     vol/data.txt            bind 0, read-write; bind 2, the same directory read-only
///     vol/escape -> ../outside/secret
///     hosts                   bind 1, a single file, read-only
///     rwfile                  bind 3, a single file, read-write
///     outside/secret
final class GoferBindTests: XCTestCase {
    private var scratch: TempTree!
    private var gofer: InProcessGofer!
    private var client: GoferClient { gofer.client! }
    private let owner = FileOwner(uid: getuid(), gid: getgid())

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root")
        try scratch.directory("vol")
        try scratch.directory("outside")
        try scratch.file("root/file.txt", "root file")
        try scratch.file("vol/data.txt", "volume data")
        try scratch.symlink("vol/escape", to: "../outside/secret")
        try scratch.file("outside/secret", "host secret")
        try scratch.file("hosts", "127.0.0.1 localhost\n")
        try scratch.file("rwfile", "old contents")
        gofer = try InProcessGofer(root: scratch.url("root"), readOnly: true, binds: [
            (scratch.url("vol"), false), (scratch.url("hosts"), true), (scratch.url("vol"), true), (scratch.url("rwfile"), false),
        ])
    }

    override func tearDown() {
        if let gofer { XCTAssertNil(gofer.stop()) }
        gofer = nil
        scratch = nil
    }

    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func hostContents(_ relative: String) throws -> String {
        let fd = open(scratch.url(relative), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Errno(errno) }
        defer { close(fd) }
        return readAll(fd)
    }

    func testDirectoryBindIsServedAndWritesReachTheHost() throws {
        let (vol, attributes) = try client.attach(bind: 0)
        XCTAssertEqual(attributes, try scratch.lstatAttributes("vol"))
        let (walked, failure) = try client.walk(vol, ["data.txt"])
        XCTAssertNil(failure)
        let data = try XCTUnwrap(walked.first)
        let fd = try client.open(data.handle, flags: Int32(OpenFlags.O_RDWR))
        XCTAssertEqual(readAll(fd), "volume data")
        XCTAssertEqual(pwrite(fd, "VOLUME", 6, 0), 6)
        close(fd)
        XCTAssertEqual(try hostContents("vol/data.txt"), "VOLUME data")
        let (_, created) = try client.create(vol, bytes("new.txt"), flags: Int32(OpenFlags.O_WRONLY), mode: 0o644, owner: owner)
        XCTAssertEqual(write(created, "made inside", 11), 11)
        close(created)
        XCTAssertEqual(try hostContents("vol/new.txt"), "made inside")
    }

    func testFileBindIsAFileRoot() throws {
        let (hosts, attributes) = try client.attach(bind: 1)
        XCTAssertEqual(attributes, try scratch.lstatAttributes("hosts"))
        XCTAssertEqual(attributes.fileType, FileMode.S_IFREG)
        let fd = try client.open(hosts, flags: Int32(OpenFlags.O_RDONLY))
        XCTAssertEqual(readAll(fd), "127.0.0.1 localhost\n")
        close(fd)
        // Nothing can be walked from a file root (either the request or its first component fails).
        do {
            let (walked, failure) = try client.walk(hosts, ["x"])
            XCTAssertTrue(walked.isEmpty)
            XCTAssertEqual(failure, .ENOTDIR)
        } catch {
            XCTAssertEqual(error, .ENOTDIR)
        }
    }

    func testReadOnlyFileBindRefusesWrites() throws {
        let (hosts, _) = try client.attach(bind: 1)
        XCTAssertThrowsError(try client.open(hosts, flags: Int32(OpenFlags.O_WRONLY))) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.open(hosts, flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_TRUNC))) {
            XCTAssertEqual($0 as? Errno, .EROFS)
        }
        var changes = AttributeChanges()
        changes.mask = AttributeChanges.size
        changes.size = 0
        XCTAssertThrowsError(try client.setAttributes(hosts, changes)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertEqual(try hostContents("hosts"), "127.0.0.1 localhost\n")
    }

    func testReadWriteFileBindWritesTheHostFile() throws {
        let (file, _) = try client.attach(bind: 3)
        let fd = try client.open(file, flags: Int32(OpenFlags.O_WRONLY | OpenFlags.O_TRUNC))
        XCTAssertEqual(write(fd, "new", 3), 3)
        close(fd)
        XCTAssertEqual(try hostContents("rwfile"), "new")
    }

    func testReadOnlyDirectoryBindRefusesEveryChange() throws {
        let (vol, _) = try client.attach(bind: 2)
        let data = try XCTUnwrap(try client.walk(vol, ["data.txt"]).walked.first)
        XCTAssertThrowsError(try client.open(data.handle, flags: Int32(OpenFlags.O_RDWR))) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.create(vol, bytes("n"), flags: 0, mode: 0o644, owner: owner)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.mkdir(vol, bytes("d"), mode: 0o755, owner: owner)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.unlink(vol, bytes("data.txt"), removeDirectory: false)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertEqual(try client.statfs(vol).flags & FileSystemStatistics.readOnlyFlag, FileSystemStatistics.readOnlyFlag)
        // The same directory through the writable bind: a rename into the read-only one is refused too.
        let (rw, _) = try client.attach(bind: 0)
        XCTAssertEqual(try client.statfs(rw).flags & FileSystemStatistics.readOnlyFlag, 0)
        XCTAssertThrowsError(try client.rename(rw, bytes("data.txt"), to: vol, bytes("moved"), flags: 0)) {
            XCTAssertEqual($0 as? Errno, .EROFS)
        }
        XCTAssertEqual(try hostContents("vol/data.txt"), "volume data")
    }

    func testReadOnlyRootStaysReadOnlyBesideAWritableBind() throws {
        let (root, _) = try client.attach()
        XCTAssertThrowsError(try client.create(root, bytes("n"), flags: 0, mode: 0o644, owner: owner)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        let file = try XCTUnwrap(try client.walk(root, ["file.txt"]).walked.first)
        XCTAssertThrowsError(try client.open(file.handle, flags: Int32(OpenFlags.O_WRONLY))) { XCTAssertEqual($0 as? Errno, .EROFS) }
    }

    func testSymlinkInABindIsNeverFollowed() throws {
        let (vol, _) = try client.attach(bind: 0)
        let link = try XCTUnwrap(try client.walk(vol, ["escape"]).walked.first)
        XCTAssertEqual(link.attributes.fileType, FileMode.S_IFLNK)
        XCTAssertThrowsError(try client.open(link.handle, flags: Int32(OpenFlags.O_RDONLY))) { XCTAssertEqual($0 as? Errno, .ELOOP) }
        XCTAssertThrowsError(try client.walk(vol, [".."])) { XCTAssertEqual($0 as? Errno, .EINVAL) }
    }

    func testUnknownBindIndexIsENOENT() throws {
        XCTAssertThrowsError(try client.attach(bind: 4)) { XCTAssertEqual($0 as? Errno, .ENOENT) }
    }

    func testBindSourceMustExistAndBeAbsolute() {
        XCTAssertThrowsError(try GoferBindRoot(path: scratch.url("missing"), readOnly: false)) {
            XCTAssertEqual(($0 as? GoferRoleError)?.errno, .ENOENT)
        }
        XCTAssertThrowsError(try GoferBindRoot(path: "relative/path", readOnly: false)) {
            XCTAssertEqual(($0 as? GoferRoleError)?.errno, .EINVAL)
        }
    }
}
