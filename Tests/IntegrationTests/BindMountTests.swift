// Bind mounts from config.json (docker's /etc/hosts and `-v host:ctr[:ro]` volumes), served by the Gofer:
// writes through a rw bind reach the host, a ro bind refuses them, and nothing outside a bind's source
// is reachable through it (`..` at its root, symlinks planted in it).
import Foundation
import XCTest

final class BindMountTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    private func addMounts(_ bundle: String, _ mounts: [[String: Any]]) throws {
        try harness.editSpec(bundle) { config in
            config["mounts"] = (config["mounts"] as? [[String: Any]] ?? []) + mounts
        }
    }

    func testBindMountsReadWriteReadOnlyAndNoEscape() throws {
        let fm = FileManager.default
        let volume = harness.workDir + "/volume"
        let hostsFile = harness.workDir + "/hosts"
        let secret = harness.workDir + "/secret"
        try fm.createDirectory(atPath: volume, withIntermediateDirectories: true)
        try "host secret\n".write(toFile: secret, atomically: false, encoding: .utf8)
        try "10.1.2.3 bound-host\n".write(toFile: hostsFile, atomically: false, encoding: .utf8)
        try "on the volume\n".write(toFile: volume + "/existing.txt", atomically: false, encoding: .utf8)
        try fm.createSymbolicLink(atPath: volume + "/relative-escape", withDestinationPath: "../secret")
        try fm.createSymbolicLink(atPath: volume + "/absolute-escape", withDestinationPath: secret)

        let script = """
            cat /vol/existing.txt
            echo written inside > /vol/new.txt && echo RW:ok
            echo x > /etc/hosts 2>/dev/null && echo RO:written || echo RO:refused
            cat /etc/hosts
            cat /vol/../../secret 2>/dev/null && echo DOTDOT:escaped || echo DOTDOT:contained
            cat /vol/relative-escape 2>/dev/null && echo REL:escaped || echo REL:contained
            cat /vol/absolute-escape 2>/dev/null && echo ABS:escaped || echo ABS:contained
            ls /vol/.. | grep -q '^bin$' && echo PARENT:container-root
            """
        let bundle = try harness.makeBusyboxBundle(args: ["sh", "-c", script])
        try "127.0.0.1 image-host\n".write(toFile: bundle + "/rootfs/etc/hosts", atomically: false, encoding: .utf8)
        try fm.copyItem(atPath: "/bin/busybox", toPath: bundle + "/rootfs/bin/grep")
        try addMounts(bundle, [
            ["destination": "/vol", "type": "bind", "source": volume, "options": ["rbind", "rw"]],
            ["destination": "/etc/hosts", "type": "bind", "source": hostsFile, "options": ["rbind", "ro"]],
        ])

        let result = try harness.runsc(["run", "--bundle", bundle, "binds"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, """
            on the volume
            RW:ok
            RO:refused
            10.1.2.3 bound-host
            DOTDOT:contained
            REL:contained
            ABS:contained
            PARENT:container-root

            """, result.stderr)
        XCTAssertEqual(try String(contentsOfFile: volume + "/new.txt", encoding: .utf8), "written inside\n",
                       "a write through a rw bind reaches the host")
        XCTAssertEqual(try String(contentsOfFile: hostsFile, encoding: .utf8), "10.1.2.3 bound-host\n")
        XCTAssertEqual(try String(contentsOfFile: secret, encoding: .utf8), "host secret\n")
        XCTAssertEqual(try String(contentsOfFile: bundle + "/rootfs/etc/hosts", encoding: .utf8), "127.0.0.1 image-host\n",
                       "the image's file under the bind is untouched")
    }

    func testMissingBindSourceIsAClearErrorAtCreate() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["true"])
        let missing = harness.workDir + "/does-not-exist"
        try addMounts(bundle, [["destination": "/data", "type": "bind", "source": missing, "options": ["rbind"]]])
        let mountIndex = try {
            let data = try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))
            let config = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            return (config["mounts"] as? [[String: Any]] ?? []).count - 1
        }()
        let result = try harness.runsc(["create", "--bundle", bundle, "missing"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("mounts[\(mountIndex)].source") && result.stderr.contains(missing), result.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("missing"))
    }
}
