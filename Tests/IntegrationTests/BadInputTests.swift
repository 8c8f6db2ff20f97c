// Bad input: each gets a one-line error naming the field, path, flag or id, a non-zero exit, and leaves
// no state directory behind.
import Foundation
import XCTest

final class BadInputTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Asserts failure with exactly one stderr line containing every fragment, and no state for `id`.
    private func assertFails(_ result: CommandResult, mentioning fragments: [String], id: String? = nil,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(result.status, 0, "expected failure", file: file, line: line)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "one line expected: \(result.stderr)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "\"\(fragment)\" not in: \(result.stderr)", file: file, line: line)
        }
        if let id {
            XCTAssertFalse(harness.stateDirectoryExists(id), "state left behind for \(id)", file: file, line: line)
        }
    }

    private func bundle(withConfig text: String?) throws -> String {
        let dir = harness.workDir + "/bad-" + UUID().uuidString.prefix(6)
        try FileManager.default.createDirectory(atPath: dir + "/rootfs", withIntermediateDirectories: true)
        if let text { try text.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8) }
        return dir
    }

    private let valid = """
        {"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["/bin/sh"],"cwd":"/"},"root":{"path":"rootfs"}}
        """

    func testNoConfigJSON() throws {
        let dir = try bundle(withConfig: nil)
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]), mentioning: ["config.json", dir], id: "c")
    }

    func testMalformedJSON() throws {
        let dir = try bundle(withConfig: "{\"ociVersion\": \"1.0.2\",\n \"process\": {")
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]),
                    mentioning: ["config.json: invalid JSON", "line 2"], id: "c")
    }

    func testWrongFieldType() throws {
        let dir = try bundle(withConfig: valid.replacingOccurrences(of: "[\"/bin/sh\"]", with: "\"/bin/sh\""))
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]),
                    mentioning: ["config.json: field \"process.args\" must be an array of strings, got string"], id: "c")
    }

    func testWrongNestedFieldType() throws {
        let dir = try bundle(withConfig: valid.replacingOccurrences(of: "\"uid\":0", with: "\"uid\":true"))
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]),
                    mentioning: ["field \"process.user.uid\"", "got boolean"], id: "c")
    }

    func testMissingProcessArgs() throws {
        let dir = try bundle(withConfig: valid.replacingOccurrences(of: "\"args\":[\"/bin/sh\"],", with: ""))
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]),
                    mentioning: ["config.json: process.args: must contain at least one element"], id: "c")
    }

    func testRootfsDoesNotExist() throws {
        let dir = try bundle(withConfig: valid.replacingOccurrences(of: "\"rootfs\"", with: "\"missing-rootfs\""))
        assertFails(try harness.runsc(["create", "--bundle", dir, "c"]),
                    mentioning: ["root.path", dir + "/missing-rootfs", "does not exist"], id: "c")
    }

    func testRunWithBadBundleLeavesNoState() throws {
        let dir = try bundle(withConfig: "[]")
        assertFails(try harness.runsc(["run", "--bundle", dir, "r"]),
                    mentioning: ["config.json: must be a JSON object, got array"], id: "r")
    }

    func testUnknownGlobalFlag() throws {
        assertFails(try harness.runsc(["--no-such-flag", "list"]), mentioning: ["--no-such-flag"])
    }

    func testUnknownSubcommandFlag() throws {
        let dir = try bundle(withConfig: valid)
        assertFails(try harness.runsc(["create", "--no-such-flag", "--bundle", dir, "c"]),
                    mentioning: ["--no-such-flag"], id: "c")
    }

    func testUnknownPlatform() throws {
        assertFails(try harness.runsc(["--platform", "warp", "do", "/bin/true"]), mentioning: ["--platform", "warp"])
    }

    func testKVMPlatformIsRefusedClearly() throws {
        assertFails(try harness.runsc(["--platform=kvm", "do", "/bin/true"]),
                    mentioning: ["--platform=kvm", "not supported yet"])
    }

    func testUnsupportedNetworkModes() throws {
        for mode in ["host", "sandbox"] {
            assertFails(try harness.runsc(["--network", mode, "do", "/bin/true"]),
                        mentioning: ["--network=\(mode)", "not supported yet"])
        }
    }

    func testUnknownID() throws {
        for command in [["state", "ghost"], ["start", "ghost"], ["kill", "ghost", "KILL"], ["delete", "ghost"],
                        ["wait", "ghost"]] {
            assertFails(try harness.runsc(command), mentioning: ["\"ghost\" does not exist"], id: "ghost")
        }
    }

    func testInvalidID() throws {
        let dir = try bundle(withConfig: valid)
        assertFails(try harness.runsc(["create", "--bundle", dir, "../escape"]), mentioning: ["../escape"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: harness.workDir + "/escape"))
    }

    func testUnknownSignal() throws {
        assertFails(try harness.runsc(["kill", "someid", "SIGBOGUS"]), mentioning: ["SIGBOGUS"])
    }

    func testSpecRefusesToOverwrite() throws {
        let dir = try bundle(withConfig: valid)
        assertFails(try harness.runsc(["spec", "--bundle", dir]), mentioning: [dir + "/config.json", "already exists"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/config.json", encoding: .utf8), valid)
    }

    func testJSONLogReceivesErrors() throws {
        let log = harness.workDir + "/runsc.log"
        let result = try harness.runsc(["--log", log, "--log-format", "json", "state", "ghost"])
        XCTAssertNotEqual(result.status, 0)
        let line = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").last.map(String.init) ?? ""
        let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        XCTAssertEqual(entry?["level"] as? String, "error")
        XCTAssertTrue((entry?["msg"] as? String ?? "").contains("\"ghost\" does not exist"), line)
        XCTAssertNotNil(entry?["time"] as? String)
    }
}

/// Flags in Go style (-root X, -root=X) and GNU style (--root X, --root=X), and the CLI's own outputs.
final class CommandLineTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    func testAllFlagStylesSelectTheSameRoot() throws {
        for style in [["-root", harness.root], ["--root", harness.root], ["-root=" + harness.root], ["--root=" + harness.root]] {
            let result = try harness.runsc(style + ["state", "ghost"], withRoot: false)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains("\"ghost\" does not exist"), "\(style): \(result.stderr)")
        }
    }

    func testGoStyleSubcommandFlags() throws {
        let dir = harness.workDir + "/gostyle"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let result = try harness.runsc(["spec", "-bundle", dir])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/config.json"))
    }

    func testSpecWritesARuncStyleDefault() throws {
        let dir = harness.workDir + "/spec"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertEqual(try harness.runsc(["spec"], cwd: dir).status, 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))
        let config = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let process = config["process"] as? [String: Any] ?? [:]
        XCTAssertEqual(process["args"] as? [String], ["sh"])
        XCTAssertEqual(process["terminal"] as? Bool, true)
        XCTAssertEqual((config["root"] as? [String: Any])?["path"] as? String, "rootfs")
        let mounts = (config["mounts"] as? [[String: Any]] ?? []).compactMap { $0["destination"] as? String }
        XCTAssertEqual(mounts, ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"])
    }

    func testVersion() throws {
        let result = try harness.runsc(["--version"], withRoot: false)
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("runsc version "), result.stdout)
        XCTAssertTrue(result.stdout.contains("spec: 1.0.2"), result.stdout)
    }

    func testListOfEmptyRoot() throws {
        let result = try harness.runsc(["list", "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "[]\n")
    }
}
