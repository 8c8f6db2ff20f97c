// `runsc install` / `runsc uninstall` on a scratch daemon.json: other keys kept, a backup written, the
// binary's absolute path and the extra flags recorded, malformed JSON refused with file and position.
import Foundation
import XCTest

final class InstallTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    private func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    func testInstallAndUninstallKeepOtherKeys() throws {
        let file = harness.workDir + "/docker/daemon.json"
        try FileManager.default.createDirectory(atPath: harness.workDir + "/docker", withIntermediateDirectories: true)
        let original = #"{"debug": true, "log-opts": {"max-size": "10m"}, "runtimes": {"crun": {"path": "/usr/bin/crun"}}}"#
        try original.write(toFile: file, atomically: true, encoding: .utf8)

        let install = try harness.runsc(["install", "--config-file", file, "--runtime", "sbx", "--", "--debug", "--overlay2=none"],
                                        withRoot: false)
        XCTAssertEqual(install.status, 0, install.stderr)
        XCTAssertEqual(try String(contentsOfFile: file + ".bak", encoding: .utf8), original)
        let installed = try json(file)
        XCTAssertEqual(installed["debug"] as? Bool, true)
        XCTAssertEqual((installed["log-opts"] as? [String: Any])?["max-size"] as? String, "10m")
        let runtimes = try XCTUnwrap(installed["runtimes"] as? [String: Any])
        XCTAssertEqual((runtimes["crun"] as? [String: Any])?["path"] as? String, "/usr/bin/crun")
        let entry = try XCTUnwrap(runtimes["sbx"] as? [String: Any])
        let path = try XCTUnwrap(entry["path"] as? String)
        XCTAssertTrue(path.hasPrefix("/"), path)
        XCTAssertEqual(URL(fileURLWithPath: path).resolvingSymlinksInPath().path,
                       URL(fileURLWithPath: harness.binary).resolvingSymlinksInPath().path)
        XCTAssertEqual(entry["runtimeArgs"] as? [String], ["--debug", "--overlay2=none"])

        let uninstall = try harness.runsc(["uninstall", "--config-file", file, "--runtime", "sbx"], withRoot: false)
        XCTAssertEqual(uninstall.status, 0, uninstall.stderr)
        let removed = try json(file)
        XCTAssertNil((removed["runtimes"] as? [String: Any])?["sbx"])
        XCTAssertNotNil((removed["runtimes"] as? [String: Any])?["crun"])
        XCTAssertEqual(removed["debug"] as? Bool, true)

        let again = try harness.runsc(["uninstall", "--config-file", file, "--runtime", "sbx"], withRoot: false)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("not installed"), again.stderr)
    }

    func testInstallCreatesMissingFile() throws {
        let file = harness.workDir + "/new/daemon.json"
        let install = try harness.runsc(["install", "--config-file", file], withRoot: false)
        XCTAssertEqual(install.status, 0, install.stderr)
        let runtimes = try XCTUnwrap(try json(file)["runtimes"] as? [String: Any])
        XCTAssertNotNil(runtimes["runsc"] as? [String: Any])
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + ".bak"))
    }

    func testMalformedJSONIsRefusedAndLeftAlone() throws {
        let file = harness.workDir + "/daemon.json"
        let broken = "{\n  \"debug\": true\n  \"x\": 1\n}\n"
        try broken.write(toFile: file, atomically: true, encoding: .utf8)
        let install = try harness.runsc(["install", "--config-file", file], withRoot: false)
        XCTAssertNotEqual(install.status, 0)
        XCTAssertTrue(install.stderr.contains(file) && install.stderr.contains("line 3, column 3"), install.stderr)
        XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), broken)
        XCTAssertFalse(FileManager.default.fileExists(atPath: file + ".bak"))

        let badFlags = try harness.runsc(["install", "--config-file", harness.workDir + "/d2.json", "--", "--bogus"], withRoot: false)
        XCTAssertNotEqual(badFlags.status, 0)
        XCTAssertTrue(badFlags.stderr.contains("--bogus"), badFlags.stderr)
    }
}
