import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

/// The write operations of a writable Gofer, in-process, against a scratch tree:
///
///     root/file.txt "contents"   root/d/   root/escape -> /etc   root/up -> ../..   outside/secret
final class GoferWriteTests: XCTestCase {
    private var scratch: TempTree!
    private var gofer: InProcessGofer!
    private var client: GoferClient { gofer.client! }
    private var rootHandle: GoferProtocol.FileHandle!
    private let owner = FileOwner(uid: getuid(), gid: getgid())

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root/d")
        try scratch.directory("outside")
        try scratch.file("outside/secret", "host secret")
        try scratch.file("root/file.txt", "contents")
        try scratch.symlink("root/escape", to: "/etc")
        try scratch.symlink("root/up", to: "../..")
        gofer = try InProcessGofer(root: scratch.url("root"), readOnly: false)
        rootHandle = try client.attach().0
    }

    override func tearDown() {
        if let gofer { XCTAssertNil(gofer.stop()) }
        gofer = nil
        scratch = nil
    }

    private func handle(_ path: String) throws -> WalkedComponent {
        let (walked, failure) = try client.walk(rootHandle, path.split(separator: "/").map(String.init))
        if let failure { throw failure }
        return walked[walked.count - 1]
    }
    private func exists(_ relative: String) -> Bool {
        var st = stat()
        return lstat(scratch.url(relative), &st) == 0
    }
    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testCreateDonatesAWritableDescriptorWithExactModeAndOwner() throws {
        let (created, fd) = try client.create(rootHandle, bytes("new.txt"), flags: Int32(OpenFlags.O_RDWR), mode: 0o604, owner: owner)
        defer { close(fd) }
        XCTAssertEqual(pwrite(fd, "written", 7, 0), 7)
        XCTAssertEqual(readAll(fd), "written")
        let host = try scratch.lstatAttributes("root/new.txt")
        XCTAssertEqual(host.mode, FileMode.S_IFREG | 0o604, "the host umask must not apply")
        XCTAssertEqual(host.inode, created.attributes.inode)
        XCTAssertEqual(try client.attributes(created.handle).size, 7)
        // O_EXCL semantics: an existing file, and a symlink (even one pointing out), are never opened.
        XCTAssertThrowsError(try client.create(rootHandle, bytes("new.txt"), flags: 0, mode: 0o644, owner: owner)) {
            XCTAssertEqual($0 as? Errno, .EEXIST)
        }
        XCTAssertThrowsError(try client.create(rootHandle, bytes("escape"), flags: 0, mode: 0o644, owner: owner)) {
            XCTAssertEqual($0 as? Errno, .EEXIST)
        }
    }

    func testMkdirMknodSymlinkLinkUnlink() throws {
        let d = try client.mkdir(rootHandle, bytes("sub"), mode: 0o711, owner: owner)
        XCTAssertEqual(try scratch.lstatAttributes("root/sub").mode, FileMode.S_IFDIR | 0o711)
        let p = try client.mknod(d.handle, bytes("pipe"), mode: FileMode.S_IFIFO | 0o600, owner: owner)
        XCTAssertEqual(p.attributes.fileType, FileMode.S_IFIFO)
        for device in [FileMode.S_IFCHR, FileMode.S_IFBLK, FileMode.S_IFSOCK] {
            XCTAssertThrowsError(try client.mknod(d.handle, bytes("dev"), mode: device | 0o600, owner: owner)) {
                XCTAssertEqual($0 as? Errno, .EPERM)
            }
        }
        XCTAssertFalse(exists("root/sub/dev"))
        let l = try client.symlink(d.handle, bytes("link"), target: bytes("/etc/passwd"), owner: owner)
        XCTAssertTrue(l.attributes.isSymlink)
        XCTAssertEqual(try client.readlink(l.handle), "/etc/passwd")
        let file = try handle("file.txt")
        let hard = try client.link(file.handle, d.handle, bytes("hard"))
        XCTAssertEqual(hard.attributes.inode, file.attributes.inode)
        XCTAssertEqual(try scratch.lstatAttributes("root/file.txt").nlink, 2)
        XCTAssertThrowsError(try client.link(d.handle, rootHandle, bytes("dirlink"))) { XCTAssertEqual($0 as? Errno, .EPERM) }
        XCTAssertThrowsError(try client.unlink(rootHandle, bytes("sub"), removeDirectory: true)) { XCTAssertEqual($0 as? Errno, .ENOTEMPTY) }
        for name in ["pipe", "link", "hard"] { try client.unlink(d.handle, bytes(name), removeDirectory: false) }
        try client.unlink(rootHandle, bytes("sub"), removeDirectory: true)
        XCTAssertFalse(exists("root/sub"))
        // Unlinking a symlink removes the link, never what it points to.
        try client.unlink(rootHandle, bytes("escape"), removeDirectory: false)
        XCTAssertTrue(exists("outside/secret"))
        XCTAssertNotNil(opendir("/etc").map { closedir($0) })
    }

    func testRenameFlagsAndHandlesFollowTheFile() throws {
        let file = try handle("file.txt")
        let d = try handle("d")
        try client.rename(rootHandle, bytes("file.txt"), to: d.handle, bytes("moved"), flags: 0)
        XCTAssertFalse(exists("root/file.txt"))
        // The handle still names the file: it can be opened at its new place.
        let fd = try client.open(file.handle, flags: Int32(OpenFlags.O_RDONLY))
        XCTAssertEqual(readAll(fd), "contents")
        close(fd)
        try scratch.file("root/other", "other")
        XCTAssertThrowsError(try client.rename(rootHandle, bytes("other"), to: d.handle, bytes("moved"), flags: RenameFlags.noReplace)) {
            XCTAssertEqual($0 as? Errno, .EEXIST)
        }
        try client.rename(rootHandle, bytes("other"), to: d.handle, bytes("moved"), flags: RenameFlags.exchange)
        XCTAssertEqual(try String(contentsOfFile: scratch.url("root/other"), encoding: .utf8), "contents")
        XCTAssertEqual(try String(contentsOfFile: scratch.url("root/d/moved"), encoding: .utf8), "other")
        let again = try client.open(file.handle, flags: Int32(OpenFlags.O_RDONLY))
        XCTAssertEqual(readAll(again), "contents", "after an exchange the handle follows its file")
        close(again)
    }

    func testSetAttributes() throws {
        let file = try handle("file.txt")
        var c = AttributeChanges()
        c.mask = AttributeChanges.mode | AttributeChanges.size | AttributeChanges.atime | AttributeChanges.mtime
        c.mode = 0o600; c.size = 3
        c.atime = FileTime(seconds: 1_000_000, nanoseconds: 5); c.mtime = FileTime(seconds: 2_000_000, nanoseconds: 7)
        let a = try client.setAttributes(file.handle, c)
        XCTAssertEqual(a.mode, FileMode.S_IFREG | 0o600)
        XCTAssertEqual(a.size, 3)
        XCTAssertEqual(a.atime, FileTime(seconds: 1_000_000, nanoseconds: 5))
        XCTAssertEqual(a.mtime, FileTime(seconds: 2_000_000, nanoseconds: 7))
        XCTAssertEqual(try scratch.lstatAttributes("root/file.txt"), try client.attributes(file.handle))
        // UTIME_NOW for mtime only: atime untouched.
        c = AttributeChanges(); c.mask = AttributeChanges.mtimeNow
        let now = try client.setAttributes(file.handle, c)
        XCTAssertEqual(now.atime, a.atime)
        XCTAssertGreaterThan(now.mtime.seconds, 1_700_000_000)
        // Symlinks: no mode (EOPNOTSUPP, as lchmod), times work on the link itself.
        let link = try handle("escape")
        c = AttributeChanges(); c.mask = AttributeChanges.mode; c.mode = 0o777
        XCTAssertThrowsError(try client.setAttributes(link.handle, c)) { XCTAssertEqual($0 as? Errno, .EOPNOTSUPP) }
        c = AttributeChanges(); c.mask = AttributeChanges.mtime; c.mtime = FileTime(seconds: 12345, nanoseconds: 0)
        XCTAssertEqual(try client.setAttributes(link.handle, c).mtime.seconds, 12345)
        var st = stat()
        XCTAssertEqual(stat("/etc", &st), 0)
        XCTAssertNotEqual(Int64(st.st_mtim.tv_sec), 12345, "the target outside the root is untouched")
        c = AttributeChanges(); c.mask = AttributeChanges.size; c.size = 1
        XCTAssertThrowsError(try client.setAttributes(try handle("d").handle, c)) { XCTAssertEqual($0 as? Errno, .EISDIR) }
    }

    func testReplacedFileGivesEstale() throws {
        let file = try handle("file.txt")
        XCTAssertEqual(unlink(scratch.url("root/file.txt")), 0)
        try scratch.file("root/file.txt", "impostor")
        var c = AttributeChanges(); c.mask = AttributeChanges.size; c.size = 0
        XCTAssertThrowsError(try client.setAttributes(file.handle, c)) { XCTAssertEqual($0 as? Errno, .ESTALE) }
        XCTAssertEqual(try String(contentsOfFile: scratch.url("root/file.txt"), encoding: .utf8), "impostor")
        // A symlink swapped in for the file is never followed either.
        XCTAssertEqual(unlink(scratch.url("root/file.txt")), 0)
        try scratch.symlink("root/file.txt", to: "../outside/secret")
        XCTAssertThrowsError(try client.setAttributes(file.handle, c)) { XCTAssertEqual($0 as? Errno, .ESTALE) }
        XCTAssertEqual(try String(contentsOfFile: scratch.url("outside/secret"), encoding: .utf8), "host secret")
    }

    func testNothingEscapesTheRoot() throws {
        // Names with '/' or ".." never reach the server (the client refuses them, the decoder too).
        for bad in ["../outside/x", "..", "a/b"] {
            XCTAssertThrowsError(try client.mkdir(rootHandle, bytes(bad), mode: 0o755, owner: owner))
        }
        // Creating through a symlink to a directory outside: the symlink is not a directory handle.
        let up = try handle("up")
        XCTAssertThrowsError(try client.create(up.handle, bytes("x"), flags: 0, mode: 0o644, owner: owner)) {
            XCTAssertEqual($0 as? Errno, .ENOTDIR)
        }
        XCTAssertThrowsError(try client.rename(rootHandle, bytes("file.txt"), to: up.handle, bytes("x"), flags: 0)) {
            XCTAssertEqual($0 as? Errno, .ENOTDIR)
        }
        XCTAssertFalse(exists("x"))
        XCTAssertEqual(try String(contentsOfFile: scratch.url("outside/secret"), encoding: .utf8), "host secret")
    }

    func testBadHandlesAreRefused() throws {
        let bogus = GoferProtocol.FileHandle(raw: 999_999)
        XCTAssertThrowsError(try client.mkdir(bogus, bytes("x"), mode: 0o755, owner: owner)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.setAttributes(bogus, AttributeChanges())) { XCTAssertEqual($0 as? Errno, .EBADF) }
        let file = try handle("file.txt")
        // A regular file is not a directory handle.
        XCTAssertThrowsError(try client.mkdir(file.handle, bytes("x"), mode: 0o755, owner: owner)) { XCTAssertEqual($0 as? Errno, .ENOTDIR) }
        XCTAssertThrowsError(try client.unlink(file.handle, bytes("x"), removeDirectory: false)) { XCTAssertEqual($0 as? Errno, .ENOTDIR) }
        // A closed handle is gone for good.
        let d = try handle("d")
        client.close(d.handle)
        XCTAssertThrowsError(try client.mkdir(d.handle, bytes("x"), mode: 0o755, owner: owner)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertFalse(exists("root/d/x"))
    }

    func testReadOnlyGoferRefusesEveryWrite() throws {
        XCTAssertNil(gofer.stop())
        gofer = try InProcessGofer(root: scratch.url("root"), readOnly: true)
        rootHandle = try client.attach().0
        let file = try handle("file.txt")
        XCTAssertThrowsError(try client.create(rootHandle, bytes("n"), flags: 0, mode: 0o644, owner: owner)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.mkdir(rootHandle, bytes("n"), mode: 0o755, owner: owner)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.unlink(rootHandle, bytes("file.txt"), removeDirectory: false)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.rename(rootHandle, bytes("file.txt"), to: rootHandle, bytes("n"), flags: 0)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.link(file.handle, rootHandle, bytes("n"))) { XCTAssertEqual($0 as? Errno, .EROFS) }
        var c = AttributeChanges(); c.mask = AttributeChanges.size
        XCTAssertThrowsError(try client.setAttributes(file.handle, c)) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertTrue(exists("root/file.txt"))
        XCTAssertFalse(exists("root/n"))
    }
}
