// linux.maskedPaths, linux.readonlyPaths and linux.sysctl as docker passes them, through the real binary:
// masked files read as /dev/null, masked directories are empty read-only tmpfs, read-only paths refuse
// writes with EROFS even for root with every capability, and sysctls show in /proc/sys or fail `create`.
import Foundation
import XCTest

final class MaskedPathsTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// docker's defaults (also `runsc spec`'s).
    static let dockerMasked = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                               "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"]
    static let dockerReadonly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// Probes the paths docker restricts; each line shows what the app sees.
    static let probe = """
        cat /proc/kcore; echo "kcore-status:$?"
        stat -c 'kcore:%F %t:%T' /proc/kcore
        echo "acpi:[$(ls -A /proc/acpi)]"
        grep ' /proc/acpi ' /proc/mounts | cut -d' ' -f1,3,4
        touch /proc/acpi/x 2>&1 | sed 's/^.*: //' | sed 's/^/acpi-touch:/'
        (echo 1 > /proc/sysrq-trigger) 2>&1 | sed 's/^.*: //' | sed 's/^/sysrq:/'
        (echo x > /proc/sys/kernel/hostname) 2>&1 | sed 's/^.*: //' | sed 's/^/hostname-write:/'
        echo "hostname:$(cat /proc/sys/kernel/hostname)"
        """

    private func makeBundle(name: String, masked: [String]?, readonly: [String]?, sysctl: [String: String]? = nil) throws -> String {
        let bundle = try harness.makeBusyboxBundle(name: name, args: ["sh", "-c", Self.probe])
        for applet in ["stat", "grep", "cut", "sed", "touch"] {
            try FileManager.default.createSymbolicLink(atPath: bundle + "/rootfs/bin/" + applet, withDestinationPath: "busybox")
        }
        try harness.editSpec(bundle) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["maskedPaths"] = masked
            linux["readonlyPaths"] = readonly
            if let sysctl { linux["sysctl"] = sysctl }
            config["linux"] = linux
            // Root with every capability: read-only must hold even for it.
            var process = config["process"] as? [String: Any] ?? [:]
            process["capabilities"] = nil
            config["process"] = process
        }
        return bundle
    }

    func testDockerDefaultMaskedAndReadonlyPaths() throws {
        let bundle = try makeBundle(name: "masked", masked: Self.dockerMasked, readonly: Self.dockerReadonly)
        let result = try harness.runsc(["run", "--bundle", bundle, "masked-" + UUID().uuidString.prefix(6)])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            kcore-status:0
            kcore:character special file 1:3
            acpi:[]
            tmpfs tmpfs ro,relatime
            acpi-touch:Read-only file system
            sysrq:Read-only file system
            hostname-write:Read-only file system
            hostname:runsc

            """, result.stderr)
    }

    /// The same probe without the restrictions: each line above differs, so the test above can fail.
    func testWithoutRestrictionsThePathsAreOrdinary() throws {
        let bundle = try makeBundle(name: "plain", masked: [], readonly: [])
        let result = try harness.runsc(["run", "--bundle", bundle, "plain-" + UUID().uuidString.prefix(6)])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(result.stdout.hasPrefix("\u{7f}ELF"), "an unmasked /proc/kcore has content: \(result.stdout)")
        XCTAssertTrue(lines.contains("kcore:regular empty file 0:0"), result.stdout)
        XCTAssertTrue(lines.contains("acpi:[wakeup]"), result.stdout)
        XCTAssertFalse(lines.contains("sysrq:Read-only file system"), result.stdout)
        XCTAssertFalse(lines.contains { $0.hasPrefix("hostname-write:Read-only") }, result.stdout)
        XCTAssertFalse(result.stdout.contains("tmpfs"), result.stdout)
    }

    func testMissingPathsAreSkippedAndRelativeOnesRefused() throws {
        let skipped = try makeBundle(name: "missing", masked: ["/no/such/dir", "/proc/kcore"], readonly: ["/nowhere"])
        let run = try harness.runsc(["run", "--bundle", skipped, "missing-" + UUID().uuidString.prefix(6)])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("kcore:character special file 1:3"), run.stdout)

        let relative = try makeBundle(name: "relative", masked: ["proc/kcore"], readonly: nil)
        let create = try harness.runsc(["create", "--bundle", relative, "relative"])
        XCTAssertNotEqual(create.status, 0)
        XCTAssertTrue(create.stderr.contains("linux.maskedPaths[0]"), create.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("relative"))
    }

    func testNamespacedSysctlIsShownAndHonoured() throws {
        let bundle = try makeBundle(name: "sysctl", masked: Self.dockerMasked, readonly: Self.dockerReadonly,
                                sysctl: ["kernel.shmmax": "1048576", "kernel.msgmnb": "4096", "net.ipv4.ip_forward": "1",
                                         "fs.mqueue.queues_max": "7"])
        try harness.editSpec(bundle) { config in
            var process = config["process"] as? [String: Any] ?? [:]
            process["args"] = ["sh", "-c", """
                cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmnb /proc/sys/fs/mqueue/queues_max
                cat /proc/sys/kernel/shmmni
                /bin/shmprobe 1048576 && /bin/shmprobe 1048577
                """]
            config["process"] = process
        }
        // A program that asks for a System V segment of the given size: shmget must honour kernel.shmmax.
        let source = harness.workDir + "/shmprobe.c"
        try """
            #include <errno.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <sys/shm.h>
            int main(int argc, char **argv) {
                int id = shmget(IPC_PRIVATE, strtoul(argv[1], 0, 10), IPC_CREAT | 0600);
                if (id < 0) { printf("shmget %s: %s\\n", argv[1], strerror(errno)); return 1; }
                printf("shmget %s: ok\\n", argv[1]);
                shmctl(id, IPC_RMID, 0);
                return 0;
            }
            """.write(toFile: source, atomically: false, encoding: .utf8)
        let gcc = try harness.run("/usr/bin/gcc", ["-static", "-O1", "-o", bundle + "/rootfs/bin/shmprobe", source])
        XCTAssertEqual(gcc.status, 0, gcc.stderr)

        let result = try harness.runsc(["run", "--bundle", bundle, "sysctl-" + UUID().uuidString.prefix(6)])
        XCTAssertEqual(result.stdout, """
            1048576
            4096
            7
            4096
            shmget 1048576: ok
            shmget 1048577: Invalid argument

            """, result.stderr)
        XCTAssertEqual(result.status, 1, result.stderr)
    }

    func testNonNamespacedSysctlFailsCreateNamingTheKey() throws {
        let bundle = try makeBundle(name: "swappiness", masked: nil, readonly: nil, sysctl: ["vm.swappiness": "10"])
        let create = try harness.runsc(["create", "--bundle", bundle, "swappiness"])
        XCTAssertNotEqual(create.status, 0)
        XCTAssertTrue(create.stderr.contains("linux.sysctl[\"vm.swappiness\"]"), create.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("swappiness"), "a refused create leaves no state")

        let bad = try makeBundle(name: "badvalue", masked: nil, readonly: nil, sysctl: ["kernel.shmmax": "lots"])
        let badCreate = try harness.runsc(["create", "--bundle", bad, "badvalue"])
        XCTAssertNotEqual(badCreate.status, 0)
        XCTAssertTrue(badCreate.stderr.contains("linux.sysctl[\"kernel.shmmax\"]"), badCreate.stderr)
    }
}
