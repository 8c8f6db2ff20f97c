// Writable roots on a real Sentry: the in-memory overlay (default) and write-through to the Gofer.
import Foundation
import Gofer
import GoferProtocol
import PlatformPtrace
import XCTest
@testable import Sentry

/// SentryHarness with the root's Gofer mode and overlay chosen by the test, running a busybox script.
enum FileSystemHarness {
    static func run(_ script: String, root: String, overlay: RootOverlay, goferReadOnly: Bool) throws -> SentryRun {
        try SentryHarness.run(["/bin/busybox", "sh", "-c", script], root: root,
                              env: ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "TZ=UTC"],
                              overlay: overlay, goferReadOnly: goferReadOnly)
    }

    /// Runs `script` with busybox sh on the host (for the native side of a comparison).
    static func native(_ script: String, path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/busybox")
        p.arguments = ["sh", "-c", script]
        p.environment = ["PATH": path, "HOME": "/root", "TZ": "UTC"]
        let pipe = Foundation.Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

/// A tiny root file system: busybox and its applets, an /etc with marker files, planted escape links.
final class BusyboxRoot {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "fs-root-\(UUID().uuidString)"
        let fm = FileManager.default
        for d in ["bin", "etc", "tmp", "work", "data/keep"] { try fm.createDirectory(atPath: path + "/" + d, withIntermediateDirectories: true) }
        try fm.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
        for applet in try FileSystemHarness.native("/bin/busybox --list", path: "/bin").split(separator: "\n") where applet != "busybox" {
            try fm.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:sandbox marker:/root:/bin/sh\n".write(toFile: path + "/etc/passwd", atomically: false, encoding: .utf8)
        try "image motd\n".write(toFile: path + "/etc/motd", atomically: false, encoding: .utf8)
        try "keep me\n".write(toFile: path + "/data/keep/file", atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: path + "/abs", withDestinationPath: "/etc")
        try fm.createSymbolicLink(atPath: path + "/rel", withDestinationPath: "../../../../../../../../etc")
        try fm.createSymbolicLink(atPath: path + "/data/up", withDestinationPath: "../../../..")
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every path with its type, mode, size, link target and content checksum: a byte-level fingerprint.
    func fingerprint() throws -> String {
        try FileSystemHarness.native("cd \(path) && find . | sort | while read f; do "
            + "busybox stat -c '%n %F %a %s %Y' \"$f\"; [ -L \"$f\" ] && busybox readlink \"$f\"; "
            + "[ -f \"$f\" ] && [ ! -L \"$f\" ] && busybox md5sum < \"$f\"; done; true", path: path + "/bin")
    }
}

final class FileSystemTests: XCTestCase {
    /// A write-heavy shell workload; run from a directory it creates, printing only relative names.
    static let workload = """
        set -e
        umask 022
        mkdir -p "$BASE" && cd "$BASE"
        mkdir -p a/b/c
        echo hello > a/b/c/f.txt
        echo more >> a/b/c/f.txt
        cat a/b/c/f.txt
        mv a/b/c/f.txt a/g.txt
        ln -s g.txt a/link
        cat a/link
        chmod 640 a/g.txt
        touch -t 200102030405.06 a/g.txt
        touch a/empty
        printf 'x%.0s' 1 2 3 4 5 > a/five
        mkdir src && echo one > src/1 && echo two > src/2 && ln -s 1 src/l && mkdir src/sub && echo deep > src/sub/3
        tar cf t.tar src && mkdir x && tar xf t.tar -C x && rm t.tar
        ln a/five a/hard && echo appended >> a/hard
        mv src moved && rm -r moved/sub
        rm -r a/b
        find . | sort | while read f; do if [ -d "$f" ]; then stat -c '%n %F %a' "$f"; else stat -c '%n %F %a %s' "$f"; fi; done
        stat -c '%n %Y' a/g.txt
        cat a/five x/src/sub/3; readlink x/src/l
        """

    private func runWorkload(overlay: RootOverlay, root: BusyboxRoot) throws -> SentryRun {
        let r = try FileSystemHarness.run("BASE=/work/run\n" + Self.workload, root: root.path, overlay: overlay, goferReadOnly: overlay == .memory)
        XCTAssertEqual(r.status, .exited(0), r.stderr)
        return r
    }

    func testWriteWorkloadOnOverlayMatchesNativeAndLeavesTheRootUnchanged() throws {
        let root = try BusyboxRoot()
        let before = try root.fingerprint()
        XCTAssertTrue(before.contains("./etc/motd regular file 644 11"), before)
        let r = try runWorkload(overlay: .memory, root: root)
        let scratch = NSTemporaryDirectory() + "fs-native-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("BASE=\(scratch)\n" + Self.workload, path: root.path + "/bin")
        XCTAssertEqual(r.stdout, native)
        XCTAssertTrue(r.stdout.contains("./a/g.txt regular file 640 11"), r.stdout)
        XCTAssertEqual(try root.fingerprint(), before, "the overlay must leave the host root byte-for-byte unchanged")
    }

    func testOverlayCopyUpWhiteoutsAndOpaqueDirectories() throws {
        let root = try BusyboxRoot()
        let before = try root.fingerprint()
        let r = try FileSystemHarness.run("""
            echo changed >> /etc/motd; cat /etc/motd
            rm /etc/passwd; ls /etc; cat /etc/passwd 2>/dev/null || echo gone
            rm -r /data/keep; mkdir /data/keep; ls -a /data/keep
            chmod 700 /bin/busybox; stat -c %a /bin/busybox
            mv /data /moved; ls /moved; cat /moved/up/etc/motd
            echo new > /etc/passwd; cat /etc/passwd
            mknod /null c 1 3 2>/dev/null || echo no devices
            ln /etc/motd /dev/shm/m 2>&1 | grep -o cross-device
            """, root: root.path, overlay: .memory, goferReadOnly: true)
        XCTAssertEqual(r.status, .exited(0), r.stderr)
        XCTAssertEqual(r.stdout, "image motd\nchanged\nmotd\ngone\n.\n..\n700\nkeep\nup\nimage motd\nchanged\nnew\nno devices\ncross-device\n")
        XCTAssertEqual(try root.fingerprint(), before)
    }

    func testWriteThroughReachesTheHostDirectory() throws {
        let root = try BusyboxRoot()
        let r = try runWorkload(overlay: .none, root: root)
        XCTAssertTrue(r.stdout.contains("./a/g.txt regular file 640 11"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("xxxxxappended\ndeep\n1\n"), r.stdout)
        let fm = FileManager.default
        XCTAssertEqual(try String(contentsOfFile: root.path + "/work/run/a/g.txt", encoding: .utf8), "hello\nmore\n")
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: root.path + "/work/run/a/link"), "g.txt")
        XCTAssertEqual(try String(contentsOfFile: root.path + "/work/run/x/src/sub/3", encoding: .utf8), "deep\n")
        XCTAssertFalse(fm.fileExists(atPath: root.path + "/work/run/a/b"))
        let attributes = try fm.attributesOfItem(atPath: root.path + "/work/run/a/g.txt")
        XCTAssertEqual((attributes[.posixPermissions] as? Int), 0o640)
        XCTAssertEqual((attributes[.modificationDate] as? Date)?.timeIntervalSince1970, 981_173_106)
        XCTAssertEqual(try String(contentsOfFile: root.path + "/work/run/a/five", encoding: .utf8), "xxxxxappended\n")
    }

    func testWriteThroughNeedsAWritableGofer() throws {
        let root = try BusyboxRoot()
        let r = try FileSystemHarness.run("echo x > /new 2>&1 || echo refused; mkdir /d 2>&1 || echo refused",
                                          root: root.path, overlay: .none, goferReadOnly: true)
        XCTAssertEqual(r.stdout.components(separatedBy: "refused").count - 1, 2, r.stdout + r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path + "/new"))
    }

    /// Symlinks planted in the image, `..` walks and /proc/self/root all stay inside the root, in both
    /// modes; whatever is written through them lands in the root, never on the host.
    func testEscapeAttemptsNeverReachTheHost() throws {
        let marker = "escape-\(UUID().uuidString)"
        for overlay in [RootOverlay.memory, .none] {
            let root = try BusyboxRoot()
            let r = try FileSystemHarness.run("""
                cat /abs/passwd /rel/passwd ../../../../etc/passwd /proc/self/root/etc/passwd /data/up/etc/passwd
                cd /data/up/../../.. && cat etc/passwd
                echo pwned > /abs/\(marker); echo pwned > /rel/\(marker)-2; echo pwned > /data/up/etc/\(marker)-3
                ln /abs/passwd /data/\(marker)-hard && cat /data/\(marker)-hard
                ln /etc/passwd /proc/self/root/\(marker)-4 || true
                ls /abs/\(marker)
                """, root: root.path, overlay: overlay, goferReadOnly: overlay == .memory)
            XCTAssertEqual(r.status, .exited(0), r.stderr)
            XCTAssertEqual(r.stdout, String(repeating: "root:x:0:0:sandbox marker:/root:/bin/sh\n", count: 7) + "/abs/\(marker)\n", "\(overlay)")
            for suffix in ["", "-2", "-3", "-4", "-hard"] {
                XCTAssertFalse(FileManager.default.fileExists(atPath: "/etc/\(marker)\(suffix)"), "\(overlay)")
                XCTAssertFalse(FileManager.default.fileExists(atPath: "/\(marker)\(suffix)"), "\(overlay)")
            }
            XCTAssertEqual(FileManager.default.fileExists(atPath: root.path + "/etc/\(marker)"), overlay == .none)
        }
    }

    func testPythonSqliteTransactionsOnTheHostRootOverlay() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("no python3 on this host") }
        let db = "/tmp/fs-sqlite-\(UUID().uuidString).db"
        let script = """
            import sqlite3
            c = sqlite3.connect('\(db)')
            c.execute('create table t (k integer primary key, v text)')
            with c:
                c.executemany('insert into t (v) values (?)', [('v%d' % i,) for i in range(100)])
            try:
                with c:
                    c.execute("update t set v = 'rolled back'")
                    raise RuntimeError
            except RuntimeError:
                pass
            with c:
                c.execute('delete from t where k % 2 = 0')
            print(c.execute('select count(*), min(v), max(v) from t').fetchone())
            c.close()
            c = sqlite3.connect('\(db)')
            print(c.execute("select v from t where k = 51").fetchone())
            """
        let run = try FileSystemHarness.run("cat > /tmp/s.py <<'EOF'\n\(script)\nEOF\n/usr/bin/python3 /tmp/s.py && ls \(db)",
                                            root: "/", overlay: .memory, goferReadOnly: true)
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, "(50, 'v0', 'v98')\n('v50',)\n\(db)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: db), "the database lives in the overlay only")
    }

    /// Record locks, OFD locks and flock hold between the sandbox's processes as they do natively.
    func testFileLocksBetweenProcessesMatchNative() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_locks", into: root)
        let scratch = NSTemporaryDirectory() + "fs-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/fs_locks \(scratch)/lockfile", path: "/bin")
        XCTAssertTrue(native.hasSuffix("done 0\n"), "native run: \(native)")
        for overlay in [RootOverlay.memory, .none] {
            let r = try FileSystemHarness.run("/bin/fs_locks /work/lockfile", root: root.path, overlay: overlay, goferReadOnly: overlay == .memory)
            XCTAssertEqual(r.stdout, native, "\(overlay): \(r.stderr)")
            XCTAssertEqual(r.status, .exited(0), "\(overlay)")
        }
    }

    /// Syscall-level semantics (O_EXCL, O_APPEND, O_TRUNC, truncate, fallocate, rename flags, links,
    /// chmod/chown, utimensat, mkfifo, unlink of an open file) give the same answers as natively, on the
    /// overlay and writing through.
    func testFileSyscallSemanticsMatchNative() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_syscalls", into: root)
        let scratch = NSTemporaryDirectory() + "fs-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/fs_syscalls \(scratch)/t", path: "/bin")
        XCTAssertTrue(native.hasSuffix("done 0\n"), "native run: \(native)")
        for overlay in [RootOverlay.memory, .none] {
            let r = try FileSystemHarness.run("/bin/fs_syscalls /work/t", root: root.path, overlay: overlay, goferReadOnly: overlay == .memory)
            XCTAssertEqual(r.stdout, native, "\(overlay): \(r.stderr)")
            XCTAssertEqual(r.status, .exited(0), "\(overlay)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.path + "/work/t/e/sub"), "write-through reached the root")
    }
}
