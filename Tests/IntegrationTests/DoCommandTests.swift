// `runsc do`: commands over the host's root print what they print natively and exit with their status.
import Foundation
import XCTest

final class DoCommandTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    func testEchoHello() throws {
        let result = try harness.runsc(["do", "/bin/busybox", "echo", "hello"])
        XCTAssertEqual(result.stdout, "hello\n", result.stderr)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func testPipelineMatchesNativeOutput() throws {
        let command = ["/bin/busybox", "sh", "-c", "ls / | wc -l"]
        let native = try harness.run(command[0], Array(command.dropFirst()))
        XCTAssertEqual(native.status, 0)
        let sandboxed = try harness.runsc(["do"] + command)
        XCTAssertEqual(sandboxed.stdout, native.stdout, sandboxed.stderr)
        XCTAssertEqual(sandboxed.status, 0, sandboxed.stderr)
    }

    /// `do` writes go to the in-memory overlay: the command sees them, the host never does.
    func testWritesStayInTheSandbox() throws {
        let probe = "/tmp/runsc-do-probe-\(getpid())"
        let result = try harness.runsc(["do", "/bin/sh", "-c", "echo inside > \(probe) && cat \(probe) && rm /etc/hostname && ls /etc/hostname"])
        XCTAssertEqual(result.stdout, "inside\n", result.stderr)
        XCTAssertNotEqual(result.status, 0)  // ls of the removed file fails inside
        XCTAssertFalse(FileManager.default.fileExists(atPath: probe))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/hostname"))
    }

    func testExitCodeIsTheApps() throws {
        let result = try harness.runsc(["do", "/bin/busybox", "sh", "-c", "exit 3"])
        XCTAssertEqual(result.status, 3, result.stderr)
    }

    func testDeathBySignalExits128PlusN() throws {
        // init cannot be killed from inside by a signal it does not handle (Linux's rule for a pid
        // namespace's init), but a fault ends it.
        let result = try harness.runsc(["do", "/usr/bin/python3", "-c", "import ctypes; ctypes.string_at(0)"])
        XCTAssertEqual(result.status, 139, result.stderr)
    }

    func testUnameDoesNotShowHostKernel() throws {
        let host = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try harness.runsc(["do", "uname", "-r"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let release = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(release.isEmpty, "uname -r printed nothing; stderr: \(result.stderr)")
        XCTAssertNotEqual(release, host)
    }

    func testProcVersionDoesNotShowHostKernel() throws {
        let host = try String(contentsOfFile: "/proc/version", encoding: .utf8)
        let hostRelease = try String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let result = try harness.runsc(["do", "cat", "/proc/version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("Linux version "), result.stdout + result.stderr)
        XCTAssertNotEqual(result.stdout, host)
        XCTAssertFalse(result.stdout.contains(hostRelease), result.stdout)
    }

    func testDoLeavesNoState() throws {
        _ = try harness.runsc(["do", "/bin/busybox", "true"])
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: harness.root)) ?? []
        XCTAssertEqual(leftovers, [])
    }
}
