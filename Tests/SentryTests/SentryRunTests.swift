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
        let native = try nativeOutput("/bin/busybox ls / | /bin/busybox wc -l")
        XCTAssertEqual(r.stdout, native)
        XCTAssertEqual(r.status, .exited(0))
    }

    func testExitCode() throws {
        XCTAssertEqual(try SentryHarness.run(["/bin/busybox", "sh", "-c", "exit 3"]).status, .exited(3))
    }

    func testDeathBySignal() throws {
        // A child killed by SIGKILL shows its parent 128+9; init itself dies of a fault it cannot ignore.
        let child = try SentryHarness.run(["/bin/busybox", "sh", "-c", "/bin/busybox sh -c 'kill -9 $$'; echo status=$?"])
        XCTAssertEqual(child.stdout, "status=137\n", child.stderr)
        let fault = try SentryHarness.run(["/usr/bin/python3", "-c", "import ctypes; ctypes.string_at(0)"])
        guard case .signaled(11, _) = fault.status else { return XCTFail("\(fault.status) \(fault.stderr)") }
    }

    /// Like a pid namespace's init on Linux, the container's init only gets the signals it handles (runc and
    /// `docker stop` rely on this: a `sleep` as init outlives SIGTERM and waits for the SIGKILL).
    func testInitIgnoresSignalsItDoesNotHandle() throws {
        let ignored = try SentryHarness.run(["/bin/busybox", "sh", "-c", "kill -9 $$; kill -TERM $$; kill -STOP 1; echo alive"])
        XCTAssertEqual(ignored.status, .exited(0), ignored.stderr)
        XCTAssertEqual(ignored.stdout, "alive\n")
        let handled = try SentryHarness.run(["/bin/busybox", "sh", "-c", "trap 'echo caught; exit 5' TERM; kill -TERM $$; sleep 5"])
        XCTAssertEqual(handled.status, .exited(5), handled.stderr)
        XCTAssertEqual(handled.stdout, "caught\n")
    }

    func testDynamicBinary() throws {
        let r = try SentryHarness.run(["/bin/ls", "/"])
        XCTAssertEqual(r.stdout, try nativeOutput("/bin/ls /"))
        XCTAssertEqual(r.status, .exited(0))
    }

    func testUnameIsNotTheHost() throws {
        let r = try SentryHarness.run(["/bin/busybox", "uname", "-r"])
        XCTAssertEqual(r.stdout, "4.4.0\n")
        let v = try SentryHarness.run(["/bin/busybox", "cat", "/proc/version"])
        XCTAssertTrue(v.stdout.hasPrefix("Linux version 4.4.0"), v.stdout)
    }
}

/// Compiles a C program from Tests/SentryTests/programs with the host's gcc into a temp dir.
enum TestPrograms {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("programs")

