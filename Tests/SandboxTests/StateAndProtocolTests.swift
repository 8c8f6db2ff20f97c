import FoundationEssentials
import Glibc
import XCTest
import LinuxABI
import OCI
@testable import Sandbox

final class StateStoreTests: XCTestCase {
    var root: String!

    override func setUp() {
        root = "/tmp/runsc-statestore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() { Sys.removeTree(root) }

    func testCreateSaveLoadRemove() throws {
        let store = StateStore(root: root)
        let lock = try store.createDirectory(id: "c1")
        let record = ContainerRecord(id: "c1", status: .created, pid: 42, bundle: "/b", rootfs: "/b/rootfs",
                                     created: "2026-01-01T00:00:00.000000000Z", annotations: ["k": "v"])
        try store.save(record)
        XCTAssertEqual(try store.load(id: "c1"), record)
        XCTAssertEqual(store.ids(), ["c1"])
        _ = lock
        store.remove(id: "c1")
        XCTAssertEqual(store.ids(), [])
        XCTAssertThrowsError(try store.load(id: "c1")) { XCTAssertEqual("\($0)", "container \"c1\" does not exist") }
    }

    func testDuplicateID() throws {
        let store = StateStore(root: root)
        _ = try store.createDirectory(id: "dup")
        XCTAssertThrowsError(try store.createDirectory(id: "dup")) {
            XCTAssertEqual("\($0)", "container \"dup\" already exists")
        }
    }

    func testSaveIsAtomicAndLeavesNoTemporaryFiles() throws {
        let store = StateStore(root: root)
        _ = try store.createDirectory(id: "a")
        for pid in 1...20 {
            try store.save(ContainerRecord(id: "a", status: .running, pid: Int32(pid), bundle: "/b", rootfs: "/r", created: "t"))
        }
        XCTAssertEqual(try store.load(id: "a").pid, 20)
        let entries = try FileManager.default.contentsOfDirectory(atPath: store.directory(of: "a"))
        XCTAssertEqual(entries, [StateStore.stateFile])
    }

    func testInvalidIDs() {
        for id in ["", ".", "..", "a/b", "../x", "a b", "x\n"] {
            XCTAssertThrowsError(try StateStore.validateID(id), "id \(id.debugDescription)")
        }
        for id in ["abc", "A-b_c.d+e", String(repeating: "f", count: 64)] {
            XCTAssertNoThrow(try StateStore.validateID(id))
        }
    }

    func testCorruptStateFileIsReported() throws {
        let store = StateStore(root: root)
        _ = try store.createDirectory(id: "bad")
        let fd = open(store.directory(of: "bad") + "/state.json", O_WRONLY | O_CREAT, 0o600)
        _ = write(fd, "{", 1)
        close(fd)
        XCTAssertThrowsError(try store.load(id: "bad")) { XCTAssertTrue("\($0)".contains("corrupt state file")) }
    }

    func testExitStatusFile() {
        XCTAssertEqual(ExitStatusFile.parse(ExitStatusFile.encode(137)), 137)
        XCTAssertNil(ExitStatusFile.parse([]))
        XCTAssertNil(ExitStatusFile.parse(Array("999\n".utf8)))
    }

    func testProcessProbe() {
        let start = ProcessProbe.startTime(of: getpid())
        XCTAssertNotNil(start)
        XCTAssertTrue(ProcessProbe.isAlive(getpid(), startTime: start ?? 0))
        XCTAssertFalse(ProcessProbe.isAlive(getpid(), startTime: (start ?? 0) + 1), "a recycled pid is not ours")
        XCTAssertFalse(ProcessProbe.isAlive(Int32.max, startTime: 0))
    }

    func testStoppedStateReportsNoPid() {
        let record = ContainerRecord(id: "x", status: .running, pid: 5, bundle: "/b", rootfs: "/r", created: "t")
        XCTAssertEqual(record.ociState(status: .stopped).pid, 0)
        XCTAssertEqual(record.ociState(status: .running).pid, 5)
    }
}

final class ControlProtocolTests: XCTestCase {
    func testRequestRoundTrip() throws {
        let line = ControlProtocol.encode(ControlRequest(op: .signal, signal: 9, all: true))
        XCTAssertTrue(line.hasSuffix("\n"))
        guard case .success(let request) = ControlProtocol.decodeRequest(String(line.dropLast())) else {
            return XCTFail("decodes")
        }
        XCTAssertEqual(request, ControlRequest(op: .signal, signal: 9, all: true))
        XCTAssertEqual(request.version, ControlProtocol.version)
    }

