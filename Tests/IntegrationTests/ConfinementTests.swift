// The walls of our own processes, inspected from outside through /proc while a real container runs:
// the Sentry (boot), its ptrace stubs and the Gofer. Each check compares with what an unconfined process
// (this test) has, so it fails if the wall is missing.
import Foundation
import XCTest

final class ConfinementTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// One running container (`sleep 100`), with the pids of its boot, gofer and stubs.
    struct Sandbox {
        var id: String
        var rootfs: String
        var stateDir: String
        var boot: Int32
        var gofer: Int32
        var stubs: [Int32]
    }

    func startSandbox(id: String, globalFlags: [String] = []) throws -> Sandbox {
        let bundle = try harness.makeBusyboxBundle(name: "bundle-" + id, args: ["sleep", "100"])
        let create = try harness.runsc(globalFlags + ["create", "--bundle", bundle, id])
        XCTAssertEqual(create.status, 0, "create: \(create.stderr)")
        let start = try harness.runsc(["start", id])
        XCTAssertEqual(start.status, 0, "start: \(start.stderr)")
        let stateDir = harness.root + "/" + id
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stateDir + "/state.json")))
            as? [String: Any] ?? [:]
        let boot = Int32(record["pid"] as? Int ?? 0), gofer = Int32(record["goferPid"] as? Int ?? 0)
        guard boot > 0, gofer > 0 else { throw HarnessError("no boot/gofer pid in the state record: \(record)") }
        // The app (sleep) runs in a stub. A stub is briefly untraced and unfiltered between its clone and
        // its own PTRACE_TRACEME/seccomp setup, so wait (at most 5 s) until each one has settled; the
        // assertions then catch stubs that never do.
        var stubs: [Int32] = []
        for _ in 0..<500 {
            stubs = Proc.children(of: boot)
            let settled = stubs.allSatisfy { stub in
                let status = Proc.status("/proc/\(stub)/status")
                return status["TracerPid"] != "0" && status["Seccomp"] == "2"
            }
            if !stubs.isEmpty && settled { break }
            usleep(10_000)
        }
        let rootfs = URL(fileURLWithPath: bundle + "/rootfs").resolvingSymlinksInPath().path
        return Sandbox(id: id, rootfs: rootfs, stateDir: stateDir, boot: boot, gofer: gofer, stubs: stubs)
    }

    func testSentryIsConfined() throws {
        let sandbox = try startSandbox(id: "wall-sentry")
        let boot = sandbox.boot

        // Every namespace differs from ours (the test runs in the host's).
        for ns in ["user", "pid", "ipc", "uts", "mnt", "net"] {
            let theirs = Proc.link("/proc/\(boot)/ns/\(ns)"), ours = Proc.link("/proc/self/ns/\(ns)")
            XCTAssertNotNil(theirs, "ns/\(ns) of the boot is unreadable")
            XCTAssertNotEqual(theirs, ours, "the Sentry shares the host's \(ns) namespace")
        }
        // Its root is the empty tmpfs of Confinement.enterEmptyRoot.
        let rootEntries = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(boot)/root")
        XCTAssertEqual(rootEntries, [], "the Sentry's root is not empty")

        // Every thread (TSYNC): no_new_privs, seccomp filter mode, no capability at all.
        let threads = Proc.threads(of: boot)
        XCTAssertFalse(threads.isEmpty)
        for tid in threads {
            let status = Proc.status("/proc/\(boot)/task/\(tid)/status")
            XCTAssertEqual(status["NoNewPrivs"], "1", "thread \(tid)")
            XCTAssertEqual(status["Seccomp"], "2", "thread \(tid)")
            for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
                XCTAssertEqual(status[set], "0000000000000000", "thread \(tid): \(set)")
            }
        }

        // Descriptors: only what it was handed. Regular files and directories must be the state directory's
        // files, its stdio (the harness's output files and /dev/null) or files the Gofer donated from the
        // rootfs, never anything else of the host.
        let stdio = ((try? FileManager.default.contentsOfDirectory(atPath: harness.workDir)) ?? [])
            .filter { $0.hasPrefix("out-") || $0.hasPrefix("err-") }.map { harness.workDir + "/" + $0 }
        let allowed = Proc.identities(inDirectories: [sandbox.stateDir]).union(Proc.identities(of: stdio + ["/dev/null"]))
        var kinds: [String: Int] = [:]
        for (fd, target) in Proc.descriptors(of: boot) {
            let kind = Proc.classify(target)
            kinds[kind, default: 0] += 1
            guard kind == "path" else { continue }
            var st = stat()
            XCTAssertEqual(stat("/proc/\(boot)/fd/\(fd)", &st), 0, "fd \(fd) -> \(target)")
            let identity = Proc.Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
            // Files the Gofer donated name a path of the rootfs (shown relative to the Gofer's root).
            let donated = Proc.identities(of: [sandbox.rootfs + target], following: false).contains(identity)
            XCTAssertTrue(allowed.contains(identity) || donated, "the Sentry holds host file fd \(fd) -> \(target)")
        }
        XCTAssertEqual(kinds["memfd"], 1, "exactly one MemoryFile expected: \(kinds)")
        XCTAssertGreaterThanOrEqual(kinds["socket"] ?? 0, 2, "gofer channel and control socket: \(kinds)")

        // Its stubs are traced by one of its threads and filtered themselves.
        XCTAssertFalse(sandbox.stubs.isEmpty, "no stub process under the boot \(boot)")
        for stub in sandbox.stubs {
            let status = Proc.status("/proc/\(stub)/status")
            let tracer = Int32(status["TracerPid"] ?? "") ?? 0
            XCTAssertTrue(threads.contains(tracer), "stub \(stub) traced by \(tracer), not by a Sentry thread \(threads)")
            XCTAssertEqual(status["Seccomp"], "2", "stub \(stub)")
            XCTAssertEqual(status["NoNewPrivs"], "1", "stub \(stub)")
            XCTAssertEqual(status["CapEff"], "0000000000000000", "stub \(stub)")
            XCTAssertEqual(Proc.link("/proc/\(stub)/ns/user"), Proc.link("/proc/\(boot)/ns/user"), "stub \(stub)")
        }
    }

    func testGoferIsConfined() throws {
        let sandbox = try startSandbox(id: "wall-gofer")
        let gofer = sandbox.gofer

        XCTAssertNotEqual(Proc.link("/proc/\(gofer)/ns/mnt"), Proc.link("/proc/self/ns/mnt"), "gofer shares our mount ns")
        // Its root is the bundle's rootfs, nothing of the host's other directories.
        let served = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(gofer)/root"))
        let bundle = Set(try FileManager.default.contentsOfDirectory(atPath: sandbox.rootfs))
        XCTAssertEqual(served, bundle, "the gofer's root is not the container's rootfs")
        XCTAssertFalse(served.contains("usr"), "the host's /usr is visible to the gofer")

        let status = Proc.status("/proc/\(gofer)/status")
        XCTAssertEqual(status["Seccomp"], "2")
        XCTAssertEqual(status["NoNewPrivs"], "1")

        // With --network=none (the only mode) it has its own network namespace holding only loopback.
        XCTAssertNotEqual(Proc.link("/proc/\(gofer)/ns/net"), Proc.link("/proc/self/ns/net"), "gofer shares the host's network")
        let devices = try String(contentsOfFile: "/proc/\(gofer)/net/dev", encoding: .utf8)
            .split(separator: "\n").dropFirst(2)
            .compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(devices, ["lo"], "the gofer sees network interfaces")

        // Its one socket is the channel to the Sentry.
        let descriptors = Proc.descriptors(of: gofer)
        let sockets = descriptors.filter { Proc.classify($0.target) == "socket" }
        XCTAssertEqual(sockets.count, 1, "gofer descriptors: \(descriptors)")
        // Every other descriptor above stdio is a file of the served tree: the name it shows (relative to the
        // gofer's root) leads, inside that root, to the very same file.
        for (fd, target) in descriptors where fd > 2 && Proc.classify(target) == "path" {
            let held = Proc.identities(of: ["/proc/\(gofer)/fd/\(fd)"])
            XCTAssertFalse(held.isEmpty, "fd \(fd)")
            // lstat: an O_PATH descriptor of a symlink names the link itself, as does stat through /proc/PID/fd.
            XCTAssertEqual(held, Proc.identities(of: ["/proc/\(gofer)/root" + target], following: false),
                           "gofer fd \(fd) -> \(target) is not a file of the container's root")
        }
    }

    func testDebugLogNamesTheFiltersOfBothRoles() throws {
        let logDir = harness.workDir + "/debug-logs"
        let sandbox = try startSandbox(id: "wall-log", globalFlags: ["--debug", "--debug-log", logDir])
        let logs = try FileManager.default.contentsOfDirectory(atPath: logDir)
        func log(_ suffix: String) throws -> String {
            guard let name = logs.first(where: { $0.hasSuffix(sandbox.id + "." + suffix + ".log") }) else {
                throw HarnessError("no \(suffix) log in \(logs)")
            }
            return try String(contentsOfFile: logDir + "/" + name, encoding: .utf8)
        }
        let boot = try log("boot")
        XCTAssertTrue(boot.contains("seccomp allowlist installed ("), boot)
        XCTAssertTrue(boot.contains(" ptrace "), "the boot's rule list is missing: \(boot)")
        let gofer = try log("gofer")
        XCTAssertTrue(gofer.contains("gofer \(sandbox.id): seccomp allowlist"), gofer)
        // The gofer's log descriptor is closed before it confines itself.
        let goferFiles = Proc.descriptors(of: sandbox.gofer).filter { Proc.classify($0.target) == "path" }
        XCTAssertEqual(goferFiles.map(\.target).filter { $0.contains("debug-logs") }, [])
    }

    func testAppSeesOnlySandboxProcessesAndCannotSignalTheHost() throws {
        let me = getpid()
        let bundle = try harness.makeBusyboxBundle(
            args: ["sh", "-c", "ls /proc; kill -0 \(me) && echo signalled-host || echo refused"])
        let result = try harness.runsc(["run", "--bundle", bundle, "wall-procs"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let pids = lines.compactMap { Int32($0) }
        let hostPids = (try FileManager.default.contentsOfDirectory(atPath: "/proc")).compactMap { Int32($0) }
        XCTAssertGreaterThan(hostPids.count, 10, "the host has processes to hide")
        XCTAssertFalse(pids.isEmpty, "no pid at all in the sandbox's /proc: \(result.stdout)")
        XCTAssertLessThanOrEqual(pids.count, 3, "the app sees more than its own processes: \(pids)")
        XCTAssertFalse(pids.contains(me), "the app sees the test's pid \(me)")
        XCTAssertEqual(lines.last, "refused", "kill -0 of a host pid: \(result.stdout) \(result.stderr)")
    }

    func testKillAndDeleteLeaveNoProcessBehind() throws {
        let sandbox = try startSandbox(id: "wall-kill")
        let everyone = [sandbox.boot, sandbox.gofer] + sandbox.stubs
        XCTAssertGreaterThanOrEqual(everyone.count, 3, "no stub found")
        let started = Dictionary(uniqueKeysWithValues: everyone.map { ($0, Proc.startTime($0)) })
        for pid in everyone { XCTAssertNotNil(started[pid] ?? nil, "pid \(pid) is not alive before kill") }

        XCTAssertEqual(try harness.runsc(["kill", sandbox.id, "KILL"]).status, 0)
        XCTAssertEqual(try harness.runsc(["wait", sandbox.id]).status, 0)
        let delete = try harness.runsc(["delete", sandbox.id])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        var left: [Int32] = []
        for _ in 0..<200 {
            // Same pid and start time and not a zombie: still our process.
            left = everyone.filter { pid in Proc.startTime(pid).map { $0 == started[pid] ?? nil } ?? false }
            if left.isEmpty { break }
            usleep(10_000)
        }
        XCTAssertEqual(left, [], "processes left behind (boot \(sandbox.boot), gofer \(sandbox.gofer), stubs \(sandbox.stubs))")
    }
}

/// Reading other processes through /proc.
enum Proc {
    struct Identity: Hashable { var device: UInt64; var inode: UInt64 }

    static func link(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }

    /// "Key:\tvalue" lines of a status file.
    static func status(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return result
    }

    static func threads(of pid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap { Int32($0) }
    }

    /// Live processes whose parent is `pid` (a scan of /proc: the per-thread `children` files can miss some).
    static func children(of pid: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { name in
            guard let child = Int32(name),
                  let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, fields[0] != "Z", Int32(fields[1]) == pid else { return nil }
            return child
        }
    }

    /// (fd, readlink target) of every open descriptor.
    static func descriptors(of pid: Int32) -> [(fd: Int32, target: String)] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap { name in
            guard let fd = Int32(name), let target = link("/proc/\(pid)/fd/\(name)") else { return nil }
            return (fd, target)
        }.sorted { $0.fd < $1.fd }
    }

    /// socket, pipe, anon (eventfd, epoll, pidfd...), memfd, or path (a file system object).
    static func classify(_ target: String) -> String {
        if target.hasPrefix("socket:") { return "socket" }
        if target.hasPrefix("pipe:") { return "pipe" }
        if target.hasPrefix("anon_inode:") { return "anon" }
        if target.hasPrefix("/memfd:") { return "memfd" }
        return "path"
    }

    static func identities(of paths: [String], following: Bool = true) -> Set<Identity> {
        Set(paths.compactMap { path in
            var st = stat()
            let rc = following ? stat(path, &st) : lstat(path, &st)
            return rc == 0 ? Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) : nil
        })
    }

    /// The directories themselves and the files directly in them.
    static func identities(inDirectories directories: [String]) -> Set<Identity> {
        identities(of: directories.flatMap { dir in
            [dir] + ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }
        })
    }

    /// Start time (field 22 of stat) of a live, non-zombie process; nil if gone.
    static func startTime(_ pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }
}
