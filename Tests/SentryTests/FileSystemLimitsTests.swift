// File-system limits on a real Sentry: tmpfs size= and nr_inodes= (ENOSPC), and the path-walk
// restrictions of openat2 (RESOLVE_*), checked against the host kernel.
import Foundation
import XCTest
@testable import Sentry

final class FileSystemLimitsTests: XCTestCase {
    /// openat2's size and flag checks and every RESOLVE_* rule give what the host kernel gives.
    func testOpenat2MatchesNative() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_openat2", into: root)
        let scratch = NSTemporaryDirectory() + "openat2-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/fs_openat2 \(scratch)", path: "/bin")
        // The host is the reference, but check it said what the rules say, so a host oddity shows up here.
        for line in ["beneath-dotdot EXDEV", "inroot-abslink ok inner", "nosym-link ELOOP", "nomagic ELOOP",
                     "xdev-up EXDEV", "size-bigtail E2BIG", "create-escape EXDEV", "done"] {
            XCTAssertTrue(native.contains(line + "\n"), "native run lacks \(line): \(native)")
        }
        try FileManager.default.createDirectory(atPath: root.path + "/tmp/o2", withIntermediateDirectories: true)
        let run = try FileSystemHarness.run("/bin/fs_openat2 /tmp/o2", root: root.path, overlay: .memory, goferReadOnly: true)
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, native)
    }

    /// A tmpfs with size=64k,nr_inodes=8 reports them in statfs, writes what fits then fails with ENOSPC,
    /// refuses a truncate or fallocate past the limit and gets its space and inodes back on unlink.
    /// The figures are the host kernel's for the same mount, except `truncate-a-up`: Linux makes a sparse
    /// file there, while the Sentry's tmpfs holds every byte and so charges (and refuses) the growth.
    func testTmpfsSizeAndInodeLimits() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_tmpfs_limits", into: root)
        let options = TmpfsOptions(sizeLimit: 64 << 10, inodeLimit: 8, mode: 0o750, uid: 1000, gid: 0)
        let run = try SentryHarness.run(["/bin/fs_tmpfs_limits", "/lim"], root: root.path,
                                        mounts: [SentryMount(destination: "/lim", source: .tmpfs, readOnly: false, tmpfs: options)])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, """
            root mode 750 uid 1000
            empty blocks 16 free 16 avail 16 files 8 ffree 7 bsize 4096
            write-a 40000
            after-a blocks 16 free 6 avail 6 files 8 ffree 6 bsize 4096
            write-b 24576
            write-b-full ENOSPC
            pwrite-b-inside 100
            full blocks 16 free 0 avail 0 files 8 ffree 5 bsize 4096
            truncate-a-up ENOSPC
            truncate-a-down 0
            after-truncate blocks 16 free 10 avail 10 files 8 ffree 5 bsize 4096
            fallocate-b 0
            fallocate-b-big ENOSPC
            size-b 60000
            after-unlink blocks 16 free 16 avail 16 files 8 ffree 7 bsize 4096
            created 7 ENOSPC
            mkdir-full ENOSPC
            inodes-full blocks 16 free 16 avail 16 files 8 ffree 0 bsize 4096
            done

            """)
    }

    /// A tmpfs without options stays unlimited: a write larger than any small limit goes through.
    func testTmpfsWithoutSizeIsUnlimited() throws {
        let run = try SentryHarness.run(["/bin/sh", "-c", "head -c 3000000 /dev/zero > /lim/big && wc -c < /lim/big"],
                                        mounts: [SentryMount(destination: "/lim", source: .tmpfs, readOnly: false)])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "3000000")
    }
}
