import Foundation
import XCTest
@testable import Sentry

final class SentryRunTests: XCTestCase {
    func testBusyboxEcho() throws {
        let r = try SentryHarness.run(["/bin/busybox", "echo", "hello"])
        XCTAssertEqual(r.stdout, "hello\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}

final class SentryProgramTests: XCTestCase {
    func testShellPipeline() throws {
        let r = try SentryHarness.run(["/bin/busybox", "sh", "-c", "/bin/busybox ls / | /bin/busybox wc -l"])
        let native = try shell("/bin/busybox ls / | /bin/busybox wc -l")
        XCTAssertEqual(r.stdout, native)
        XCTAssertEqual(r.status, .exited(0))
    }

    func testExitCode() throws {
        XCTAssertEqual(try SentryHarness.run(["/bin/busybox", "sh", "-c", "exit 3"]).status, .exited(3))
    }

    func testDeathBySignal() throws {
        XCTAssertEqual(try SentryHarness.run(["/bin/busybox", "sh", "-c", "kill -9 $$"]).status, .signaled(9, coreDumped: false))
    }

    func testDynamicBinary() throws {
        let r = try SentryHarness.run(["/bin/ls", "/"])
        XCTAssertEqual(r.stdout, try shell("/bin/ls /"))
        XCTAssertEqual(r.status, .exited(0))
    }

    func testUnameIsNotTheHost() throws {
        let r = try SentryHarness.run(["/bin/busybox", "uname", "-r"])
        XCTAssertEqual(r.stdout, "4.4.0\n")
        let v = try SentryHarness.run(["/bin/busybox", "cat", "/proc/version"])
        XCTAssertTrue(v.stdout.hasPrefix("Linux version 4.4.0"), v.stdout)
    }

    private func shell(_ command: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = URL(fileURLWithPath: "/")
        let pipe = Foundation.Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
