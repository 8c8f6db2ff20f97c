// mount(2)/umount2(2) in the sandbox and the sysfs files programs probe, on a real Sentry; mount(2) is
// compared with the host kernel running the same program in a mount namespace of its own.
import Foundation
import XCTest
@testable import Sentry

final class MountTests: XCTestCase {
    /// tmpfs/proc/bind mounts, remounts, nosuid/nodev/noexec, propagation, and every umount2 rule give
    /// what the host kernel gives, and /proc/self/mounts and mountinfo show the same table.
    func testMountAndUmountMatchNative() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_mount", into: root)
        let scratch = NSTemporaryDirectory() + "mount-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/fs_mount \(scratch) native", path: "/bin")
        try FileManager.default.createDirectory(atPath: root.path + "/tmp/run", withIntermediateDirectories: true)
        let run = try FileSystemHarness.run("/bin/fs_mount /tmp/run sentry", root: root.path, overlay: .memory, goferReadOnly: true)
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        if native == "no-namespace\n" {
            // Without CAP_SYS_ADMIN on the host there is no reference run; the Sentry's answers still must hold.
            for line in ["unprivileged-mount EPERM", "tmpfs 0", "remount-ro-busy EBUSY", "rbind-submount \"inner\"",
                         "exec-noexec EACCES", "open-nodev EACCES", "umount-cwd-busy EBUSY", "umount-detach 0", "done"] {
                XCTAssertTrue(run.stdout.contains(line + "\n"), "lacks \(line): \(run.stdout)")
            }
            return
        }
        for line in ["unprivileged-mount EPERM", "mount ./m tmpfs-a tmpfs rw,nosuid,nodev,relatime,size=64k,mode=750",
                     "info ./rb/sub root=/ dev=D parent=./rb rw,relatime", "remount-ro-busy EBUSY", "exec-noexec EACCES",
                     "open-nodev EACCES", "umount-force-busy EBUSY", "expire-first EAGAIN", "stacked-below \"first\"", "done"] {
            XCTAssertTrue(native.contains(line + "\n"), "native run lacks \(line): \(native)")
        }
        XCTAssertEqual(run.stdout, native)
    }
}