    func testVersionMismatchIsNamed() {
        guard case .failure(let error) = ControlProtocol.decodeRequest("{\"version\":7,\"op\":\"start\"}") else {
            return XCTFail("must fail")
        }
        XCTAssertTrue(error.message.contains("version 7"), error.message)
    }

    func testMalformedRequests() {
        for line in ["", "not json", "{}", "{\"version\":1}", "{\"version\":1,\"op\":\"reboot\"}"] {
            guard case .failure = ControlProtocol.decodeRequest(line) else { return XCTFail("accepted \(line)") }
        }
    }

    func testResponseDecoding() throws {
        let response = try ControlProtocol.decodeResponse("{\"version\":1,\"ok\":true,\"exitStatus\":3}")
        XCTAssertEqual(response.exitStatus, 3)
        XCTAssertThrowsError(try ControlProtocol.decodeResponse("{\"version\":2,\"ok\":true}"))
        XCTAssertThrowsError(try ControlProtocol.decodeResponse("garbage"))
    }

    func testSupervisorStateMachineBeforeStart() throws {
        let supervisor = try BootSupervisor(exitStatusFD: -1) { _, _ in XCTFail("nothing runs before start") }
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .state), connection: -1)?.status, "created")
        // Non-terminating signals are ignored before start; bad numbers are refused.
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .signal, signal: 17), connection: -1)?.ok, true)
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .signal, signal: 0), connection: -1)?.ok, false)
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .signal, signal: 65), connection: -1)?.ok, false)
        // A terminating signal before start is handed to the main thread as "killed before start".
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .signal, signal: 15), connection: -1)?.ok, true)
        XCTAssertEqual(supervisor.waitForCommand(), .killedBeforeStart(15))
        // wait keeps the connection until exit (nil = answered later).
        XCTAssertNil(supervisor.handle(ControlRequest(op: .wait), connection: 99))
        // start is handed over with its connection and cannot be requested twice.
        XCTAssertNil(supervisor.handle(ControlRequest(op: .start), connection: 42))
        XCTAssertEqual(supervisor.waitForCommand(), .start(connection: 42))
        XCTAssertEqual(supervisor.handle(ControlRequest(op: .start), connection: 43)?.ok, false)
    }
}

final class BootPlanTests: XCTestCase {
    func testDefaultSpecMounts() throws {
        let plan = try BootPlan.make(from: Spec.defaultSpec())
        var shm = PlannedTmpfs()  // the default spec's "mode=1777", "size=65536k"
        shm.sizeBytes = 65536 << 10
        XCTAssertEqual(plan.argv, ["sh"])
        // nosuid/nodev/noexec become the mounts' flags (runc's default spec: /dev is only nosuid).
        let all = (noSUID: true, noDev: true, noExec: true)
        XCTAssertEqual(plan.mounts, [
            PlannedMount(destination: "/proc", kind: .proc, readOnly: false),
            PlannedMount(destination: "/dev", kind: .dev, readOnly: false, noSUID: true),
            // devpts on /dev/pts is the Sentry /dev's own (DevPTS.swift): nothing is mounted over it.
            PlannedMount(destination: "/dev/shm", kind: .tmpfs, readOnly: false, tmpfs: shm, noSUID: all.noSUID, noDev: all.noDev, noExec: all.noExec),
            PlannedMount(destination: "/dev/mqueue", kind: .empty, readOnly: true, noSUID: true, noDev: true, noExec: true),
            PlannedMount(destination: "/sys", kind: .sysfs, readOnly: true, noSUID: true, noDev: true, noExec: true),
        ])
        XCTAssertEqual(plan.hostname, "runsc")
        XCTAssertTrue(plan.rootReadOnly)
        XCTAssertEqual(plan.umask, 0o022)
    }

