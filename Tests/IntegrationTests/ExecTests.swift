// `runsc exec` and `runsc ps` against a running busybox container.
import Foundation
import XCTest

final class ExecTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Creates and starts a container that sleeps, so there is something to exec into.
    private func startSleeper(_ id: String) throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "30"])
        let create = try harness.runsc(["create", "--bundle", bundle, id])
        XCTAssertEqual(create.status, 0, create.stderr)
        let start = try harness.runsc(["start", id])
        XCTAssertEqual(start.status, 0, start.stderr)
    }

    private func killAndDelete(_ id: String) throws {
        let kill = try harness.runsc(["kill", id, "KILL"])
        XCTAssertEqual(kill.status, 0, kill.stderr)
        _ = try harness.runsc(["wait", id])
        let delete = try harness.runsc(["delete", id])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        XCTAssertFalse(harness.stateDirectoryExists(id))
    }

    func testExecRunsCommandsWithStatusEnvAndCwd() throws {
        try startSleeper("ex1")
        let echo = try harness.runsc(["exec", "ex1", "/bin/busybox", "echo", "hi"])
        XCTAssertEqual(echo.stdout, "hi\n", echo.stderr)
        XCTAssertEqual(echo.status, 0, echo.stderr)

        let exit5 = try harness.runsc(["exec", "ex1", "sh", "-c", "exit 5"])
        XCTAssertEqual(exit5.status, 5, exit5.stderr)

        let env = try harness.runsc(["exec", "--env", "FOO=bar", "ex1", "sh", "-c", "echo $FOO"])
        XCTAssertEqual(env.stdout, "bar\n", env.stderr)

        let cwd = try harness.runsc(["exec", "--cwd", "/etc", "ex1", "pwd"])
        XCTAssertEqual(cwd.stdout, "/etc\n", cwd.stderr)

        let user = try harness.runsc(["exec", "--user", "1000:1001", "ex1", "sh", "-c", "echo $(id -u):$(id -g)"])
        XCTAssertEqual(user.stdout, "1000:1001\n", user.stderr)

        let missing = try harness.runsc(["exec", "ex1", "no-such-binary"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("no-such-binary") && missing.stderr.contains("ex1"), missing.stderr)

        let tty = try harness.runsc(["exec", "--tty", "ex1", "true"])
        XCTAssertNotEqual(tty.status, 0)
        XCTAssertTrue(tty.stderr.contains("--console-socket"), tty.stderr)  // a terminal needs a socket for its master
        try killAndDelete("ex1")
    }

    func testExecFromProcessFile() throws {
        try startSleeper("ex2")
        let processFile = harness.workDir + "/process.json"
        let process: [String: Any] = ["args": ["sh", "-c", "echo $A in $(pwd); exit 3"], "env": ["A=b", "PATH=/bin"],
                                      "cwd": "/tmp", "user": ["uid": 0, "gid": 0]]
        try JSONSerialization.data(withJSONObject: process).write(to: URL(fileURLWithPath: processFile))
        let result = try harness.runsc(["exec", "--process", processFile, "ex2"])
        XCTAssertEqual(result.stdout, "b in /tmp\n", result.stderr)
        XCTAssertEqual(result.status, 3, result.stderr)
        try killAndDelete("ex2")
    }

    func testPsListsInitAndDetachedExec() throws {
        try startSleeper("ex3")
        let pidFile = harness.workDir + "/exec.pid"
        let detached = try harness.runsc(["exec", "--detach", "--pid-file", pidFile, "ex3", "sleep", "30"])
        XCTAssertEqual(detached.status, 0, detached.stderr)
        // The pid file names a live host process standing for the exec'd one (shims wait for it).
        let waiterPID = Int32(try String(contentsOfFile: pidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        XCTAssertTrue(waiterPID > 0 && Self.isLive(waiterPID), "pid file: \(waiterPID)")
        let bootPID = try harness.state("ex3")["pid"] as? Int ?? -1

        // json: host pids, as docker top expects (the sandbox process and its stubs).
        let json = try harness.runsc(["ps", "--format", "json", "ex3"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let pids = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [Int] ?? []
        XCTAssertTrue(pids.contains(bootPID), json.stdout)
        XCTAssertTrue(pids.count >= 3, "boot and a stub per process: \(json.stdout)")
        for pid in pids { XCTAssertEqual(kill(Int32(pid), 0), 0, "host pid \(pid)") }

        // The table: processes inside the sandbox.
        let table = try harness.runsc(["ps", "ex3"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("UID") == true && lines.first?.hasSuffix("CMD") == true, table.stdout)
        XCTAssertTrue(lines.contains { $0.contains(" 1 ") && $0.hasSuffix("sleep") }, table.stdout)
        XCTAssertEqual(lines.filter { $0.hasSuffix("sleep") }.count, 2, table.stdout)

        // A signal to the waiter reaches the exec'd process; the waiter then ends.
        XCTAssertEqual(kill(waiterPID, SIGTERM), 0)
        var gone = false
        for _ in 0..<100 where !gone {
            usleep(50_000)
            let now = try harness.runsc(["ps", "ex3"]).stdout
            gone = now.split(separator: "\n").filter { $0.hasSuffix("sleep") }.count == 1 && !Self.isLive(waiterPID)
        }
        XCTAssertTrue(gone, "SIGTERM to the waiter must end the exec'd sleep and the waiter")

        try killAndDelete("ex3")
        let afterDelete = try harness.runsc(["exec", "ex3", "true"])
        XCTAssertNotEqual(afterDelete.status, 0)
        XCTAssertTrue(afterDelete.stderr.contains("ex3"), afterDelete.stderr)
    }

    /// A host process that exists and is not a zombie (the waiter is re-parented away from us).
    static func isLive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    func testExecOnStoppedContainerFails() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["true"])
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "ex4"]).status, 0)
        let notStarted = try harness.runsc(["exec", "ex4", "true"])
        XCTAssertNotEqual(notStarted.status, 0)
        XCTAssertTrue(notStarted.stderr.contains("\"ex4\"") && notStarted.stderr.contains("created"), notStarted.stderr)
        XCTAssertEqual(try harness.runsc(["start", "ex4"]).status, 0)
        _ = try harness.runsc(["wait", "ex4"])
        let stopped = try harness.runsc(["exec", "ex4", "true"])
        XCTAssertNotEqual(stopped.status, 0)
        XCTAssertTrue(stopped.stderr.contains("stopped, not running"), stopped.stderr)
        XCTAssertEqual(try harness.runsc(["delete", "ex4"]).status, 0)
    }
}
