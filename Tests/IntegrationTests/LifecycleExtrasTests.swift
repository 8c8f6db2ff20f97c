// runc's command-line surface beyond create/start/kill/delete, driven through the built binary: pause and
// resume, events, update, features, kill --all, and errors in a --log-format json log.
import Foundation
import XCTest

final class LifecycleExtrasTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Creates and starts `args` in a busybox bundle, with `workDir/out` bound at /out (read-write).
    @discardableResult
    private func start(_ id: String, _ args: [String], edit: ((inout [String: Any]) -> Void)? = nil) throws -> String {
        let out = harness.workDir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let bundle = try harness.makeBusyboxBundle(name: "bundle-" + id, args: args)
        try harness.editSpec(bundle) { config in
            config["mounts"] = (config["mounts"] as? [[String: Any]] ?? [])
                + [["destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]]]
            edit?(&config)
        }
        let create = try harness.runsc(["create", "--bundle", bundle, id])
        XCTAssertEqual(create.status, 0, create.stderr)
        let start = try harness.runsc(["start", id])
        XCTAssertEqual(start.status, 0, start.stderr)
        return out
    }

    private func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    private func waitFor(_ what: String, timeout: TimeInterval = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() > deadline { XCTFail("timed out waiting for \(what)"); return }
            usleep(20_000)
        }
    }

    private func status(_ id: String) throws -> String { try harness.state(id)["status"] as? String ?? "" }

    func testPauseStopsCountingLoopAndResumeContinuesIt() throws {
        let out = try start("pz", ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i >> /out/count; done"])
        let count = out + "/count"
        try waitFor("the loop to count") { size(count) > 100 }

        let pause = try harness.runsc(["pause", "pz"])
        XCTAssertEqual(pause.status, 0, pause.stderr)
        XCTAssertEqual(try status("pz"), "paused")
        usleep(300_000)  // a write already in the host kernel may still land
        let frozen = size(count)
        let linesWhenPaused = try String(contentsOfFile: count, encoding: .utf8).split(separator: "\n").count
        usleep(1_000_000)
        XCTAssertEqual(size(count), frozen, "the loop kept running while paused")

        let again = try harness.runsc(["pause", "pz"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("\"pz\"") && again.stderr.contains("not running (paused)"), again.stderr)

        let resume = try harness.runsc(["resume", "pz"])
        XCTAssertEqual(resume.status, 0, resume.stderr)
        XCTAssertEqual(try status("pz"), "running")
        try waitFor("the loop to continue") { size(count) > frozen + 100 }
        let resumeRunning = try harness.runsc(["resume", "pz"])
        XCTAssertNotEqual(resumeRunning.status, 0)
        XCTAssertTrue(resumeRunning.stderr.contains("cannot resume container \"pz\": container not paused (running)"),
                      resumeRunning.stderr)

        // The loop continued where it stopped: the numbers have no gap and never restart.
        let pause2 = try harness.runsc(["pause", "pz"])
        XCTAssertEqual(pause2.status, 0, pause2.stderr)
        usleep(300_000)
        let numbers = try String(contentsOfFile: count, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        XCTAssertGreaterThan(numbers.count, linesWhenPaused, "nothing was counted after resume")
        XCTAssertEqual(numbers, Array(1...numbers.count), "the count skipped or restarted")

        // SIGKILL ends a paused container without a resume.
        let kill = try harness.runsc(["kill", "pz", "KILL"])
        XCTAssertEqual(kill.status, 0, kill.stderr)
        let wait = try harness.runsc(["wait", "pz"], timeout: 20)
        XCTAssertTrue(wait.stdout.contains("\"exitStatus\":137"), wait.stdout + wait.stderr)
        let pauseStopped = try harness.runsc(["pause", "pz"])
        XCTAssertTrue(pauseStopped.stderr.contains("cannot pause container \"pz\": container not running (stopped)"),
                      pauseStopped.stderr)
        XCTAssertEqual(try harness.runsc(["delete", "pz"]).status, 0)
    }

    func testPausedContainerGetsOtherSignalsOnResume() throws {
        let out = try start("pt", ["sh", "-c",
                                   "trap 'echo got-usr1 > /out/sig; exit 7' USR1; echo > /out/ready; while true; do sleep 0.1; done"])
        try waitFor("the handler to be installed") { FileManager.default.fileExists(atPath: out + "/ready") }
        XCTAssertEqual(try harness.runsc(["pause", "pt"]).status, 0)
        XCTAssertEqual(try harness.runsc(["kill", "pt", "USR1"]).status, 0)
        usleep(500_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/sig"), "a signal ran the handler while paused")
        XCTAssertEqual(try status("pt"), "paused")
        XCTAssertEqual(try harness.runsc(["resume", "pt"]).status, 0)
        let wait = try harness.runsc(["wait", "pt"], timeout: 20)
        XCTAssertTrue(wait.stdout.contains("\"exitStatus\":7"), wait.stdout + wait.stderr)
        XCTAssertEqual(try String(contentsOfFile: out + "/sig", encoding: .utf8), "got-usr1\n")
    }

    func testEventsStatsCountsTasksAndMemory() throws {
        try start("ev", ["sh", "-c", "sleep 60 & sleep 60 & wait"])
        try waitFor("three processes") {
            // The table lists the sandbox's processes (json lists host pids, for docker top).
            let ps = try harness.runsc(["ps", "ev"])
            return ps.stdout.split(separator: "\n").dropFirst().count == 3
        }
        let events = try harness.runsc(["events", "--stats", "ev"])
        XCTAssertEqual(events.status, 0, events.stderr)
        let lines = events.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, events.stdout)
        let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(event["type"] as? String, "stats")
        XCTAssertEqual(event["id"] as? String, "ev")
        let data = try XCTUnwrap(event["data"] as? [String: Any])
        XCTAssertEqual((data["pids"] as? [String: Any])?["current"] as? Int, 3, "\(data)")
        let memory = try XCTUnwrap((data["memory"] as? [String: Any])?["usage"] as? [String: Any])
        XCTAssertGreaterThan(memory["usage"] as? Int ?? 0, 0, "\(memory)")
        let cpu = try XCTUnwrap((data["cpu"] as? [String: Any])?["usage"] as? [String: Any])
        XCTAssertGreaterThan(cpu["total"] as? Int ?? 0, 0, "\(cpu)")
        XCTAssertNotNil(cpu["user"] as? Int)
        XCTAssertNotNil(cpu["kernel"] as? Int)

        let badInterval = try harness.runsc(["events", "--interval", "soon", "ev"])
        XCTAssertNotEqual(badInterval.status, 0)
        XCTAssertTrue(badInterval.stderr.contains("--interval"), badInterval.stderr)
        XCTAssertEqual(try harness.runsc(["kill", "ev", "KILL"]).status, 0)
    }

    func testEventsStreamsUntilTheContainerStops() throws {
        try start("es", ["sh", "-c", "sleep 1"])
        let events = try harness.runsc(["events", "--interval", "200ms", "es"], timeout: 30)
        XCTAssertEqual(events.status, 0, events.stderr)
        let lines = events.stdout.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 2, events.stdout)
        for line in lines { XCTAssertTrue(line.hasPrefix("{") && line.contains("\"type\":\"stats\""), String(line)) }
    }

    func testEventsReportsOOMWhenTheMemoryLimitRefusesMemory() throws {
        let out = harness.workDir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let bundle = try harness.makeBusyboxBundle(name: "oom", args: [
            "sh", "-c", "sleep 0.6; busybox dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 0.6"])
        try harness.editSpec(bundle) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["resources"] = ["memory": ["limit": 32 << 20]]
            config["linux"] = linux
        }
        XCTAssertEqual(try harness.runsc(["create", "--bundle", bundle, "oom"]).status, 0)
        XCTAssertEqual(try harness.runsc(["start", "oom"]).status, 0)
        let events = try harness.runsc(["events", "--interval", "200ms", "oom"], timeout: 30)
        XCTAssertEqual(events.status, 0, events.stderr)
        let lines = events.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains(#"{"id":"oom","type":"oom"}"#), events.stdout)
        let last = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((lines.last ?? "").utf8)) as? [String: Any])
        let usage = ((last["data"] as? [String: Any])?["memory"] as? [String: Any])?["usage"] as? [String: Any]
        XCTAssertEqual(usage?["limit"] as? Int, 32 << 20, events.stdout)
        XCTAssertGreaterThan(usage?["failcnt"] as? Int ?? 0, 0, "failcnt counts the refusals: \(events.stdout)")
    }

    func testUpdatePidsLimitMakesForkFail() throws {
        try start("up", ["sleep", "60"])
        let update = try harness.runsc(["update", "--pids-limit", "2", "up"])
        XCTAssertEqual(update.status, 0, update.stderr)
        // init + the exec'd shell make 2 tasks: the shell's fork is refused.
        let refused = try harness.runsc(["exec", "up", "sh", "-c", "sleep 0 & wait; echo forked"])
        XCTAssertFalse(refused.stdout.contains("forked"), refused.stdout)
        XCTAssertTrue(refused.stderr.contains("fork"), refused.stderr)

        let stats = try harness.runsc(["events", "--stats", "up"])
        XCTAssertTrue(stats.stdout.contains("\"limit\":2"), stats.stdout)

        XCTAssertEqual(try harness.runsc(["update", "--pids-limit", "-1", "--cpu-shares", "512", "up"]).status, 0)
        let allowed = try harness.runsc(["exec", "up", "sh", "-c", "sleep 0 & wait; echo forked"])
        XCTAssertEqual(allowed.stdout, "forked\n", allowed.stderr)
        let recorded = try String(contentsOfFile: harness.root + "/up/resources.json", encoding: .utf8)
        XCTAssertTrue(recorded.contains("\"shares\":512"), recorded)

        let bad = try harness.runsc(["update", "--memory", "lots", "up"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--memory: invalid size \"lots\""), bad.stderr)
        let period = try harness.runsc(["update", "--cpu-period", "5", "up"])
        XCTAssertTrue(period.stderr.contains("--cpu-period"), period.stderr)
        XCTAssertEqual(try harness.runsc(["kill", "up", "KILL"]).status, 0)
    }

    func testSpecPidsLimitAppliesFromCreate() throws {
        let bundle = try harness.makeBusyboxBundle(name: "pl", args: ["sh", "-c", "sleep 0 & wait; echo forked"])
        try harness.editSpec(bundle) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["resources"] = ["pids": ["limit": 1]]
            config["linux"] = linux
        }
        let run = try harness.runsc(["run", "--bundle", bundle, "pl"])
        XCTAssertFalse(run.stdout.contains("forked"), run.stdout)
        XCTAssertTrue(run.stderr.contains("fork"), run.stderr)
    }

    func testUpdateMemoryLimitShowsInStats() throws {
        try start("um", ["sleep", "60"])
        XCTAssertEqual(try harness.runsc(["update", "--memory", "256m", "um"]).status, 0)
        let stats = try harness.runsc(["events", "--stats", "um"])
        XCTAssertTrue(stats.stdout.contains("\"limit\":268435456"), stats.stdout)
        XCTAssertEqual(try harness.runsc(["kill", "um", "KILL"]).status, 0)
    }

    func testFeaturesDocument() throws {
        let result = try harness.runsc(["features"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(doc["ociVersionMin"] as? String, "1.0.0")
        XCTAssertNotNil(doc["ociVersionMax"] as? String)
        XCTAssertNotNil(doc["hooks"] as? [String])
        XCTAssertTrue((doc["mountOptions"] as? [String])?.contains("ro") ?? false)
        let linux = try XCTUnwrap(doc["linux"] as? [String: Any])
        XCTAssertTrue((linux["namespaces"] as? [String])?.contains("pid") ?? false)
        XCTAssertTrue((linux["capabilities"] as? [String])?.contains("CAP_SYS_ADMIN") ?? false)
        let seccomp = try XCTUnwrap(linux["seccomp"] as? [String: Any])
        XCTAssertTrue((seccomp["actions"] as? [String])?.contains("SCMP_ACT_ERRNO") ?? false, "\(seccomp)")
        XCTAssertTrue((seccomp["operators"] as? [String])?.contains("SCMP_CMP_MASKED_EQ") ?? false, "\(seccomp)")
        XCTAssertTrue((seccomp["archs"] as? [String])?.contains("SCMP_ARCH_X86_64") ?? false, "\(seccomp)")
        for key in ["cgroup", "seccomp", "apparmor", "selinux"] { XCTAssertNotNil(linux[key] as? [String: Any], key) }
        XCTAssertEqual((linux["apparmor"] as? [String: Any])?["enabled"] as? Bool, false)
        XCTAssertNotNil(doc["annotations"] as? [String: String])
    }

    func testKillAllReachesExecedProcesses() throws {
        // init ignores TERM; a process started by exec does not.
        let out = try start("ka", ["sh", "-c", "trap '' TERM; echo > /out/ready; while true; do sleep 1; done"])
        try waitFor("TERM to be ignored") { FileManager.default.fileExists(atPath: out + "/ready") }
        let pidFile = harness.workDir + "/exec.pid"
        let detached = try harness.runsc(["exec", "--detach", "--pid-file", pidFile, "ka", "sleep", "60"])
        XCTAssertEqual(detached.status, 0, detached.stderr)
        // The pid file names the host waiter that lives exactly as long as the exec'd process.
        let waiterPID = try XCTUnwrap(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        func execRuns() -> Bool { ExecTests.isLive(waiterPID) }
        XCTAssertTrue(execRuns())
        XCTAssertEqual(try harness.runsc(["kill", "ka", "TERM"]).status, 0)
        usleep(300_000)
        XCTAssertTrue(execRuns(), "kill without --all reached a process other than init")
        XCTAssertEqual(try harness.runsc(["kill", "--all", "ka", "TERM"]).status, 0)
        try waitFor("the exec'd process to die") { !execRuns() }
        XCTAssertEqual(try status("ka"), "running", "init ignores TERM")
        XCTAssertEqual(try harness.runsc(["kill", "ka", "KILL"]).status, 0)
    }

    func testSystemdCgroupPathIsChecked() throws {
        let bundle = try harness.makeBusyboxBundle(name: "sd", args: ["true"])
        try harness.editSpec(bundle) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["cgroupsPath"] = "/docker/abc"
            config["linux"] = linux
        }
        let refused = try harness.runsc(["--systemd-cgroup", "create", "--bundle", bundle, "sd1"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("linux.cgroupsPath") && refused.stderr.contains("slice:prefix:name"), refused.stderr)
        XCTAssertFalse(harness.stateDirectoryExists("sd1"))
        try harness.editSpec(bundle) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["cgroupsPath"] = "system.slice:docker:abc"
            config["linux"] = linux
        }
        let run = try harness.runsc(["--systemd-cgroup", "run", "--bundle", bundle, "sd2"])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testJSONLogGetsErrorLines() throws {
        let log = harness.workDir + "/runsc.log"
        let missing = try harness.runsc(["--log", log, "--log-format", "json", "pause", "no-such-container"])
        XCTAssertNotEqual(missing.status, 0)
        let badFlag = try harness.runsc(["--log", log, "--log-format", "json", "--no-such-flag", "state", "x"])
        XCTAssertNotEqual(badFlag.status, 0)
        let badSub = try harness.runsc(["--log", log, "--log-format", "json", "update", "--pids-limit", "x", "c"])
        XCTAssertNotEqual(badSub.status, 0)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, lines.joined(separator: "\n"))
        let entries = try lines.map { try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        for entry in entries {
            XCTAssertEqual(entry["level"] as? String, "error")
            XCTAssertFalse((entry["time"] as? String ?? "").isEmpty)
        }
        XCTAssertTrue((entries[0]["msg"] as? String ?? "").contains("no-such-container"), "\(entries[0])")
        XCTAssertTrue((entries[1]["msg"] as? String ?? "").contains("--no-such-flag"), "\(entries[1])")
        XCTAssertTrue((entries[2]["msg"] as? String ?? "").contains("--pids-limit"), "\(entries[2])")
    }
}
