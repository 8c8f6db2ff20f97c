import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

/// The server loop, unconfined, in-process over a socket pair, against a tree built per test:
///
///     file.txt            "top-level contents"
///     a/b/c.txt           "hello from c"
///     a/empty/
///     a/rel -> b/c.txt
///     escape -> /etc/passwd
///     up -> ../../..
///     sneaky -> ../outside/secret   (outside/ is a sibling of the served root)
///     fifo                a named pipe
final class GoferServerTests: XCTestCase {
    private var scratch: TempTree!
    private var tree: TempTree { scratch }
    private var root: String { scratch.url("root") }
    private var gofer: InProcessGofer!
    private var client: GoferClient { gofer.client! }

    override func setUpWithError() throws {
        scratch = try TempTree()
        try scratch.directory("root/a/b")
        try scratch.directory("root/a/empty")
        try scratch.directory("outside")
        try scratch.file("outside/secret", "host secret")
        try scratch.file("root/file.txt", "top-level contents")
        try scratch.file("root/a/b/c.txt", "hello from c")
        try scratch.symlink("root/a/rel", to: "b/c.txt")
        try scratch.symlink("root/escape", to: "/etc/passwd")
        try scratch.symlink("root/up", to: "../../..")
        try scratch.symlink("root/sneaky", to: "../outside/secret")
        try scratch.fifo("root/fifo")
        gofer = try InProcessGofer(root: root)
    }

    override func tearDown() {
        if let gofer { XCTAssertNil(gofer.stop(), "serve() returns normally at end of stream") }
        gofer = nil
        scratch = nil
    }

    private func walk(_ path: String) throws -> (walked: [WalkedComponent], failure: Errno?) {
        let (rootHandle, _) = try client.attach()
        return try client.walk(rootHandle, path.split(separator: "/").map(String.init))
    }

    func testAttachReturnsTheRoot() throws {
        let (_, attributes) = try client.attach()
        XCTAssertEqual(attributes, try scratch.lstatAttributes("root"))
    }

    func testWalkResolvesMultiComponentPathsWithLstatAttributes() throws {
        let (walked, failure) = try walk("a/b/c.txt")
        XCTAssertNil(failure)
        XCTAssertEqual(walked.count, 3)
        XCTAssertEqual(walked.map(\.attributes), [try tree.lstatAttributes("root/a"), try tree.lstatAttributes("root/a/b"),
                                                  try tree.lstatAttributes("root/a/b/c.txt")])
        XCTAssertEqual(Set(walked.map(\.handle)).count, 3, "each component gets its own handle")
        // attributes() on a handle re-reads the file.
        XCTAssertEqual(try client.attributes(walked[2].handle), try tree.lstatAttributes("root/a/b/c.txt"))
        XCTAssertEqual(try client.attributes(walked[2].handle).size, 12)
    }

