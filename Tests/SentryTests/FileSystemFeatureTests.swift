// O_TMPFILE and the sysfs files programs probe, on a real Sentry.
import Foundation
import XCTest
@testable import Sentry

final class TmpfileTests: XCTestCase {
    /// O_TMPFILE's flag checks, the unnamed file, linkat by AT_EMPTY_PATH and through /proc/self/fd/N,
    /// O_EXCL and unlinked files refused (ENOENT): as the host kernel answers, on the root overlay.
    func testTmpfileOnTheOverlayMatchesNative() throws {
        let (native, run) = try NativeComparison.run("fs_tmpfile", mustContain: [
            "rdonly EINVAL", "with-creat EINVAL", "on-file ENOTDIR", "nlink 0 mode 644 size 0 regular 1", "entries 1",
            "nlink-after 1 entries 2", "named \"data\"", "link-proc-fd ok", "link-excl ENOENT", "link-unlinked ENOENT",
            "entries-end 4", "proc EOPNOTSUPP", "done"])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, native)
    }

    /// The same on a tmpfs mount, whose size limit counts the unnamed file until it is closed.
    func testTmpfileOnTmpfs() throws {
        let root = try BusyboxRoot()
        try TestPrograms.build("fs_tmpfile", into: root)
        let scratch = NSTemporaryDirectory() + "tmpfile-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/fs_tmpfile \(scratch)", path: "/bin")
        let run = try SentryHarness.run(["/bin/busybox", "sh", "-c", "mkdir /t/x && /bin/fs_tmpfile /t/x && df -k /t | tail -1"],
                                        root: root.path, mounts: [SentryMount(destination: "/t", source: .tmpfs, readOnly: false,
                                                                              tmpfs: TmpfsOptions(sizeLimit: 1 << 20))])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.dropLast(2).joined(separator: "\n") + "\n", native)
        // 1 MiB with two pages in use: the two named files' (the tmpfile closed unlinked gave its page back).
        let df = lines.dropLast().last?.split(separator: " ").map(String.init) ?? []
        XCTAssertEqual(Array(df.dropFirst().prefix(3)), ["1024", "8", "1016"], run.stdout)
    }
}

final class SysFSTests: XCTestCase {
    /// The CPU lists glibc, Python and nproc read, THP mode, /sys/fs/cgroup and /sys/class/net/lo.
    func testSysfsFilesProgramsProbe() throws {
        let cpus = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let list = cpus == 1 ? "0" : "0-\(cpus - 1)"
        let program = try TestPrograms.build("nprocs")
        defer { unlink(program) }
        let script = """
            cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible /sys/devices/system/cpu/present
            ls /sys/devices/system/cpu | grep -c '^cpu[0-9]'
            cat /sys/kernel/mm/transparent_hugepage/enabled
            ls -A /sys/fs/cgroup | wc -l
            readlink /sys/class/net/lo; cat /sys/class/net/lo/mtu /sys/class/net/lo/address
            \(program)
            /usr/bin/python3 -c 'import os; print("python", os.cpu_count())'
            nproc --all
            grep sysfs /proc/self/mounts
            touch /sys/x 2>/dev/null || echo read-only
            """
        let run = try SentryHarness.run(["/bin/sh", "-c", script],
                                        mounts: [SentryMount(destination: "/sys", source: .sysfs, readOnly: true)])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, """
            \(list)
            \(list)
            \(list)
            \(cpus)
            always [madvise] never
            0
            ../../devices/virtual/net/lo
            65536
            00:00:00:00:00:00
            nprocs \(cpus) conf \(cpus) onln \(cpus) conf \(cpus)
            python \(cpus)
            \(cpus)
            sysfs /sys sysfs ro,relatime 0 0
            read-only

            """, run.stderr)
    }
}
