// linux.maskedPaths, linux.readonlyPaths and linux.sysctl read from the spec at create: what the boot gets,
// and the exact errors for what runc would refuse too.
import OCI
@testable import Sandbox
import XCTest

final class ContainerPathsPlanTests: XCTestCase {
    private func plan(_ edit: (inout Spec) -> Void) throws -> BootPlan {
        var spec = Spec.defaultSpec(args: ["true"])
        edit(&spec)
        return try BootPlan.make(from: spec)
    }

    private func error(_ edit: (inout Spec) -> Void) -> String {
        do { _ = try plan(edit); return "no error" } catch { return "\(error)" }
    }

    func testDefaultSpecCarriesDockersPaths() throws {
        let p = try plan { _ in }
        XCTAssertTrue(p.maskedPaths.contains("/proc/kcore"))
        XCTAssertTrue(p.readonlyPaths.contains("/proc/sys"))
        XCTAssertEqual(p.sysctl, [:])
    }

    func testSysctlsAreSortedIntoAppliedAndSkipped() throws {
        let p = try plan { $0.linux?.sysctl = ["kernel.shmmax": "4096", "kernel.sem": "250 32000 32 128", "net.core.somaxconn": "1024",
                                                "kernel.hostname": "from-sysctl", "kernel.domainname": "example"] }
        XCTAssertEqual(p.sysctl, ["kernel.shmmax": "4096", "kernel.sem": "250 32000 32 128"])
        XCTAssertEqual(p.sysctlSkipped, ["kernel.domainname", "net.core.somaxconn"])
        XCTAssertEqual(p.hostname, "from-sysctl")
    }

    func testRefusedSysctlsNameTheKey() {
        XCTAssertTrue(error { $0.linux?.sysctl = ["vm.swappiness": "10"] }.contains("linux.sysctl[\"vm.swappiness\"]: not a namespaced sysctl"))
        XCTAssertTrue(error { $0.linux?.sysctl = ["kernel.panic": "1"] }.contains("linux.sysctl[\"kernel.panic\"]"))
        XCTAssertTrue(error { $0.linux?.sysctl = ["kernel.shmmax": "-1"] }.contains("linux.sysctl[\"kernel.shmmax\"]: expected a non-negative number"))
        XCTAssertTrue(error { $0.linux?.sysctl = ["kernel.sem": "1 2 3"] }.contains("expected 4 numbers"))
        XCTAssertTrue(error { spec in
            spec.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
            spec.linux?.namespaces = ["pid", "ipc", "uts", "mount"].map { Namespace(type: $0) }
        }.contains("linux.sysctl[\"net.ipv4.ip_forward\"]: not allowed in the host's network namespace"))
    }

    func testPathsMustBeAbsoluteWithoutDotDot() {
        XCTAssertTrue(error { $0.linux?.maskedPaths = ["/proc/kcore", "proc/keys"] }.contains("linux.maskedPaths[1]: \"proc/keys\" must be an absolute path"))
        XCTAssertTrue(error { $0.linux?.readonlyPaths = ["/proc/../etc"] }.contains("linux.readonlyPaths[0]"))
        XCTAssertTrue(error { $0.linux?.maskedPaths = ["/"] }.contains("linux.maskedPaths[0]: \"/\" names the container's root"))
    }
}
