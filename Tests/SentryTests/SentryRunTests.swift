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

/// Compiles a C program from Tests/SentryTests/programs with the host's gcc into a temp dir.
enum TestPrograms {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("programs")

    static func build(_ name: String, flags: [String] = []) throws -> String {
        let output = NSTemporaryDirectory() + "sentry-prog-\(name)-\(getpid())"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        p.arguments = ["-O2", "-o", output, directory.appendingPathComponent(name + ".c").path] + flags
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SentryError("gcc failed for \(name).c") }
        return output
    }
}

final class SentryThreadTests: XCTestCase {
    func testPthreadsShareMemoryAndSynchronize() throws {
        let prog = try TestPrograms.build("threads", flags: ["-pthread"])
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "counter=40000 tls-sum=20\nping-pong done\nmapped by a thread\ntid!=pid: 1\n")
        XCTAssertEqual(r.status, .exited(0))
    }

    func testPythonThreadsSubprocessSignalsAndMmap() throws {
        let script = """
        import threading, subprocess, os, signal, mmap
        out = []
        ts = [threading.Thread(target=lambda i=i: out.append(i * i)) for i in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
        print("threads", sorted(out))
        print("subprocess", subprocess.run(["/bin/echo", "hi"], capture_output=True, text=True).stdout.strip())
        got = []
        signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
        os.kill(os.getpid(), signal.SIGUSR1)
        print("signal", got)
        m = mmap.mmap(-1, 4096); m.write(b"hello"); m.seek(0); print("mmap", m.read(5))
        """
        let r = try SentryHarness.run(["/usr/bin/python3", "-c", script])
        XCTAssertEqual(r.stdout, "threads [0, 1, 4, 9, 16, 25, 36, 49]\nsubprocess hi\nsignal [10]\nmmap b'hello'\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }
}

final class SentryMemoryTests: XCTestCase {
    func testCopyOnWriteAcrossFork() throws {
        let prog = try TestPrograms.build("cow")
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "cow ok\n")
        XCTAssertEqual(r.status, .exited(0))
    }

    func testProcSelfMapsShowsTheVMAs() throws {
        let r = try SentryHarness.run(["/bin/busybox", "cat", "/proc/self/maps"])
        XCTAssertTrue(r.stdout.contains("[stack]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("/bin/busybox") || r.stdout.contains("/usr/bin/busybox"), r.stdout)
        XCTAssertEqual(r.status, .exited(0))
    }
}