    func testBindMountsArePlannedForTheGoferInOrder() throws {
        var spec = Spec.defaultSpec()
        let first = spec.mounts?.count ?? 0
        spec.mounts?.append(Mount(destination: "/etc/hosts", type: "bind", source: "/var/lib/docker/x/hosts",
                                  options: ["rbind", "rprivate", "ro"]))
        spec.mounts?.append(Mount(destination: "/data", type: "none", source: "/srv/data", options: ["bind"]))
        let plan = try BootPlan.make(from: spec)
        XCTAssertEqual(plan.binds, [PlannedBind(source: "/var/lib/docker/x/hosts", readOnly: true, mountIndex: first),
                                    PlannedBind(source: "/srv/data", readOnly: false, mountIndex: first + 1)])
        XCTAssertTrue(plan.mounts.contains(PlannedMount(destination: "/etc/hosts", kind: .bind, readOnly: true, bindIndex: 0)))
        XCTAssertTrue(plan.mounts.contains(PlannedMount(destination: "/data", kind: .bind, readOnly: false, bindIndex: 1)))
        XCTAssertTrue(plan.skipped.isEmpty)
        var gofer = GoferOptions(id: "c", rootfs: "/r", readOnly: true)
        gofer.binds = plan.binds
        let arguments = gofer.arguments(runtime: RuntimeOptions())
        XCTAssertTrue(arguments.joined(separator: " ").hasSuffix("--bind /var/lib/docker/x/hosts:ro --bind /srv/data:rw c"), "\(arguments)")
        XCTAssertEqual(try GoferOptions.parseBind("/a:b:rw", index: 0), PlannedBind(source: "/a:b", readOnly: false, mountIndex: 0))
        XCTAssertThrowsError(try GoferOptions.parseBind("/a", index: 0))
    }

    func testRelativeBindSourceIsRefused() {
        var spec = Spec.defaultSpec()
        spec.mounts = [Mount(destination: "/x", type: "bind", source: "relative/dir")]
        XCTAssertThrowsError(try BootPlan.make(from: spec)) {
            XCTAssertTrue("\($0)".hasPrefix("config.json: mounts[0].source: a bind source must be an absolute host path"), "\($0)")
        }
    }

    func testUnknownMountTypeIsRefused() {
        var spec = Spec.defaultSpec()
        spec.mounts = [Mount(destination: "/x", type: "nfs", source: "server:/x")]
        XCTAssertThrowsError(try BootPlan.make(from: spec)) {
            XCTAssertTrue("\($0)".hasPrefix("config.json: mounts[0].type: \"nfs\" is not supported"), "\($0)")
        }
    }

    func testUserAndProcessFields() throws {
        var spec = Spec.defaultSpec(args: ["/bin/app", "arg"])
        spec.process?.user = User(uid: 1000, gid: 100, umask: 0o077, additionalGids: [5])
        spec.process?.cwd = "/work"
        spec.hostname = "box"
        let plan = try BootPlan.make(from: spec)
        XCTAssertEqual(plan.argv, ["/bin/app", "arg"])
        XCTAssertEqual(plan.uid, 1000)
        XCTAssertEqual(plan.gid, 100)
        XCTAssertEqual(plan.umask, 0o077)
        XCTAssertEqual(plan.additionalGids, [5])
        XCTAssertEqual(plan.workingDirectory, "/work")
        XCTAssertEqual(plan.hostname, "box")
    }

    func testDoSpec() throws {
        let spec = DoSpec.make(command: ["ls", "-l"], cwd: "/home/u",
                               environment: ["PATH": "/bin", "TERM": "xterm", "SECRET": "x"])
        XCTAssertEqual(spec.process?.args, ["ls", "-l"])
        XCTAssertEqual(spec.process?.cwd, "/home/u")
        XCTAssertEqual(spec.process?.terminal, false)
        XCTAssertEqual(spec.process?.env, ["PATH=/bin", "TERM=xterm"])
        // Writable over the in-memory overlay (the default --overlay2=root:memory): the host root is never changed.
        XCTAssertEqual(spec.root, Root(path: "/", readonly: false))
        XCTAssertNoThrow(try SpecValidator.validate(spec))
        let withoutPath = DoSpec.make(command: ["true"], cwd: "/", environment: [:])
        XCTAssertEqual(withoutPath.process?.env?.first?.hasPrefix("PATH="), true)
    }
}

