// A busybox bundle made with `runsc spec`, driven through run and create/start/state/kill/wait/delete.
import Foundation
import XCTest

final class BundleLifecycleTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    func testRunPrintsAndExitsWithTheAppsStatus() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sh", "-c", "echo hi from the bundle; exit 5"])
        let result = try harness.runsc(["run", "--bundle", bundle, "run1"])
        XCTAssertEqual(result.stdout, "hi from the bundle\n", result.stderr)
        XCTAssertEqual(result.status, 5, result.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("run1"), "run must delete its state")
    }

    func testCreateStartStateWaitDelete() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sh", "-c", "sleep 2; echo done; exit 7"])
        let pidFile = harness.workDir + "/pid"
        let create = try harness.runsc(["create", "--bundle", bundle, "--pid-file", pidFile, "life"])
        XCTAssertEqual(create.status, 0, create.stderr)

        var state = try harness.state("life")
        XCTAssertEqual(state["status"] as? String, "created")
        XCTAssertEqual(state["id"] as? String, "life")
        XCTAssertEqual(state["ociVersion"] as? String, "1.0.2")
        XCTAssertEqual(state["bundle"] as? String, URL(fileURLWithPath: bundle).resolvingSymlinksInPath().path)
        XCTAssertNotNil(state["annotations"])
        let pid = state["pid"] as? Int ?? 0
        XCTAssertGreaterThan(pid, 0)
        XCTAssertEqual(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                       String(pid))

        let start = try harness.runsc(["start", "life"])
        XCTAssertEqual(start.status, 0, start.stderr)
        state = try harness.state("life")
        XCTAssertEqual(state["status"] as? String, "running")

        let wait = try harness.runsc(["wait", "life"])
        XCTAssertEqual(wait.status, 0, wait.stderr)
        let waited = try JSONSerialization.jsonObject(with: Data(wait.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(waited?["exitStatus"] as? Int, 7, wait.stdout)

        state = try harness.state("life")
        XCTAssertEqual(state["status"] as? String, "stopped")

        let kill = try harness.runsc(["kill", "life", "TERM"])
        XCTAssertNotEqual(kill.status, 0, "kill of a stopped container must fail")
        XCTAssertTrue(kill.stderr.contains("not running"), kill.stderr)

        let delete = try harness.runsc(["delete", "life"])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("life"))
        let gone = try harness.runsc(["state", "life"])
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("\"life\" does not exist"), gone.stderr)
    }

    func testKillByNameAndNumber() throws {
        // init gets SIGTERM only when it handles it (as on runc); SIGKILL from outside always ends it.
        let bundle = try harness.makeBusyboxBundle(args: ["sh", "-c", "trap 'exit 143' TERM; while true; do sleep 1; done"])
        for (id, signal, expected) in [("k1", "KILL", 137), ("k2", "15", 143)] {
            XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, id]).status, 0)
            XCTAssertEqual(try harness.runsc(["start", id]).status, 0)
            // init takes SIGTERM only once its trap is set: wait until /proc/1/status shows it caught.
            for _ in 0..<100 {
                let status = try harness.runsc(["exec", id, "cat", "/proc/1/status"]).stdout
                let line = status.split(separator: "\n").first { $0.hasPrefix("SigCgt:") } ?? ""
                if let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16),
                   mask & (1 << 14) != 0 { break }
                usleep(20_000)
            }
            let kill = try harness.runsc(["kill", id, signal])
            XCTAssertEqual(kill.status, 0, kill.stderr)
            let wait = try harness.runsc(["wait", id])
            let waited = try JSONSerialization.jsonObject(with: Data(wait.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(waited?["exitStatus"] as? Int, expected, "kill \(signal): \(wait.stdout) \(wait.stderr)")
            XCTAssertEqual(try harness.runsc(["delete", id]).status, 0)
        }
    }

    func testRuncCreateFlagsAndRunDetach() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "100"])
        // containerd passes these with NoPivotRoot/NoNewKeyring: accepted.
        let create = try harness.runsc(["create", "--no-pivot", "--no-new-keyring", "--bundle", bundle, "rf1"])
        XCTAssertEqual(create.status, 0, create.stderr)
        XCTAssertEqual(try harness.runsc(["delete", "--force", "rf1"]).status, 0)
        let preserve = try harness.runsc(["create", "--preserve-fds", "2", "--bundle", bundle, "rf2"])
        XCTAssertNotEqual(preserve.status, 0)
        XCTAssertTrue(preserve.stderr.contains("--preserve-fds 2"), preserve.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("rf2"))

        // run -d: created and started, then the CLI returns while the container runs.
        let run = try harness.runsc(["run", "-d", "--bundle", bundle, "rf3"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try harness.state("rf3")["status"] as? String, "running")
        XCTAssertEqual(try harness.runsc(["kill", "rf3", "KILL"]).status, 0)
        XCTAssertTrue(try harness.runsc(["wait", "rf3"]).stdout.contains("\"exitStatus\":137"))
        XCTAssertEqual(try harness.runsc(["delete", "rf3"]).status, 0)
    }

    func testInitWithoutAHandlerOutlivesSIGTERM() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "100"])
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "k3"]).status, 0)
        XCTAssertEqual(try harness.runsc(["start", "k3"]).status, 0)
        XCTAssertEqual(try harness.runsc(["kill", "k3", "TERM"]).status, 0)
        usleep(300_000)
        XCTAssertEqual(try harness.state("k3")["status"] as? String, "running", "sleep as init must ignore SIGTERM")
        XCTAssertEqual(try harness.runsc(["kill", "k3", "KILL"]).status, 0)
        let wait = try harness.runsc(["wait", "k3"])
        XCTAssertTrue(wait.stdout.contains("\"exitStatus\":137"), wait.stdout + wait.stderr)
        XCTAssertEqual(try harness.runsc(["delete", "k3"]).status, 0)
    }

    func testDeleteForceKillsARunningContainer() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "100"])
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "f1"]).status, 0)
        XCTAssertEqual(try harness.runsc(["start", "f1"]).status, 0)
        let pid = try harness.state("f1")["pid"] as? Int32 ?? 0
        let refused = try harness.runsc(["delete", "f1"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("running"), refused.stderr)
        XCTAssertEqual(try harness.runsc(["delete", "--force", "f1"]).status, 0)
        XCTAssertFalse(harness.stateDirectoryExists("f1"))
        XCTAssertGreaterThan(pid, 0)
        XCTAssertFalse(isRunning(pid), "the sandbox process must be gone")
    }

    /// True if `pid` exists and is not a zombie (whoever inherited it may not have reaped it yet).
    private func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return state != "Z" && state != "X"
    }

    func testListShowsContainers() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "100"])
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "l1"]).status, 0)
        let list = try harness.runsc(["list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("l1"), list.stdout)
        XCTAssertTrue(list.stdout.contains("created"), list.stdout)
    }

    func testDuplicateIDIsRefusedAndTheFirstContainerSurvives() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["sleep", "100"])
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "dup"]).status, 0)
        let second = try harness.runsc(["create", "--bundle", bundle, "dup"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertEqual(second.stderr, "runsc: container \"dup\" already exists\n")
        XCTAssertEqual(try harness.state("dup")["status"] as? String, "created")
    }

    func testMissingExecutableFailsAtCreate() throws {
        let bundle = try harness.makeBusyboxBundle(args: ["/bin/no-such-program"])
        let create = try harness.runsc(["create", "--bundle", bundle, "noexec"])
        XCTAssertNotEqual(create.status, 0)
        XCTAssertTrue(create.stderr.contains("no-such-program"), create.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("noexec"))
    }
}
