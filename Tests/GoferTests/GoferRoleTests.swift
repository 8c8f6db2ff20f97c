import CLinux
import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import XCTest

/// The confined role, end to end. Confinement changes the whole process (mount namespace, root, seccomp),
/// so each test re-executes this test binary with a filter naming itself and an environment variable
/// telling the copy which part to play; the copy never returns to XCTest (it exits or is killed).
final class GoferRoleTests: XCTestCase {
    private static let childVariable = "RUNSC_GOFER_TEST_CHILD"
    private static let childSocket: Int32 = 100

    /// In the re-executed copy: play the part named by the environment. Does nothing in the parent.
    private func actAsChildIfAsked() {
        guard let raw = getenv(Self.childVariable) else { return }
        let spec = String(cString: raw).split(separator: " ", maxSplits: 1).map(String.init)
        func fail(_ message: String) -> Never {
            let line = Array("child: \(message)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            _exit(3)
        }
        // The probes die of SIGSYS on purpose; they must not leave core files behind.
        var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &noCore)
        do {
            switch spec.first {
            case "serve":
                try GoferRole.run(rootPath: spec[1], socket: Self.childSocket, readOnly: true)
            case "serve-writable":
                try GoferRole.run(rootPath: spec[1], socket: Self.childSocket, readOnly: false)
            case "probe-mkdir-read-only":
                try GoferSeccomp.install(readOnly: true)
                _ = mkdirat(AtFlags.AT_FDCWD, "/nonexistent-gofer-probe", 0o755)
                fail("mkdirat was allowed to a read-only Gofer")
            case "probe-socket":
                try GoferSeccomp.install(readOnly: true)
                _ = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                fail("socket() was allowed")
            case "probe-open-write":
                try GoferSeccomp.install(readOnly: true)
                _ = open("/dev/null", O_WRONLY)
                fail("openat(O_WRONLY) was allowed")
            case "probe-allowed":
                try GoferSeccomp.install(readOnly: true)
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd < 0 { fail("openat(O_RDONLY) failed") }
                var st = stat()
                if fstat(fd, &st) != 0 { fail("fstat failed") }
                close(fd)
                _exit(0)
            default:
                fail("unknown part \(spec)")
            }
        } catch {
            fail("\(error)")
        }
    }

    /// RUNSC_BINARY, else the package's bin/runsc or release build.
    private static func runscBinary() -> String? {
        if let path = getenv("RUNSC_BINARY").map({ String(cString: $0) }), !path.isEmpty { return path }
        var root = #filePath
        for _ in 0..<3 { root = String(root[..<(root.lastIndex(of: "/") ?? root.startIndex)]) }
        return ["bin/runsc", ".build/release/runsc"].map { root + "/" + $0 }.first { access($0, X_OK) == 0 }
    }

    private struct Child {
        var pid: pid_t
        var stderr: Int32
    }

