// The attack suite (issue 6): hostile programs run on a real Sentry, and each attack is first shown to work
// against a plain host process where that can be done safely, so every test can fail.
import Foundation
import XCTest
@testable import Sentry

/// A scratch area: `root` is the sandbox's root (only the attack programs and empty mount points), `host` is a
/// directory beside it that the sandbox must never reach, holding a canary file and a victim file.
final class AttackArea {
    let base: String
    var root: String { base + "/root" }
    var host: String { base + "/host" }

    init() throws {
        base = NSTemporaryDirectory() + "attack-\(UUID().uuidString)"
        let fm = FileManager.default
        for d in ["root/proc", "root/dev", "root/tmp", "root/sys", "host"] {
            try fm.createDirectory(atPath: base + "/" + d, withIntermediateDirectories: true)
        }
        try resetHost()
    }
    deinit { try? FileManager.default.removeItem(atPath: base) }

    func resetHost() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: host)
        try fm.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "original\n".write(toFile: host + "/canary", atomically: false, encoding: .utf8)
        try "victim\n".write(toFile: host + "/victim", atomically: false, encoding: .utf8)
    }

    /// The host directory as names and contents: what an escape would change.
    func hostState() throws -> [String: String] {
        var state: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: host) {
            state[name] = (try? String(contentsOfFile: host + "/" + name, encoding: .utf8)) ?? "<dir>"
        }
        return state
    }

    static let pristine = ["canary": "original\n", "victim": "victim\n"]

    /// Compiles programs/NAME.c static (the root has no C library) into the sandbox root; returns its path in
    /// the sandbox ("/NAME") and on the host.
    func install(_ name: String, flags: [String] = []) throws -> (inside: String, host: String) {
        let built = try TestPrograms.build(name, flags: ["-static"] + flags)
        let dest = root + "/" + name
        try? FileManager.default.removeItem(atPath: dest)
        try FileManager.default.moveItem(atPath: built, toPath: dest)
        return ("/" + name, dest)
    }
}

/// Runs a host program natively and returns its stdout and exit code.
func runNative(_ path: String, _ args: [String]) throws -> (stdout: String, status: Int32) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let pipe = Foundation.Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (String(decoding: data, as: UTF8.self), p.terminationStatus)
}

/// ATTACK_VERBOSE=1 in the test's environment makes the probers name each attempt on stderr.
let attackEnv = ProcessInfo.processInfo.environment["ATTACK_VERBOSE"] != nil ? ["ATTACK_VERBOSE=1"] : []

final class AttackTests: XCTestCase {
    /// Raw `syscall` for 0..450 (three argument sets each), 13 edge numbers and random ones, garbage arguments, each in a child; plus
    /// path escapes aimed at a host directory beside the root. The fuzzing half has no native baseline: garbage
    /// syscalls as root on the host could damage the machine; the path half does.
    func testRawSyscallsWithGarbageNeverCrashTheSentryOrReachTheHost() throws {
        let area = try AttackArea()
        let prog = try area.install("attack_syscalls", flags: ["-no-pie"])

        // Native baseline: the same path attacks reach the host directory.
        let native = try runNative(prog.host, ["host", area.host, "0"])
        XCTAssertEqual(native.status, 0)
        XCTAssertTrue(native.stdout.contains("REACHED create"), native.stdout)
        let nativeState = try area.hostState()
        XCTAssertEqual(nativeState["canary"], "pwned", "\(nativeState)")
        XCTAssertNil(nativeState["victim"])
        XCTAssertNotNil(nativeState["new0"])
        try area.resetHost()

        var hostname = [CChar](repeating: 0, count: 256)
        gethostname(&hostname, 255)
        let before = Date()
        let randomCount = 500
        let r = try SentryHarness.run([prog.inside, "all", area.host, String(randomCount)], root: area.root, env: attackEnv)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(r.status, .exited(0), r.stdout + r.stderr)
        XCTAssertEqual(lines.first, "path attacks reached=0", r.stdout)
        XCTAssertTrue(lines.contains("alive=1"), r.stdout)
        let tried = 3 * 451 + 13 + randomCount
        XCTAssertEqual(lines.last?.hasPrefix("tried=\(tried) "), true, r.stdout)
        XCTAssertEqual(try area.hostState(), AttackArea.pristine, "a syscall reached the host directory")
        var after = [CChar](repeating: 0, count: 256)
        gethostname(&after, 255)
        XCTAssertEqual(String(cString: hostname), String(cString: after), "the host's hostname changed")
        XCTAssertLessThan(abs(Date().timeIntervalSince(before)), 600, "the host clock moved")
        if !attackEnv.isEmpty { print(r.stdout) }
        print("attack_syscalls: \(tried) syscalls tried, 0 crashed the Sentry, 0 reached the host; \(lines.last ?? "")")
    }

