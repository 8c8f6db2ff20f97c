// "Bad input never loses data": a sandbox whose files are written through to the host (--overlay2=none, a
// writable root and a rw bind of a temp dir) is killed in the middle of its work, three ways: the container
// by `runsc kill`, the Gofer from the host, the Sentry from the host. Each time `state` says stopped, `delete`
// leaves no process and no state behind, and the files the container was not writing are unchanged.
import Foundation
import Glibc
import XCTest

final class KillMidOperationTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// A written-through container running `script`, created and started with stdout/stderr in files.
    struct Sandbox {
        var id: String
        var volume: String
        var rootfs: String
        var stdout: String
        var stderr: String
        var boot: Int32
        var gofer: Int32
    }

    /// Files the container never writes, on the volume and in the root, with their bytes before it ran.
    private var untouched: [String: Data] = [:]

    private func start(_ script: String) throws -> Sandbox {
        let id = "kill-" + UUID().uuidString.prefix(8).lowercased()
        let volume = harness.workDir + "/volume-" + id
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
        let bundle = try harness.makeBusyboxBundle(name: "bundle-" + id, args: ["sh", "-c", script])
        let rootfs = bundle + "/rootfs"
        try harness.editSpec(bundle) { config in
            var root = config["root"] as? [String: Any] ?? [:]
            root["readonly"] = false
            config["root"] = root
            config["mounts"] = (config["mounts"] as? [[String: Any]] ?? [])
                + [["destination": "/data", "type": "bind", "source": volume, "options": ["rbind", "rw"]]]
        }
        var random = SystemRandomNumberGenerator()
        for path in [volume + "/keep.bin", volume + "/keep2.bin", rootfs + "/etc/keep.bin"] {
            let bytes = Data((0..<(256 << 10)).map { _ in UInt8.random(in: 0...255, using: &random) })
            try bytes.write(to: URL(fileURLWithPath: path))
            untouched[path] = bytes
        }

        let stdout = harness.workDir + "/" + id + ".out", stderr = harness.workDir + "/" + id + ".err"
        let create = try detached(["--overlay2=none", "create", "--bundle", bundle, id], stdout: stdout, stderr: stderr)
        XCTAssertEqual(create, 0, "create: \((try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "")")
        let started = try harness.runsc(["start", id])
        XCTAssertEqual(started.status, 0, "start: \(started.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: harness.root + "/" + id + "/state.json")))
            as? [String: Any] ?? [:]
        let boot = Int32(record["pid"] as? Int ?? 0), gofer = Int32(record["goferPid"] as? Int ?? 0)
        guard boot > 0, gofer > 0 else { throw HarnessError("no boot/gofer pid in the state record: \(record)") }
        return Sandbox(id: id, volume: volume, rootfs: rootfs, stdout: stdout, stderr: stderr, boot: boot, gofer: gofer)
    }

    /// Runs `runsc --root ROOT arguments` with stdout and stderr in the given files (the sandbox keeps them
    /// open after create, so the app's output lands there too); returns the CLI's exit status.
    private func detached(_ arguments: [String], stdout: String, stderr: String) throws -> Int32 {
        FileManager.default.createFile(atPath: stdout, contents: nil)
        FileManager.default.createFile(atPath: stderr, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: harness.binary)
        process.arguments = ["--root", harness.root] + arguments
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: stdout)
        process.standardError = FileHandle(forWritingAtPath: stderr)
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Polls `condition` every 10 ms for at most `seconds`.
    private func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            usleep(10_000)
        } while Date() < deadline
        return false
    }

    private func status(_ id: String) throws -> String? { try harness.state(id)["status"] as? String }

    /// Host processes whose command line names the container (boot, gofer and stubs all carry its id).
    private func processes(of id: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let pid = Int32(name), let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(name)/cmdline")) else { return nil }
            let words = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.contains(id) ? pid : nil
        }
    }

    /// The boot's children (the ptrace stubs running the app) with their start times, taken while it runs:
    /// a stub's command line is not the boot's, so they are recognised by pid and start time afterwards.
    private var stubs: [Int32: UInt64] = [:]

    private func recordStubs(_ sandbox: Sandbox) {
        _ = eventually(5) { !Proc.children(of: sandbox.boot).isEmpty }
        for pid in Proc.children(of: sandbox.boot) { stubs[pid] = Proc.startTime(pid) }
        XCTAssertFalse(stubs.isEmpty, "the app runs in a stub of the boot")
    }

    /// delete succeeds, removes the state directory and every process of the sandbox; untouched files are intact.
    private func assertDeletedCleanly(_ sandbox: Sandbox, file: StaticString = #filePath, line: UInt = #line) throws {
        let delete = try harness.runsc(["delete", sandbox.id], timeout: 30)
        XCTAssertEqual(delete.status, 0, "delete: \(delete.stderr)", file: file, line: line)
        XCTAssertFalse(harness.stateDirectoryExists(sandbox.id), "the state directory is gone", file: file, line: line)
        var left: [Int32] = []
        _ = eventually(3) { left = processes(of: sandbox.id); return left.isEmpty }
        XCTAssertEqual(left, [], "processes of \(sandbox.id) left behind (boot \(sandbox.boot), gofer \(sandbox.gofer))",
                       file: file, line: line)
        var stubsLeft: [Int32] = []
        _ = eventually(3) {
            stubsLeft = stubs.keys.filter { pid in Proc.startTime(pid).map { $0 == stubs[pid] } ?? false }
            return stubsLeft.isEmpty
        }
        XCTAssertEqual(stubsLeft, [], "stubs left behind", file: file, line: line)
        for (path, bytes) in untouched {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes, "\(path) changed", file: file, line: line)
        }
    }

    /// The exitStatus of `runsc wait`'s JSON line.
    private func exitStatus(_ wait: CommandResult) -> Int? {
        (try? JSONSerialization.jsonObject(with: Data(wait.stdout.utf8)) as? [String: Any])?["exitStatus"] as? Int
    }

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    func testContainerKilledWhileWritingALargeFile() throws {
        let sandbox = try start("while :; do cat /bin/busybox >> /data/big.bin; cat /bin/busybox >> /tmp/big.bin; done")
        XCTAssertTrue(eventually(20) { fileSize(sandbox.volume + "/big.bin") > (4 << 20) }, "the container never wrote")
        XCTAssertEqual(Set(processes(of: sandbox.id)), [sandbox.boot, sandbox.gofer], "boot and gofer name the container")
        recordStubs(sandbox)

        let kill = try harness.runsc(["kill", sandbox.id, "KILL"])
        XCTAssertEqual(kill.status, 0, kill.stderr)
        XCTAssertTrue(try eventually(10) { try status(sandbox.id) == "stopped" }, "state after kill: \(((try? status(sandbox.id)) ?? nil) ?? "?")")
        let wait = try harness.runsc(["wait", sandbox.id], timeout: 30)
        XCTAssertEqual(wait.status, 0, wait.stderr)
        XCTAssertEqual(exitStatus(wait), 137, "wait reports death by SIGKILL: \(wait.stdout) \(wait.stderr)")
        // The file being written stays a readable prefix of whole writes' bytes (no garbage beyond them).
        let big = try Data(contentsOf: URL(fileURLWithPath: sandbox.volume + "/big.bin"))
        let busybox = try Data(contentsOf: URL(fileURLWithPath: "/bin/busybox"))
        XCTAssertEqual(big.prefix(busybox.count), busybox)
        try assertDeletedCleanly(sandbox)
    }

    func testGoferKilledFromTheHostMidRequest() throws {
        // Shell builtins only: once the Gofer is gone no program can be exec'd, but the loop goes on.
        let sandbox = try start("""
            i=0; fails=0
            while [ $fails -lt 20 ]; do
              n=$((i % 8))
              if echo $i > /data/f$n && read x < /data/f$n; then :; else fails=$((fails + 1)); fi
              i=$((i + 1))
            done
            echo "gave up after $fails failures"
            exit 3
            """)
        XCTAssertTrue(eventually(20) { fileSize(sandbox.volume + "/f7") > 0 }, "the container never wrote")
        recordStubs(sandbox)
        XCTAssertEqual(Glibc.kill(sandbox.gofer, SIGKILL), 0)

        // The app sees errors, not a hang: its loop ends and so does the sandbox.
        let wait = try harness.runsc(["wait", sandbox.id], timeout: 30)
        XCTAssertEqual(wait.status, 0, wait.stderr)
        XCTAssertEqual(exitStatus(wait), 3, "wait: \(wait.stdout)")
        XCTAssertTrue(try eventually(10) { try status(sandbox.id) == "stopped" })
        let out = try String(contentsOfFile: sandbox.stdout, encoding: .utf8)
        let err = try String(contentsOfFile: sandbox.stderr, encoding: .utf8)
        XCTAssertTrue(out.contains("gave up after 20 failures"), "stdout: \(out)\nstderr: \(err)")
        XCTAssertTrue(err.contains("Input/output error"), "the failed file operations report EIO: \(err)")
        try assertDeletedCleanly(sandbox)
    }

    func testSentryKilledFromTheHost() throws {
        let sandbox = try start("while :; do echo line >> /data/log.txt; done")
        XCTAssertTrue(eventually(20) { fileSize(sandbox.volume + "/log.txt") > 0 }, "the container never wrote")
        recordStubs(sandbox)
        XCTAssertEqual(Glibc.kill(sandbox.boot, SIGKILL), 0)

        XCTAssertTrue(try eventually(10) { try status(sandbox.id) == "stopped" }, "state: \(((try? status(sandbox.id)) ?? nil) ?? "?")")
        let wait = try harness.runsc(["wait", sandbox.id], timeout: 30)
        XCTAssertEqual(wait.status, 0, wait.stderr)
        XCTAssertEqual(exitStatus(wait), 137, "wait reports the sandbox killed: \(wait.stdout) \(wait.stderr)")
        // The log holds whole lines only.
        let log = try String(contentsOfFile: sandbox.volume + "/log.txt", encoding: .utf8)
        XCTAssertTrue(log.split(separator: "\n", omittingEmptySubsequences: false).dropLast().allSatisfy { $0 == "line" })
        try assertDeletedCleanly(sandbox)
    }
}