    func testOpenDonatesADescriptorWithTheFileContents() throws {
        let (walked, _) = try walk("a/b/c.txt")
        let fd = try client.open(walked[2].handle, flags: Int32(OpenFlags.O_RDONLY))
        defer { close(fd) }
        XCTAssertEqual(readAll(fd), "hello from c")
        let (top, _) = try walk("file.txt")
        let fd2 = try client.open(top[0].handle, flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC))
        defer { close(fd2) }
        XCTAssertEqual(readAll(fd2), "top-level contents")
        // The donated descriptor is a real read-only file descriptor, not O_PATH.
        var st = stat()
        XCTAssertEqual(fstat(fd2, &st), 0)
        XCTAssertEqual(UInt64(st.st_ino), top[0].attributes.inode)
        XCTAssertEqual(write(fd2, "x", 1), -1)
        XCTAssertEqual(errno, EBADF)
    }

    func testDirectoriesOpenReadOnly() throws {
        let (walked, _) = try walk("a")
        let fd = try client.open(walked[0].handle, flags: Int32(OpenFlags.O_RDONLY | OpenFlags.O_DIRECTORY))
        defer { close(fd) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR)
        XCTAssertEqual(UInt64(st.st_ino), walked[0].attributes.inode)
        let (file, _) = try walk("file.txt")
        XCTAssertThrowsError(try client.open(file[0].handle, flags: Int32(OpenFlags.O_DIRECTORY))) { XCTAssertEqual($0 as? Errno, .ENOTDIR) }
    }

    func testReadDirectoryListsExactlyTheEntries() throws {
        let (rootHandle, _) = try client.attach()
        let entries = try client.readDirectory(rootHandle)
        XCTAssertEqual(Set(entries.map(\.name)), ["file.txt", "a", "escape", "up", "sneaky", "fifo"])
        XCTAssertEqual(entries.count, 6, "no duplicates, no . or ..")
        for entry in entries {
            let expected = try tree.lstatAttributes("root/" + entry.name)
            XCTAssertEqual(entry.inode, expected.inode, entry.name)
            XCTAssertEqual(entry.type, DirentType.from(mode: expected.mode), entry.name)
        }
        let (empty, _) = try walk("a/empty")
        XCTAssertEqual(try client.readDirectory(empty[1].handle), [])
        let (file, _) = try walk("file.txt")
        XCTAssertThrowsError(try client.readDirectory(file[0].handle)) { XCTAssertEqual($0 as? Errno, .ENOTDIR) }
    }

    func testLargeDirectoriesArePaged() throws {
        try tree.directory("root/big")
        var names = Set<String>()
        for i in 0..<3000 {
            let name = String(i).padding(4) + "-" + String(repeating: "n", count: 120)
            names.insert(name)
            try tree.file("root/big/" + name, "")
        }
        let (big, _) = try walk("big")
        let first = try client.readDirectory(big[0].handle, cookie: 0)
        XCTAssertFalse(first.end, "3000 long names do not fit in one 64 KiB reply")
        XCTAssertGreaterThan(first.entries.count, 100)
        let all = try client.readDirectory(big[0].handle)
        XCTAssertEqual(all.count, 3000)
        XCTAssertEqual(Set(all.map(\.name)), names)
        // Resuming from a page's cookie continues exactly after its last entry.
        let second = try client.readDirectory(big[0].handle, cookie: first.nextCookie)
        XCTAssertEqual(second.entries.first, all[first.entries.count])
    }

    func testReadlinkReturnsTheTarget() throws {
        let (escape, _) = try walk("escape")
        XCTAssertEqual(try client.readlink(escape[0].handle), "/etc/passwd")
        let (rel, _) = try walk("a/rel")
        XCTAssertEqual(try client.readlink(rel[1].handle), "b/c.txt")
        let (file, _) = try walk("file.txt")
        XCTAssertThrowsError(try client.readlink(file[0].handle)) { XCTAssertEqual($0 as? Errno, .EINVAL) }
    }

    func testMissingNameFailsWithENOENTAfterTheWalkedPrefix() throws {
        let (walked, failure) = try walk("a/b/nope/deeper")
        XCTAssertEqual(failure, .ENOENT)
        XCTAssertEqual(walked.map(\.attributes.inode), [try tree.lstatAttributes("root/a").inode,
                                                        try tree.lstatAttributes("root/a/b").inode])
        let (none, failure2) = try walk("missing")
        XCTAssertEqual(failure2, .ENOENT)
        XCTAssertTrue(none.isEmpty)
    }

    func testWalkStopsAtSymlinksAndNeverFollowsThem() throws {
        for (path, target) in [("escape/x", "/etc/passwd"), ("up/etc/passwd", "../../.."), ("sneaky", "../outside/secret")] {
            let (walked, failure) = try walk(path)
            XCTAssertNil(failure, path)
            XCTAssertEqual(walked.count, 1, "\(path): the walk stops at the symlink")
            XCTAssertEqual(walked[0].attributes.fileType, FileMode.S_IFLNK, path)
            XCTAssertEqual(walked[0].attributes, try tree.lstatAttributes("root/" + path.split(separator: "/")[0]))
            XCTAssertEqual(try client.readlink(walked[0].handle), target)
            // Opening the link itself is refused, so its target is never reached.
            XCTAssertThrowsError(try client.open(walked[0].handle, flags: 0)) { XCTAssertEqual($0 as? Errno, .ELOOP, path) }
            XCTAssertThrowsError(try client.readDirectory(walked[0].handle)) { XCTAssertEqual($0 as? Errno, .ENOTDIR, path) }
            // Walking on from the link handle does not resolve through it either.
            let (more, moreFailure) = try client.walk(walked[0].handle, ["etc"])
            XCTAssertTrue(more.isEmpty)
            XCTAssertEqual(moreFailure, .ENOTDIR)
        }
        // A walk through a regular file stops after it, without an error.
        let (walked, failure) = try walk("file.txt/more")
        XCTAssertEqual(walked.count, 1)
        XCTAssertNil(failure)
    }

    func testDotDotAndInvalidNamesAreRefused() throws {
        let (rootHandle, _) = try client.attach()
        for bad in ["..", ".", "", "a/b"] {
            XCTAssertThrowsError(try client.walk(rootHandle, [bad]), bad) { XCTAssertEqual($0 as? Errno, .EINVAL, bad) }
        }
    }

    func testWriteOpensAreRefusedWithEROFS() throws {
        let (walked, _) = try walk("file.txt")
        for flags in [OpenFlags.O_WRONLY, OpenFlags.O_RDWR, OpenFlags.O_RDONLY | OpenFlags.O_TRUNC, OpenFlags.O_WRONLY | OpenFlags.O_CREAT] {
            XCTAssertThrowsError(try client.open(walked[0].handle, flags: Int32(flags))) { XCTAssertEqual($0 as? Errno, .EROFS, "\(flags)") }
        }
        let (rootHandle, _) = try client.attach()
        XCTAssertThrowsError(try client.open(rootHandle, flags: Int32(OpenFlags.O_RDWR))) { XCTAssertEqual($0 as? Errno, .EROFS) }
        XCTAssertThrowsError(try client.open(walked[0].handle, flags: Int32(OpenFlags.O_ACCMODE))) { XCTAssertEqual($0 as? Errno, .EINVAL) }
        XCTAssertEqual(readAll(try client.open(walked[0].handle, flags: 0)), "top-level contents", "file untouched")
        XCTAssertEqual(try client.statfs(rootHandle).flags & FileSystemStatistics.readOnlyFlag, FileSystemStatistics.readOnlyFlag)
    }

    func testUnknownAndClosedHandlesAreEBADF() throws {
        let bogus = FileHandle(raw: 0xDEAD_BEEF)
        XCTAssertThrowsError(try client.attributes(bogus)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.walk(bogus, ["a"])) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.open(bogus, flags: 0)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.readDirectory(bogus)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.readlink(bogus)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        XCTAssertThrowsError(try client.statfs(bogus)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        let (walked, _) = try walk("a/b")
        client.close(walked[0].handle)
        XCTAssertThrowsError(try client.attributes(walked[0].handle)) { XCTAssertEqual($0 as? Errno, .EBADF) }
        // A child handle outlives the parent it was walked from.
        XCTAssertEqual(try client.attributes(walked[1].handle), try tree.lstatAttributes("root/a/b"))
        let (c, _) = try client.walk(walked[1].handle, ["c.txt"])
        XCTAssertEqual(readAll(try client.open(c[0].handle, flags: 0)), "hello from c")
    }

    func testStatfsDescribesTheHostFileSystem() throws {
        let (rootHandle, _) = try client.attach()
        let s = try client.statfs(rootHandle)
        var v = statvfs()
        XCTAssertEqual(statvfs(root, &v), 0)
        XCTAssertEqual(s.blockSize, UInt64(v.f_bsize))
        XCTAssertEqual(s.blocks, UInt64(v.f_blocks))
        XCTAssertEqual(s.nameLength, UInt64(v.f_namemax))
        XCTAssertNotEqual(s.type, 0)
    }

    func testSpecialFilesAndSwappedFilesAreNotOpened() throws {
        let (fifo, _) = try walk("fifo")
        XCTAssertEqual(fifo[0].attributes.fileType, FileMode.S_IFIFO)
        XCTAssertThrowsError(try client.open(fifo[0].handle, flags: 0)) { XCTAssertEqual($0 as? Errno, .EPERM) }
        // The name now refers to another file: the Gofer notices instead of donating the wrong one.
        let (file, _) = try walk("file.txt")
        try tree.file("root/replacement", "other")
        XCTAssertEqual(rename(tree.url("root/replacement"), tree.url("root/file.txt")), 0)
        XCTAssertThrowsError(try client.open(file[0].handle, flags: 0)) { XCTAssertEqual($0 as? Errno, .ESTALE) }
        // Even a FIFO swapped in under the name cannot hang the Gofer.
        XCTAssertEqual(unlink(tree.url("root/file.txt")), 0)
        try tree.fifo("root/file.txt")
        XCTAssertThrowsError(try client.open(file[0].handle, flags: 0)) { XCTAssertEqual($0 as? Errno, .ESTALE) }
    }

    func testConcurrentCallersShareOneClient() throws {
        let client = self.client
        let expected = try tree.lstatAttributes("root/a/b/c.txt")  // atime moves as threads read; compare identity
        let threads = (0..<4).map { _ in
            TestThread {
                for _ in 0..<150 {
                    let h: GoferProtocol.FileHandle, walked: [WalkedComponent], fd: Int32
                    do {
                        (h, _) = try client.attach()
                        (walked, _) = try client.walk(h, ["a", "b", "c.txt"])
                        guard walked.count == 3, walked[2].attributes.inode == expected.inode else { return XCTFail("walk: \(walked)") }
                        fd = try client.open(walked[2].handle, flags: 0)
                    } catch {
                        return XCTFail("a concurrent exchange failed: \(error)")
                    }
                    if readAll(fd) != "hello from c" { XCTFail("wrong contents") }
                    close(fd)
                    for c in walked { client.close(c.handle) }
                    client.close(h)
                }
            }
        }
        for t in threads { t.join() }
    }

    func testServingReleasesEveryHandleAtEndOfStream() throws {
        XCTAssertNil(gofer.stop())
        gofer = nil
        let before = openDescriptorCount()
        var session: InProcessGofer? = try InProcessGofer(root: root)
        let (h, _) = try session!.client!.attach()
        for _ in 0..<50 { _ = try session!.client!.walk(h, ["a", "b", "c.txt"]) }
        XCTAssertGreaterThanOrEqual(openDescriptorCount(), before + 150)
        XCTAssertNil(session!.stop())
        session = nil
        XCTAssertEqual(openDescriptorCount(), before)
    }

    func testWritableServerOpensForWriting() throws {
        XCTAssertNil(gofer.stop())
        gofer = try InProcessGofer(root: root, readOnly: false)
        let (walked, _) = try walk("file.txt")
        let fd = try client.open(walked[0].handle, flags: Int32(OpenFlags.O_RDWR | OpenFlags.O_TRUNC))
        defer { close(fd) }
        XCTAssertEqual(pwrite(fd, "new", 3, 0), 3)
        XCTAssertEqual(readAll(fd), "new")
        XCTAssertEqual(try tree.lstatAttributes("root/file.txt").size, 3)
        XCTAssertEqual(try client.statfs(walked[0].handle).flags & FileSystemStatistics.readOnlyFlag, 0)
    }
}

private extension String {
    func padding(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
