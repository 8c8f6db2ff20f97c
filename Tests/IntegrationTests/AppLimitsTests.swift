// The app's limits from config.json through the real binary: a docker-like linux.seccomp profile,
// process.capabilities and noNewPrivileges, and clear errors at create for malformed ones.
import Foundation
import XCTest

final class AppLimitsTests: XCTestCase {
    var harness: RunscHarness!

    override func setUpWithError() throws { harness = try RunscHarness() }
    override func tearDown() { harness?.cleanUp() }

    /// Every x86-64 syscall name of the host's headers.
    private func hostSyscallNames() throws -> [String] {
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
        return header.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "#define", parts[1].hasPrefix("__NR_") else { return nil }
            return String(parts[1].dropFirst(5))
        }
    }

    /// Shaped like docker's default profile as docker writes it into config.json: EPERM by default, an
    /// allow list, clone only without namespace flags, personality only for listed values, names of other
    /// architectures (skipped).
    private func dockerLikeProfile() throws -> [String: Any] {
        let denied: Set<String> = ["unshare", "keyctl", "add_key", "request_key", "mount", "umount2", "ptrace", "reboot",
                                   "setns", "clone", "clone3", "personality", "init_module", "kexec_load", "bpf", "sethostname"]
        let allowed = try hostSyscallNames().filter { !denied.contains($0) } + ["arm_fadvise64_64", "s390_pci_mmio_read"]
        return [
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                ["names": allowed, "action": "SCMP_ACT_ALLOW"],
                ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 0, "op": "SCMP_CMP_EQ"]]],
                ["names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [["index": 0, "value": 8, "op": "SCMP_CMP_EQ"]]],
                ["names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [["index": 0, "value": 2_114_060_288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"]]],
                ["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38],
            ],
        ]
    }

    private func bundle(_ script: String, applets: [String] = ["unshare", "hostname", "chown", "grep", "touch"],
                        edit: @escaping (inout [String: Any]) -> Void) throws -> String {
        let bundle = try harness.makeBusyboxBundle(args: ["sh", "-c", script])
        for applet in applets {
            try FileManager.default.createSymbolicLink(atPath: bundle + "/rootfs/bin/" + applet, withDestinationPath: "busybox")
        }
        try harness.editSpec(bundle, edit)
        return bundle
    }

    func testDockerLikeSeccompProfile() throws {
        let profile = try dockerLikeProfile()
        let script = "unshare -U true; echo unshare=$?; hostname foo; echo hostname=$?; (echo sub | cat) && echo fork-ok; "
            + "grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status"
        let b = try bundle(script) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["seccomp"] = profile
            config["linux"] = linux
        }
        let result = try harness.runsc(["--debug", "--debug-log", harness.workDir + "/logs/", "run", "--bundle", b, "seccomp"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "unshare=1\nhostname=1\nsub\nfork-ok\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n",
                       result.stderr)
        XCTAssertTrue(result.stderr.contains("unshare: unshare(0x10000000): Operation not permitted"), result.stderr)
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: harness.workDir + "/logs")) ?? []
        let text = logs.compactMap { try? String(contentsOfFile: harness.workDir + "/logs/" + $0, encoding: .utf8) }.joined()
        XCTAssertTrue(text.contains("arm_fadvise64_64") && text.contains("does not exist on x86-64, rule skipped"), text)
    }

    func testOnlyCapChown() throws {
        let script = "touch /tmp/f && chown 7:7 /tmp/f && echo chown-ok; hostname x; echo hostname=$?; "
            + "grep -E '^Cap(Eff|Bnd)' /proc/self/status"
        let b = try bundle(script) { config in
            var process = config["process"] as? [String: Any] ?? [:]
            process["capabilities"] = ["bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"]]
            config["process"] = process
            var root = config["root"] as? [String: Any] ?? [:]
            root["readonly"] = false
            config["root"] = root
        }
        let result = try harness.runsc(["run", "--bundle", b, "caps"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "chown-ok\nhostname=1\nCapEff:\t0000000000000001\nCapBnd:\t0000000000000001\n", result.stderr)
        XCTAssertTrue(result.stderr.contains("Operation not permitted"), result.stderr)
    }

    func testMalformedLimitsFailCreate() throws {
        let b = try bundle("true") { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [["names": ["read"], "action": "SCMP_ACT_ALLOW"],
                                             ["names": ["getpid"], "action": "SCMP_ACT_ALLOW",
                                              "args": [["index": 7, "value": 1, "op": "SCMP_CMP_EQ"]]]]]
            config["linux"] = linux
        }
        let result = try harness.runsc(["create", "--bundle", b, "bad-seccomp"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("config.json: linux.seccomp.syscalls[1].args[0].index: must be at most 5, got 7"),
                      result.stderr)
        try harness.editSpec(b) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["seccomp"] = nil
            config["linux"] = linux
            var process = config["process"] as? [String: Any] ?? [:]
            process["capabilities"] = ["bounding": ["CAP_CHOWN", "CAP_TELEPORT"]]
            config["process"] = process
        }
        let caps = try harness.runsc(["create", "--bundle", b, "bad-caps"])
        XCTAssertNotEqual(caps.status, 0)
        XCTAssertTrue(caps.stderr.contains("config.json: process.capabilities.bounding[1]: unknown capability \"CAP_TELEPORT\""),
                      caps.stderr)
    }
}