    /// Returns the path of the binary: `output`, or a fresh temp path.
    static func build(_ name: String, flags: [String] = [], output: String? = nil) throws -> String {
        let output = output ?? NSTemporaryDirectory() + "sentry-prog-\(name)-\(getpid())"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        p.arguments = ["-O2", "-o", output, directory.appendingPathComponent(name + ".c").path] + flags
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SentryError("gcc failed for \(name).c") }
        return output
    }

    /// Builds programs/NAME.c statically into a test root's /bin.
    static func build(_ name: String, into root: BusyboxRoot) throws {
        _ = try build(name, flags: ["-static", "-Wall"], output: root.path + "/bin/" + name)
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

final class SentrySignalTests: XCTestCase {
    func testJobControlAltStackSigqueueTimedwaitEINTRAndFaultAddress() throws {
        let prog = try TestPrograms.build("signals")
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, """
            stopped=1 sig=19
            continued=1
            exited=1 code=7
            on_alt=1
            value=1234
            sigtimedwait=12 pid-ok=1
            timeout=-1 errno-eagain=1
            read=-1 eintr=1
            segv-handler=42

            """)
        XCTAssertEqual(r.status, .exited(0))
    }

    func testBashTrapsWaitAndBackgroundJobs() throws {
        let script = """
            f() { echo "f:$1"; }
            trap 'echo trapped USR1' USR1
            f one
            (sleep 0.1; echo sub) &
            bg=$!
            kill -USR1 $$
            wait $bg; echo "bg status $?"
            ( exit 4 ); echo "subshell $?"
            echo a b c | tr ' ' '\\n' | sort -r | head -2
            trap 'echo bye' EXIT
            """
        let r = try SentryHarness.run(["/bin/bash", "-c", script])
        XCTAssertEqual(r.stdout, "f:one\ntrapped USR1\nsub\nbg status 0\nsubshell 4\nc\nb\nbye\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }
}

final class SentryCoreutilsTests: XCTestCase {
    /// Each command's output on the Sentry must equal its output natively (host root, read-only).
    func testCoreutilsMatchNativeOutput() throws {
        let big = ["/opt/swift/usr/bin/swift-frontend", "/usr/lib/x86_64-linux-gnu/libc.so.6"].first {
            FileManager.default.fileExists(atPath: $0)
        }!
        let commands = [
            "ls -la /usr/share/doc | head -40",
            "sort -r /etc/passwd | cut -d: -f1,3",
            "find /usr/share/doc -maxdepth 2 -name 'copyright' | sort | head -50",
            "tar -cf - -C /usr/share/doc/coreutils . | tar -tvf - | sort",
            "sha256sum \(big)",
            "cat /etc/os-release | grep -c =; wc -c /etc/services; head -c 100 /dev/zero | od -An -c | head -2",
            "stat -c '%n %s %F %a' /bin/bash /etc /etc/passwd; readlink -f /bin/sh",
            "seq 1 5000 | awk '{ s += $1 } END { print s }'; echo $((2 ** 20)); printf '%s\\n' b a c | sort | uniq -c",
        ]
        for command in commands {
            let native = try nativeOutput(command, shell: "/bin/bash")
            let r = try SentryHarness.run(["/bin/bash", "-c", command])
            XCTAssertEqual(r.stdout, native, "\(command)\n\(r.stderr)")
            XCTAssertEqual(r.status, .exited(0), command)
        }
    }
}

final class SentryToolchainTests: XCTestCase {
    /// gcc and make -j2 build a small project inside the sandbox; the outputs land in the in-memory overlay.
    func testGccAndParallelMake() throws {
        let dir = NSTemporaryDirectory() + "sentry-make-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "all: a.o b.o\n\tgcc a.o b.o -o prog\na.o: a.c\n\tgcc -c a.c\nb.o: b.c\n\tgcc -c b.c\n"
            .write(toFile: dir + "/Makefile", atomically: true, encoding: .utf8)
        try "#include <stdio.h>\nint f(void);\nint main(void) { printf(\"built %d\\n\", f()); return 0; }\n"
            .write(toFile: dir + "/a.c", atomically: true, encoding: .utf8)
        try "int f(void) { return 42; }\n".write(toFile: dir + "/b.c", atomically: true, encoding: .utf8)
        try "#include <stdio.h>\nint main(void) { puts(\"hello from cc\"); return 0; }\n"
            .write(toFile: dir + "/hello.c", atomically: true, encoding: .utf8)
        let r = try SentryHarness.run(["/bin/sh", "-c", "cc hello.c -o hello && ./hello && make -j2 >/dev/null && ./prog"], cwd: dir)
        XCTAssertEqual(r.stdout, "hello from cc\nbuilt 42\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0))
        // The host directory is unchanged: everything was written to the sandbox's overlay.
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/prog"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/hello"))
    }

    func testPythonMultiprocessingWithFork() throws {
        let script = """
        import multiprocessing as mp
        def sq(x): return x * x
        if __name__ == "__main__":
            with mp.get_context("fork").Pool(2) as p: print(p.map(sq, range(6)))
            q = mp.get_context("fork").Queue(); pr = mp.get_context("fork").Process(target=q.put, args=("child",)); pr.start()
            print(q.get()); pr.join(); print(pr.exitcode)
        """
        let r = try SentryHarness.run(["/usr/bin/python3", "-c", script])
        XCTAssertEqual(r.stdout, "[0, 1, 4, 9, 16, 25]\nchild\n0\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }
}

/// What `command` prints when run natively by `shell` from "/".
func nativeOutput(_ command: String, shell: String = "/bin/sh") throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: shell)
    p.arguments = ["-c", command]
    p.currentDirectoryURL = URL(fileURLWithPath: "/")
    let pipe = Foundation.Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

final class SentryABITests: XCTestCase {
    func testInt80IsRefusedWithENOSYS() throws {
        let prog = try TestPrograms.build("int80")
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "int80 getpid=-38\nint80 mkdir=-38\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}

extension SentryThreadTests {
    func testRobustMutexesReportOwnerDeath() throws {
        let prog = try TestPrograms.build("robust", flags: ["-pthread"])
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "thread owner died: EOWNERDEAD\nprocess owner died: EOWNERDEAD\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}

extension SentryThreadTests {
    func testPriorityInheritanceMutexes() throws {
        let prog = try TestPrograms.build("pimutex", flags: ["-pthread"])
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "pi counter=80000\ntrylock while held: EBUSY\nrobust pi: EOWNERDEAD\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}

extension SentryMemoryTests {
    func testResourceLimitsAreEnforced() throws {
        let prog = try TestPrograms.build("rlimits")
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "nofile: last=9 emfile=1\nas: enomem=1\nnproc: eagain=1\nraise hard: eperm=1\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}

extension SentryMemoryTests {
    func testSharedFileMappingsAreSharedAndWrittenBack() throws {
        let prog = try TestPrograms.build("mmapshared")
        defer { unlink(prog) }
        let r = try SentryHarness.run([prog])
        XCTAssertEqual(r.stdout, "parent sees child's write: yes\nfile after msync: child\nfile after munmap: later\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }
}

final class SentryProcMountsTests: XCTestCase {
    /// /proc/self/mounts and mountinfo list the mounts the Sentry made, each on the mount it sits on.
    func testMountsAndMountinfoFollowTheMountTree() throws {
        let r = try SentryHarness.run(["/bin/busybox", "sh", "-c", "cat /proc/self/mounts /proc/self/mountinfo"],
                                      mounts: [SentryMount(destination: "/dev/shm", source: .tmpfs, readOnly: false),
                                               SentryMount(destination: "/sys", source: .empty, readOnly: true)])
        XCTAssertEqual(r.stdout, """
            none / overlay rw,relatime 0 0
            proc /proc proc rw,relatime 0 0
            none /dev devtmpfs rw,relatime 0 0
            none /dev/shm tmpfs rw,relatime 0 0
            none /sys tmpfs ro,relatime 0 0
            1 0 0:21 / / rw,relatime - overlay none rw,relatime
            2 1 0:22 / /proc rw,relatime - proc proc rw,relatime
            3 1 0:23 / /dev rw,relatime - devtmpfs none rw,relatime
            4 3 0:24 / /dev/shm rw,relatime - tmpfs none rw,relatime
            5 1 0:25 / /sys ro,relatime - tmpfs none ro,relatime

            """, r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }
}
