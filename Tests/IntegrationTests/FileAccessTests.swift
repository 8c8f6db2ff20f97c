// --file-access (the root) and --file-access-mounts (bind mounts): with `shared` a file the host replaces
// while the container runs is seen as replaced; with `exclusive` the Sentry may keep what it looked up.
import Foundation
import XCTest

final class FileAccessTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Runs a container that reads DIR/f, waits for the host to replace it (rename over it, a new inode), and
    /// reads it again; returns what it printed.
    private func readReplacedFile(globalFlags: [String], inRoot: Bool) throws -> String {
        let volume = harness.workDir + "/vol-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        let bundle = try harness.makeBusyboxBundle(name: "bundle-" + UUID().uuidString.prefix(6),
                                                   args: ["sh", "-c", """
            exec > /data/log 2>&1
            cat /data/f; touch /data/ready
            i=0; while [ ! -e /data/go ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
            cat /data/f
            """])
        let directory: String
        if inRoot {
            directory = bundle + "/rootfs/data"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try harness.editSpec(bundle) { config in config["root"] = ["path": "rootfs", "readonly": false] }
        } else {
            directory = volume
            try harness.editSpec(bundle) { config in
                config["mounts"] = (config["mounts"] as? [[String: Any]] ?? [])
                    + [["destination": "/data", "type": "bind", "source": volume, "options": ["rbind", "rw"]]]
            }
        }
        try "old\n".write(toFile: directory + "/f", atomically: false, encoding: .utf8)
        let id = "fa-" + UUID().uuidString.prefix(6).lowercased()
        XCTAssertEqual(try harness.runsc(globalFlags + ["create", "--bundle", bundle, id]).status, 0)
        // The host changes the file once the container has looked at it.
        XCTAssertEqual(try harness.runsc(globalFlags + ["start", id]).status, 0)
        var ready = false
        for _ in 0..<200 where !ready {
            usleep(25_000)
            ready = FileManager.default.fileExists(atPath: directory + "/ready")
        }
        XCTAssertTrue(ready, "the container never created its ready file")
        try "replaced on host\n".write(toFile: directory + "/f.new", atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(directory + "/f.new", directory + "/f"), 0)
        FileManager.default.createFile(atPath: directory + "/go", contents: nil)
        _ = try harness.runsc(globalFlags + ["wait", id])
        _ = try harness.runsc(globalFlags + ["delete", id])
        return try String(contentsOfFile: directory + "/log", encoding: .utf8)
    }

    func testSharedBindMountSeesHostReplacingAFile() throws {
        let output = try readReplacedFile(globalFlags: ["--overlay2", "none"], inRoot: false)
        XCTAssertEqual(output, "old\nreplaced on host\n", "mounts are shared by default")
    }

    func testExclusiveBindMountKeepsWhatItLookedUp() throws {
        // Exclusive: the Sentry keeps the file it walked to, so the host's replacement is not seen (the old
        // file's content, or ESTALE from the Gofer, which refuses a handle whose file was replaced).
        let output = try readReplacedFile(globalFlags: ["--overlay2", "none", "--file-access-mounts", "exclusive"], inRoot: false)
        XCTAssertTrue(output.hasPrefix("old\n"), output)
        XCTAssertFalse(output.contains("replaced on host"), output)
    }

    func testSharedRootSeesHostReplacingAFile() throws {
        let output = try readReplacedFile(globalFlags: ["--overlay2", "none", "--file-access", "shared"], inRoot: true)
        XCTAssertEqual(output, "old\nreplaced on host\n")
    }

    func testBadFileAccessValueIsRefused() throws {
        let result = try harness.runsc(["--file-access", "sometimes", "list"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--file-access") && result.stderr.contains("exclusive or shared"), result.stderr)
    }
}