final class SeccompPolicyTests: XCTestCase {
    func testEveryNameIsKnownToLibseccomp() {
        XCTAssertEqual(SeccompFilter.unknownNames(SeccompPolicy.sentry()), [])
    }

    func testSentryNeedsAreAllowed() {
        let allowed = Set(SeccompPolicy.sentry().filter { $0.action == .allow }.map(\.name))
        for name in ["ptrace", "wait4", "waitid", "clone", "mmap", "munmap", "mprotect", "madvise", "mremap", "read",
                     "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "close", "fstat",
                     "newfstatat", "statx", "lseek", "futex", "set_robust_list", "rseq", "rt_sigaction",
                     "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "kill", "tkill", "getpid", "gettid",
                     "getppid", "sched_yield", "sched_getaffinity", "sched_setaffinity", "clock_gettime",
                     "clock_nanosleep", "nanosleep", "gettimeofday", "getrandom", "sendmsg", "recvmsg", "accept4",
                     "shutdown", "poll", "ppoll", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "fcntl",
                     "dup", "dup3", "fallocate", "ftruncate", "exit", "exit_group", "prctl", "arch_prctl",
                     "getdents64", "membarrier", "sysinfo", "uname", "ioctl"] {
            XCTAssertTrue(allowed.contains(name), "\(name) must be allowed")
        }
        for name in ["execve", "open", "openat", "mount", "ptrace_attach_other", "socket", "connect", "bind", "unshare",
                     "setns", "chroot", "pivot_root", "init_module", "bpf", "keyctl"] {
            XCTAssertFalse(allowed.contains(name), "\(name) must not be allowed")
        }
    }

    func testCloneCannotCreateNamespaces() {
        let clones = SeccompPolicy.sentry().filter { $0.name == "clone" }
        XCTAssertEqual(clones.count, 1)
        let condition = clones.first?.conditions.first
        XCTAssertEqual(clones.first?.conditions.count, 1)
        XCTAssertEqual(condition?.argument, 0)
        XCTAssertEqual(condition?.value, 0)
        let every: [UInt64] = [0x80, CloneFlags.CLONE_NEWNS, CloneFlags.CLONE_NEWCGROUP, CloneFlags.CLONE_NEWUTS,
                               CloneFlags.CLONE_NEWIPC, CloneFlags.CLONE_NEWUSER, CloneFlags.CLONE_NEWPID,
                               CloneFlags.CLONE_NEWNET]
        for flag in every { XCTAssertNotEqual((condition?.mask ?? 0) & flag, 0, "clone flag \(flag) is not refused") }
        // Thread creation (glibc's pthread flags) must still pass the condition.
        let threadFlags: UInt64 = 0x3d0f00
        XCTAssertEqual(threadFlags & (condition?.mask ?? ~0), 0)
    }

    func testMmapOnlyOfTheMemoryFileOrAnonymous() {
        let mmaps = SeccompPolicy.sentry(memoryFileFD: 9).filter { $0.name == "mmap" }
        XCTAssertEqual(mmaps.count, 2)
        XCTAssertTrue(mmaps.allSatisfy { $0.conditions.count == 1 }, "no unconditional mmap")
        let anonymous = mmaps.first { $0.conditions[0].argument == 3 }?.conditions[0]
        XCTAssertEqual(anonymous?.value, 0x20)
        XCTAssertEqual(anonymous?.mask, 0x20)
        let file = mmaps.first { $0.conditions[0].argument == 4 }?.conditions[0]
        XCTAssertEqual(file?.value, 9, "only the MemoryFile's descriptor")
    }

    func testIoctlOnlyForTerminalQueries() {
        let ioctls = SeccompPolicy.sentry().filter { $0.name == "ioctl" }
        // TCGETS and TIOCGWINSZ, and TCSETS for putting a console's host pty in raw mode (FS/ConsoleBridge.swift).
        XCTAssertEqual(Set(ioctls.flatMap { $0.conditions.map(\.value) }), [0x5401, 0x5413, 0x5402])
        XCTAssertTrue(ioctls.allSatisfy { $0.conditions.count == 1 && $0.conditions[0].argument == 1 })
    }
}