    /// Starts this binary again, running only `test`, with the part `part`; `socket` becomes fd 100.
    private func spawnChild(test: String, part: String, socket: Int32? = nil) throws -> Child {
        var errPipe: [Int32] = [0, 0]
        guard pipe(&errPipe) == 0 else { throw Errno(errno) }
        for fd in errPipe { _ = clinux_fcntl(fd, F_SETFD, Int(FD_CLOEXEC)) }
        defer { close(errPipe[1]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)  // XCTest's chatter
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let socket { posix_spawn_file_actions_adddup2(&actions, socket, Self.childSocket) }

        var exe = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &exe, exe.count - 1)
        guard n > 0 else { throw Errno(errno) }
        var path = String(decoding: exe[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var environment: [String] = []
        var e = environ
        while let entry = e.pointee { environment.append(String(cString: entry)); e += 1 }
        environment.append("\(Self.childVariable)=\(part)")
        var arguments = [path, "GoferTests.GoferRoleTests/\(test)"]
        // Serving parts run the real `runsc gofer` role when the binary is built: a copy of this test
        // binary carries XCTest's worker threads, which may start between the role's unshare and its
        // seccomp filter and then die of SIGSYS (the role itself is single-threaded).
        let words = part.split(separator: " ", maxSplits: 1).map(String.init)
        if words.first?.hasPrefix("serve") == true, words.count == 2, let runsc = Self.runscBinary() {
            path = runsc
            arguments = [runsc, "--root", NSTemporaryDirectory(), "gofer", "--gofer-fd", "\(Self.childSocket)",
                         "--rootfs", words[1]] + (words[0] == "serve" ? ["--read-only"] : []) + ["gofer-role-test"]
        }
        let copy = { (s: String) -> UnsafeMutablePointer<CChar>? in strdup(s) }
        let argv = arguments.map(copy) + [nil]
        let envp = environment.map(copy) + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw Errno(rc) }
        return Child(pid: pid, stderr: errPipe[0])
    }

    /// Waits (at most a minute) for the child; returns its wait status and what it wrote to stderr.
    private func wait(_ child: Child) -> (status: Int32, stderr: String) {
        var status: Int32 = 0
        var waited: pid_t = 0
        for _ in 0..<6000 {
            waited = waitpid(child.pid, &status, WNOHANG)
            if waited != 0 { break }
            usleep(10_000)
        }
        if waited == 0 {
            kill(child.pid, SIGKILL)
            waitpid(child.pid, &status, 0)
            XCTFail("the child did not exit in time")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let r = read(child.stderr, &buffer, buffer.count)
            if r <= 0 { break }
            output += buffer[0..<r]
        }
        close(child.stderr)
        return (status, String(decoding: output, as: UTF8.self))
    }

    private func procLines(_ pid: pid_t, _ file: String) -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    func testConfinedGoferServesOnlyTheRoot() throws {
        actAsChildIfAsked()
        let tree = try TempTree()
        try tree.directory("root/a/b")
        try tree.directory("root/mnt")
        try tree.file("root/a/b/c.txt", "hello from c")
        try tree.symlink("root/escape", to: "/etc/passwd")
        try tree.directory("root/big")
        for i in 0..<1500 { try tree.file("root/big/entry-\(i)-" + String(repeating: "x", count: 100), "") }
        // A submount inside the root: a non-recursive bind must not serve it.
        XCTAssertEqual(mount("none", tree.url("root/mnt"), "tmpfs", 0, nil), 0)
        defer { umount2(tree.url("root/mnt"), Int32(MNT_DETACH)) }
        try tree.file("root/mnt/hidden", "from the submount")

        let (mine, theirs) = try GoferSocket.pair()
        let child = try spawnChild(test: "testConfinedGoferServesOnlyTheRoot", part: "serve \(tree.url("root"))", socket: theirs)
        close(theirs)
        var client: GoferClient? = GoferClient(socket: mine)
        do {
            let client = try XCTUnwrap(client)
            let (root, rootAttributes) = try client.attach()
            XCTAssertEqual(rootAttributes.inode, try tree.lstatAttributes("root").inode)
            XCTAssertEqual(Set(try client.readDirectory(root).map(\.name)), ["a", "mnt", "escape", "big"])

            let (walked, failure) = try client.walk(root, ["a", "b", "c.txt"])
            XCTAssertNil(failure)
            let fd = try client.open(walked[2].handle, flags: 0)
            XCTAssertEqual(readAll(fd), "hello from c")
            close(fd)
            XCTAssertThrowsError(try client.open(walked[2].handle, flags: Int32(OpenFlags.O_RDWR))) { XCTAssertEqual($0 as? Errno, .EROFS) }

            let (mnt, mntFailure) = try client.walk(root, ["mnt", "hidden"])
            XCTAssertEqual(mnt.count, 1)
            XCTAssertEqual(mntFailure, .ENOENT, "the submount is not visible to the Gofer")
            XCTAssertEqual(try client.readDirectory(mnt[0].handle), [])

            let (escape, _) = try client.walk(root, ["escape"])
            XCTAssertEqual(escape[0].attributes.fileType, FileMode.S_IFLNK)
            XCTAssertEqual(try client.readlink(escape[0].handle), "/etc/passwd")
            XCTAssertThrowsError(try client.open(escape[0].handle, flags: 0)) { XCTAssertEqual($0 as? Errno, .ELOOP) }

            let (big, _) = try client.walk(root, ["big"])
            XCTAssertEqual(try client.readDirectory(big[0].handle).count, 1500)
            XCTAssertNotEqual(try client.statfs(root).flags & FileSystemStatistics.readOnlyFlag, 0)
            client.close(big[0].handle)

            // What the kernel says about the confined process.
            let status = procLines(child.pid, "status")
            XCTAssertTrue(status.contains("Seccomp:\t2"), "seccomp filter mode: \(status.filter { $0.hasPrefix("Seccomp") })")
            XCTAssertTrue(status.contains("NoNewPrivs:\t1"))
            let mounts = procLines(child.pid, "mountinfo")
            XCTAssertEqual(mounts.count, 1, "only the bind-mounted root is left: \(mounts)")
            let fields = mounts.first?.split(separator: " ") ?? []
            XCTAssertEqual(fields.count > 5 ? String(fields[4]) : "", "/", "the root is the mount point")
            let options = fields.count > 5 ? fields[5].split(separator: ",").map(String.init) : []
            XCTAssertTrue(Set(["ro", "nosuid", "nodev"]).isSubset(of: Set(options)), "mount options \(options)")
        }
        client = nil  // end of stream: the Gofer exits 0, having made no call outside its allowlist
        let (status, stderr) = wait(child)
        XCTAssertTrue(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "exit status \(status), stderr: \(stderr)")
    }

    /// Every write operation in a confined, writable Gofer: its seccomp allowlist must cover them all
    /// (a missing call would kill it with SIGSYS, failing the exit status check).
    func testConfinedWritableGoferServesEveryWriteOperation() throws {
        actAsChildIfAsked()
        let tree = try TempTree()
        try tree.directory("root/d")
        try tree.file("root/f", "0123456789")
        let (mine, theirs) = try GoferSocket.pair()
        let child = try spawnChild(test: "testConfinedWritableGoferServesEveryWriteOperation", part: "serve-writable \(tree.url("root"))", socket: theirs)
        close(theirs)
        var client: GoferClient? = GoferClient(socket: mine)
        var failure: (any Error)?
        do {
            let client = try XCTUnwrap(client)
            let (root, _) = try client.attach()
            let owner = FileOwner(uid: 0, gid: 0)
            let (created, fd) = try client.create(root, Array("new".utf8), flags: Int32(OpenFlags.O_WRONLY), mode: 0o600, owner: owner)
            XCTAssertEqual(pwrite(fd, "abc", 3, 0), 3)
            close(fd)
            let d = try client.mkdir(root, Array("sub".utf8), mode: 0o700, owner: owner)
            _ = try client.mknod(d.handle, Array("fifo".utf8), mode: FileMode.S_IFIFO | 0o600, owner: owner)
            _ = try client.symlink(d.handle, Array("link".utf8), target: Array("../new".utf8), owner: owner)
            _ = try client.link(created.handle, d.handle, Array("hard".utf8))
            try client.rename(root, Array("f".utf8), to: d.handle, Array("moved".utf8), flags: RenameFlags.noReplace)
            let (moved, _) = try client.walk(root, ["sub", "moved"])
            var c = AttributeChanges()
            c.mask = AttributeChanges.mode | AttributeChanges.uid | AttributeChanges.size | AttributeChanges.mtime
            c.mode = 0o640; c.uid = 0; c.size = 4; c.mtime = FileTime(seconds: 42, nanoseconds: 0)
            let a = try client.setAttributes(moved[1].handle, c)
            XCTAssertEqual(a.size, 4)
            XCTAssertEqual(a.mode, FileMode.S_IFREG | 0o640)
            // Extended attributes (Xattr.swift): fsetxattr/fgetxattr/flistxattr/fremovexattr on a reopened
            // file, through the confined gofer's allowlist.
            try client.setXattr(moved[1].handle, Array("user.k".utf8), value: Array("v".utf8), flags: 0)
            XCTAssertEqual(try client.getXattr(moved[1].handle, Array("user.k".utf8)), Array("v".utf8))
            XCTAssertTrue(try client.listXattr(moved[1].handle).contains(Array("user.k".utf8)))
            try client.removeXattr(moved[1].handle, Array("user.k".utf8))
            try client.unlink(d.handle, Array("fifo".utf8), removeDirectory: false)
            try client.unlink(root, Array("d".utf8), removeDirectory: true)
            XCTAssertEqual(try tree.lstatAttributes("root/new").mode, FileMode.S_IFREG | 0o600, "the host umask does not apply")
            XCTAssertEqual(try tree.lstatAttributes("root/sub/hard").nlink, 2)
            XCTAssertEqual(try tree.lstatAttributes("root/sub/moved").mtime.seconds, 42)
            XCTAssertEqual(try String(contentsOfFile: tree.url("root/sub/moved"), encoding: .utf8), "0123")
            XCTAssertFalse(FileManager.default.fileExists(atPath: tree.url("root/d")))
        } catch {
            failure = error
        }
        client = nil
        let (status, stderr) = wait(child)
        // A request failing with EIO means the gofer went away: say how it ended.
        if let failure { XCTFail("\(failure); gofer exit status \(status), stderr: \(stderr)") }
        XCTAssertTrue(status & 0x7f == 0 && (status >> 8) & 0xff == 0, "exit status \(status), stderr: \(stderr)")
    }

    private func runProbe(_ test: String, _ part: String) throws -> (status: Int32, stderr: String) {
        wait(try spawnChild(test: test, part: part))
    }

    func testSeccompKillsForbiddenSyscalls() throws {
        actAsChildIfAsked()
        for part in ["probe-socket", "probe-open-write", "probe-mkdir-read-only"] {
            let (status, stderr) = try runProbe("testSeccompKillsForbiddenSyscalls", part)
            XCTAssertEqual(status & 0x7f, SIGSYS, "\(part): killed by SIGSYS (status \(status), stderr: \(stderr))")
        }
    }

    func testSeccompAllowsWhatTheServerNeeds() throws {
        actAsChildIfAsked()
        let (status, stderr) = try runProbe("testSeccompAllowsWhatTheServerNeeds", "probe-allowed")
        XCTAssertEqual(status, 0, "stderr: \(stderr)")
    }

    func testConfinementRejectsARelativeRoot() {
        XCTAssertThrowsError(try GoferRole.confine(rootPath: "relative/root", readOnly: true)) {
            XCTAssertEqual(($0 as? GoferRoleError)?.errno, .EINVAL)
        }
    }
}
