// OCI hooks: run on the host with the container's state on stdin at the points runc runs them.
import Foundation
import XCTest

final class HooksTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// A hook that appends its stdin (the state JSON) and a newline to `file`.
    private func recorder(_ file: String) -> [String: Any] {
        ["path": "/bin/sh", "args": ["sh", "-c", "cat >> \(file); echo >> \(file); echo \"$HOOK_NAME\" >> \(file)"],
         "env": ["HOOK_NAME=seen"]]
    }

    private func states(_ file: String) throws -> [[String: Any]] {
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }

    func testHooksRunWithTheStateAtEachStep() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "30"])
        let pre = harness.workDir + "/prestart", run = harness.workDir + "/createRuntime"
        let post = harness.workDir + "/poststart", stop = harness.workDir + "/poststop"
        try harness.editSpec(bundle) { spec in
            spec["hooks"] = ["prestart": [self.recorder(pre)], "createRuntime": [self.recorder(run)],
                             "poststart": [self.recorder(post)], "poststop": [self.recorder(stop)]]
        }
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "hk1"]).status, 0)
        let bootPID = try harness.state("hk1")["pid"] as? Int ?? -1
        for file in [pre, run] {
            let seen = try states(file)
            XCTAssertEqual(seen.count, 1, file)
            XCTAssertEqual(seen.first?["id"] as? String, "hk1")
            XCTAssertEqual(seen.first?["pid"] as? Int, bootPID, "the hook sees the sandbox's pid")
            XCTAssertEqual(seen.first?["status"] as? String, "creating")
            XCTAssertTrue(try String(contentsOfFile: file, encoding: .utf8).contains("seen\n"), "the hook's env is its own")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: post), "poststart runs only after start")

        XCTAssertEqual(try harness.runsc(["start", "hk1"]).status, 0)
        XCTAssertEqual(try states(post).first?["status"] as? String, "running")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stop))

        XCTAssertEqual(try harness.runsc(["kill", "hk1", "KILL"]).status, 0)
        _ = try harness.runsc(["wait", "hk1"])
        XCTAssertEqual(try harness.runsc(["delete", "hk1"]).status, 0)
        XCTAssertEqual(try states(stop).first?["status"] as? String, "stopped")
    }

    func testFailingCreateRuntimeHookFailsCreateAndLeavesNothing() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["true"])
        try harness.editSpec(bundle) { spec in
            spec["hooks"] = ["createRuntime": [["path": "/bin/sh", "args": ["sh", "-c", "echo no network for you >&2; exit 3"]]]]
        }
        let create = try harness.runsc(["create", "--bundle", bundle, "hk2"])
        XCTAssertNotEqual(create.status, 0)
        XCTAssertTrue(create.stderr.contains("hooks.createRuntime[0]") && create.stderr.contains("status 3")
                      && create.stderr.contains("no network for you"), create.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("hk2"))
    }

    func testHookTimeoutAndBadHooksAreRefused() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["true"])
        try harness.editSpec(bundle) { spec in
            spec["hooks"] = ["prestart": [["path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1]]]
        }
        let slow = try harness.runsc(["create", "--bundle", bundle, "hk3"])
        XCTAssertNotEqual(slow.status, 0)
        XCTAssertTrue(slow.stderr.contains("timeout of 1 s"), slow.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("hk3"))

        for (hooks, expected) in [
            (["startContainer": [["path": "/bin/true"]]], "hooks.startContainer"),
            (["poststop": [["path": "relative/hook"]]], "hooks.poststop[0].path"),
        ] as [([String: Any], String)] {
            try harness.editSpec(bundle) { $0["hooks"] = hooks }
            let refused = try harness.runsc(["create", "--bundle", bundle, "hk4"])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.stderr.contains(expected), refused.stderr)
        }
    }
}