    /// Page 0, the ptrace stub region above the stack, unmapping everything, and hostile pointers. Natively (as
    /// root) page 0 can be mapped and the whole range above the stack is free; in the sandbox page 0 is refused,
    /// the reserved region is out of reach, and every pointer check gives the errno Linux gives.
    func testMemoryAndPointerAttacks() throws {
        let area = try AttackArea()
        let prog = try area.install("attack_memory")
        let native = try runNative(prog.host, [])
        XCTAssertEqual(native.status, 0)
        let nativeLines = native.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(nativeLines.contains("mmap-fixed-0=ok"), native.stdout)  // the attack works natively

        let r = try SentryHarness.run([prog.inside], root: area.root, env: attackEnv)
        XCTAssertEqual(r.status, .exited(0), r.stdout + r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // Where the sandbox must differ from a root process on the host.
        let expected = ["mmap-fixed-0=EPERM", "mmap-fixed-page1=EPERM", "mprotect-0=ENOMEM"]
        for e in expected { XCTAssertTrue(lines.contains(e), "\(e) missing in\n\(r.stdout)") }
        let above = lines.first { $0.hasPrefix("above-stack ") } ?? ""
        XCTAssertTrue(above.hasSuffix(" refused-from=yes mapped-above-refusal=0"), above)
        for name in ["fixed-noreplace-limit", "mprotect-limit", "mremap-into-limit", "brk-to-limit"] {
            let line = lines.first { $0.hasPrefix(name + "=") } ?? "\(name) missing"
            XCTAssertFalse(line.hasSuffix("=ok"), line)
        }
        XCTAssertTrue(lines.contains("alive-after-limit=1"), r.stdout)
        // Everything else, the pointer checks above all, must match Linux line for line.
        let skip = Set(expected.map { String($0.split(separator: "=")[0]) } + ["above-stack", "fixed-noreplace-limit",
                       "mprotect-limit", "mremap-into-limit", "brk-to-limit", "alive-after-limit"])
        func comparable(_ ls: [String]) -> [String] {
            ls.filter { l in !skip.contains(where: { l.hasPrefix($0 + "=") || l.hasPrefix($0 + " ") }) }
        }
        XCTAssertEqual(comparable(lines), comparable(nativeLines))
        XCTAssertEqual(lines.last, "done")
        if !attackEnv.isEmpty { print(r.stdout) }
        print("attack_memory: \(lines.count - 1) memory and pointer attacks tried, 0 crashed the Sentry, 0 got through")
    }

    /// A fork bomb and a memory bomb: natively (no limit) both reach their cap; in a sandbox with a pids
    /// limit of 24 and a memory limit of 96 MiB they stop early with EAGAIN and ENOMEM, the app goes on
    /// (it can still fork afterwards), and the Sentry is unharmed.
    func testForkAndMemoryBombsAreBoundedByTheLimits() throws {
        let prog = try TestPrograms.build("attack_bombs")
        defer { unlink(prog) }
        let nativeFork = try runNative(prog, ["fork", "64"])
        XCTAssertEqual(nativeFork.stdout, "forked=64 stopped=cap reaped=64\nfork-after=7\n", "native baseline")
        let nativeMemory = try runNative(prog, ["memory", "256"])
        XCTAssertEqual(nativeMemory.stdout, "held=256 stopped=cap\n", "native baseline")

        let forks = try SentryHarness.run([prog, "fork", "64"]) { $0.pidsLimit = 24 }
        XCTAssertEqual(forks.status, .exited(0), forks.stderr)
        let forkLines = forks.stdout.split(separator: "\n").map(String.init)
        let made = Int(forkLines.first?.split(separator: " ").first?.dropFirst("forked=".count) ?? "") ?? -1
        XCTAssertTrue(made > 0 && made < 24, forks.stdout)
        XCTAssertTrue(forkLines.first?.contains("stopped=EAGAIN reaped=\(made)") == true, forks.stdout)
        XCTAssertEqual(forkLines.last, "fork-after=7", "the sandbox must fork again once the bomb is gone")

        let memory = try SentryHarness.run([prog, "memory", "256"], memoryLimit: 96 << 20)
        XCTAssertEqual(memory.status, .exited(0), memory.stderr)
        let held = Int(memory.stdout.split(separator: " ").first?.dropFirst("held=".count) ?? "") ?? -1
        XCTAssertTrue(held > 0 && held < 96, memory.stdout)
        XCTAssertTrue(memory.stdout.hasSuffix("stopped=ENOMEM\n"), memory.stdout)
        print("attack_bombs: fork bomb stopped at \(made) of 64 (pids limit 24), memory bomb at \(held) MiB of 256 (limit 96 MiB)")
    }

    /// Descriptors, a 300-child fork storm, signals at a host process, ptrace/process_vm_* at other processes,
    /// namespace/mount/chroot climbing, writes to kernel knobs. Natively (as root) the signal kills the helper,
    /// ptrace and process_vm_* work on a child, unshare works and a leaked descriptor is seen.
    func testProcessAttacks() throws {
        let area = try AttackArea()
        let prog = try area.install("attack_process")
        func helper() throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sleep")
            p.arguments = ["60"]
            try p.run()
            return p
        }
        let nativeHelper = try helper()
        let native = try runNative("/bin/sh", ["-c", "exec 7</dev/null; exec \(prog.host) native \(nativeHelper.processIdentifier) \(getpid()) \(area.host)"])
        nativeHelper.waitUntilExit()
        XCTAssertEqual(nativeHelper.terminationReason, .uncaughtSignal, "the native run should have killed its helper")
        let nativeLines = native.stdout.split(separator: "\n").map(String.init)
        for line in ["kill-helper-KILL=ok", "ptrace-attach-child=ok", "process_vm_readv-child=ok", "unshare-mnt=ok", "canary-reachable=1"] {
            XCTAssertTrue(nativeLines.contains(line), "native baseline: \(line) missing in\n\(native.stdout)")
        }
        XCTAssertTrue(nativeLines.first?.contains(",7") == true, "native baseline: the leaked fd 7 was not seen: \(native.stdout)")

        let sandboxHelper = try helper()
        defer { sandboxHelper.terminate(); sandboxHelper.waitUntilExit() }
        let r = try SentryHarness.run([prog.inside, "sandbox", String(sandboxHelper.processIdentifier), String(getpid()), area.host],
                                      root: area.root, env: attackEnv)
        XCTAssertEqual(r.status, .exited(0), r.stdout + r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "open-fds=0,1,2", "descriptors leak into the app")
        XCTAssertTrue(lines.contains("storm forked=300 failed=0 reaped=300 echild=1"), r.stdout)
        XCTAssertTrue(sandboxHelper.isRunning, "a signal from the sandbox reached a host process")
        // The storm used sandbox pids up to ~310: a host pid above that names no sandbox process.
        if sandboxHelper.processIdentifier > 1000 {
            for name in ["kill-helper-0", "kill-helper-KILL", "sigqueue-helper", "tgkill-helper", "pidfd-open-helper"] {
                XCTAssertTrue(lines.contains(name + "=ESRCH") || lines.contains(name + "=ENOSYS"), "\(name): \(r.stdout)")
            }
        }
        let refused = ["process_vm_readv-child", "process_vm_writev-child", "ptrace-attach-child", "ptrace-attach-1",
                       "process_vm_readv-1", "unshare-mnt", "unshare-user", "setns",
                       "pivot_root", "open-by-handle", "write/proc/sysrq-trigger", "write/sys/kernel/uevent_helper",
                       "write/dev/mem", "write/dev/kmem", "write/dev/port", "write/proc/kcore",
                       "write/sys/fs/cgroup/cgroup.procs", "write/proc/sys/kernel/core_pattern"]
        for name in refused {
            let line = lines.first { $0.hasPrefix(name + "=") }
            XCTAssertNotNil(line, "\(name) missing in\n\(r.stdout)")
            XCTAssertNotEqual(line, name + "=ok", "\(name) got through")
        }
        // mount(2) works for the container's root (CAP_SYS_ADMIN), but only in the Sentry's own tree: a tmpfs
        // or a bind of "/" over /tmp must leave the host's canary as unreachable as before.
        for name in ["mount-tmpfs", "mount-bind-root"] {
            XCTAssertNotNil(lines.first { $0.hasPrefix(name + "=") }, "\(name) missing in\n\(r.stdout)")
        }
        XCTAssertTrue(lines.contains("canary-after-climbing=0"), r.stdout)
        XCTAssertTrue(lines.contains("canary-reachable=0"), r.stdout)
        XCTAssertEqual(try area.hostState(), AttackArea.pristine)
        XCTAssertEqual(lines.last, "done")
        if !attackEnv.isEmpty { print(r.stdout) }
        print("attack_process: 300 forks, \(refused.count + 6) process/namespace/knob attacks tried, 0 crashed the Sentry, 0 got through")
    }
}
