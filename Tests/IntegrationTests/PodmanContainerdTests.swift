// podman (through conmon) and containerd's ctr (through containerd-shim-runc-v2 with runsc as its runc
// binary) driving runsc; both wait for the pid in the pid files we write, for init and for exec.
import Foundation
import XCTest

final class PodmanTests: XCTestCase {
    static let base = "/var/lib/runsc-test-podman"
    static let image = "localhost/runsc-test-busybox"
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var podman = ""

    /// podman with storage of its own, cgroupfs (no systemd here), file events, and runsc as the runtime.
    static func podman(_ arguments: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        try ClientHarness.run([Self.podman, "--root", Self.base + "/storage", "--runroot", Self.base + "/run",
                               "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                               "--runtime", ClientHarness.runsc] + arguments, timeout: timeout)
    }

    override class func setUp() {
        do {
            podman = try ClientHarness.require("podman", package: "podman")
            let rootfs = base + "/busybox-rootfs"
            try ClientHarness.busyboxRootfs(at: rootfs)
            let tar = base + "/busybox.tar"
            let packed = try ClientHarness.run(["/bin/tar", "-C", rootfs, "-cf", tar, "."])
            guard packed.status == 0 else { throw HarnessError("tar: \(packed.stderr)") }
            let imported = try podman(["import", tar, image])
            guard imported.status == 0 else { throw HarnessError("podman import: \(imported.stderr)") }
        } catch {
            setupError = error
        }
    }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    func podman(_ arguments: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        try Self.podman(arguments, timeout: timeout)
    }

    func testRunExitCodeAndOutput() throws {
        let result = try podman(["run", "--rm", "--network=none", Self.image, "sh", "-c", "echo hi from podman; exit 5"])
        XCTAssertEqual(result.status, 5, result.stderr)
        XCTAssertEqual(result.stdout, "hi from podman\n")
    }

    func testRunWithATerminal() throws {
        let result = try ClientHarness.runOnTerminal([Self.podman, "--root", Self.base + "/storage", "--runroot", Self.base + "/run",
                                                      "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                                                      "--runtime", ClientHarness.runsc, "run", "-it", "--rm", "--network=none",
                                                      Self.image, "sh"])
        XCTAssertTrue(result.stdout.contains("hi\r\n/dev/pts/0\r\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("^C"), result.stdout)
        XCTAssertTrue(result.stdout.hasSuffix("status=3\n"), result.stdout)
    }

    func testExecInADetachedContainer() throws {
        let name = "runsc-podman-" + UUID().uuidString.prefix(6).lowercased()
        let started = try podman(["run", "-d", "--name", name, "--network=none", Self.image, "sleep", "60"])
        XCTAssertEqual(started.status, 0, started.stderr)
        defer { _ = try? podman(["rm", "-f", "-t", "0", name]) }
        let exec = try podman(["exec", name, "sh", "-c", "echo exec ok; exit 4"])
        XCTAssertEqual(exec.status, 4, exec.stderr)
        XCTAssertEqual(exec.stdout, "exec ok\n")
        let removed = try podman(["rm", "-f", "-t", "0", name])
        XCTAssertEqual(removed.status, 0, removed.stderr)
    }
}

final class ContainerdTests: XCTestCase {
    nonisolated(unsafe) static var docker: PrivateDocker?
    nonisolated(unsafe) static var setupError: Error?
    static let namespace = "runsc-test"
    static let image = "docker.io/library/\(PrivateDocker.image):latest"

    /// ctr against the containerd the private dockerd runs.
    static func ctr(_ arguments: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        let ctr = try ClientHarness.require("ctr", package: "containerd")
        guard let docker else { throw HarnessError("no containerd: the private dockerd did not start") }
        let socket = docker.base + "/exec/containerd/containerd.sock"
        return try ClientHarness.run([ctr, "-a", socket, "-n", namespace] + arguments, timeout: timeout)
    }

    func ctr(_ arguments: [String], timeout: TimeInterval = 60) throws -> ClientResult {
        try Self.ctr(arguments, timeout: timeout)
    }

    override class func setUp() {
        do {
            let docker = try PrivateDocker()
            Self.docker = docker
            let archive = docker.base + "/busybox-image.tar"
            let saved = try docker(["save", "-o", archive, PrivateDocker.image])
            guard saved.status == 0 else { throw HarnessError("docker save: \(saved.stderr)") }
            let imported = try ctr(["images", "import", archive])
            guard imported.status == 0 else { throw HarnessError("ctr images import: \(imported.stderr)") }
        } catch {
            setupError = error
        }
    }

    override class func tearDown() {
        docker?.stop()
        docker = nil
    }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    private var runtime: [String] { ["--runtime", "io.containerd.runc.v2", "--runc-binary", ClientHarness.runsc] }

    func testRunRemoveAndExitCode() throws {
        let id = "ctr-run-" + UUID().uuidString.prefix(6).lowercased()
        let result = try ctr(["run", "--rm"] + runtime + [Self.image, id, "sh", "-c", "echo hi from ctr; exit 3"])
        XCTAssertEqual(result.status, 3, result.stderr)
        XCTAssertEqual(result.stdout, "hi from ctr\n")
    }

    func testRunWithATerminal() throws {
        let id = "ctr-tty-" + UUID().uuidString.prefix(6).lowercased()
        let ctr = try ClientHarness.require("ctr", package: "containerd")
        let socket = try XCTUnwrap(Self.docker).base + "/exec/containerd/containerd.sock"
        let result = try ClientHarness.runOnTerminal([ctr, "-a", socket, "-n", Self.namespace, "run", "-t", "--rm"]
                                                     + runtime + [Self.image, id, "sh"])
        XCTAssertTrue(result.stdout.contains("hi\r") && result.stdout.contains("/dev/pts/0"), result.stdout)
        XCTAssertTrue(result.stdout.hasSuffix("status=3\n"), result.stdout)
    }

    func testExecAndKill() throws {
        let id = "ctr-exec-" + UUID().uuidString.prefix(6).lowercased()
        let started = try ctr(["run", "-d"] + runtime + [Self.image, id, "sleep", "60"])
        XCTAssertEqual(started.status, 0, started.stderr)
        defer {
            _ = try? ctr(["task", "kill", "-s", "KILL", id])
            _ = try? ctr(["task", "rm", "-f", id])
            _ = try? ctr(["containers", "rm", id])
        }
        let exec = try ctr(["task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec in ctr; exit 2"])
        XCTAssertEqual(exec.status, 2, exec.stderr)
        XCTAssertEqual(exec.stdout, "exec in ctr\n")

        XCTAssertEqual(try ctr(["task", "kill", "-s", "KILL", id]).status, 0)
        var stopped = false
        for _ in 0..<100 where !stopped {
            usleep(50_000)
            stopped = try ctr(["task", "ls"]).stdout.split(separator: "\n").contains { $0.hasPrefix(id) && $0.hasSuffix("STOPPED") }
        }
        XCTAssertTrue(stopped, "the task must be STOPPED after kill -s KILL")
    }
}
