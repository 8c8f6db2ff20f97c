// process.capabilities and linux.seccomp read from the spec at create: values and exact error messages.
import LinuxABI
import OCI
@testable import Sandbox
import Sentry
import XCTest

final class AppLimitsPlanTests: XCTestCase {
    private func plan(seccomp: JSONValue? = nil, capabilities: Capabilities? = nil) throws -> BootPlan {
        var spec = Spec.defaultSpec(args: ["true"])
        spec.process?.capabilities = capabilities
        spec.linux?.seccomp = seccomp
        return try BootPlan.make(from: spec)
    }

    private func error(seccomp: JSONValue? = nil, capabilities: Capabilities? = nil) -> String {
        do { _ = try plan(seccomp: seccomp, capabilities: capabilities); return "no error" } catch { return "\(error)" }
    }

    private static func rule(_ names: [String], _ action: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var o: [String: JSONValue] = ["names": .array(names.map { .string($0) }), "action": .string(action)]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    private static func profile(_ rules: [JSONValue], _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var o: [String: JSONValue] = ["defaultAction": .string("SCMP_ACT_ERRNO"), "architectures": .array([.string("SCMP_ARCH_X86_64")]),
                                      "syscalls": .array(rules)]
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    func testProfileBecomesRulesWithNumbers() throws {
        let clone = Self.rule(["clone"], "SCMP_ACT_ALLOW", ["args": .array([.object([
            "index": .integer(0), "value": .unsigned(2_114_060_288), "valueTwo": .integer(0), "op": .string("SCMP_CMP_MASKED_EQ")])])])
        let p = try plan(seccomp: Self.profile([
            Self.rule(["getpid", "no_such_syscall", "arm_fadvise64_64"], "SCMP_ACT_ALLOW"),
            Self.rule(["unshare"], "SCMP_ACT_ERRNO", ["errnoRet": .integer(38)]),
            clone,
        ], ["defaultErrnoRet": .integer(1), "flags": .array([.string("SECCOMP_FILTER_FLAG_LOG")])]))
        let s = try XCTUnwrap(p.seccomp)
        XCTAssertEqual(s.defaultAction, SeccompABI.SECCOMP_RET_ERRNO | 1)
        XCTAssertTrue(s.logActions)
        XCTAssertEqual(s.architectures, [SeccompABI.AUDIT_ARCH_X86_64])
        XCTAssertEqual(s.rules, [
            .init(syscall: SyscallNumber.getpid, action: SeccompABI.SECCOMP_RET_ALLOW),
            .init(syscall: SyscallNumber.unshare, action: SeccompABI.SECCOMP_RET_ERRNO | 38),
            .init(syscall: SyscallNumber.clone, action: SeccompABI.SECCOMP_RET_ALLOW,
                  conditions: [.init(index: 0, value: 2_114_060_288, valueTwo: 0, op: .maskedEqual)]),
        ])
        XCTAssertEqual(p.seccompSkippedNames, ["no_such_syscall", "arm_fadvise64_64"])
    }

    func testSeveralConditionsOnOneArgumentBecomeSeparateRules() throws {
        let args: JSONValue = .array([0, 8].map { .object(["index": .integer(0), "value": .integer($0), "op": .string("SCMP_CMP_EQ")]) })
        let p = try plan(seccomp: Self.profile([Self.rule(["personality"], "SCMP_ACT_ALLOW", ["args": args])]))
        XCTAssertEqual(p.seccomp?.rules.map(\.conditions.count), [1, 1])
    }

    func testErrnoDefaultsToEPERM() throws {
        let p = try plan(seccomp: Self.profile([Self.rule(["keyctl"], "SCMP_ACT_KILL_PROCESS")]))
        XCTAssertEqual(p.seccomp?.defaultAction, SeccompABI.SECCOMP_RET_ERRNO | 1)
        XCTAssertEqual(p.seccomp?.rules.first?.action, SeccompABI.SECCOMP_RET_KILL_PROCESS)
    }

    func testMalformedProfilesNameTheField() {
        XCTAssertTrue(error(seccomp: Self.profile([Self.rule(["read"], "SCMP_ACT_ALLOW"), Self.rule(["write"], "SCMP_ACT_FOO")]))
            .hasPrefix("config.json: linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\""))
        let badOp: JSONValue = .array([.object(["index": .integer(1), "value": .integer(0), "op": .string("SCMP_CMP_XX")])])
        XCTAssertTrue(error(seccomp: Self.profile([Self.rule(["read"], "SCMP_ACT_ALLOW", ["args": badOp])]))
            .hasPrefix("config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""))
        let badIndex: JSONValue = .array([.object(["index": .integer(6), "value": .integer(0), "op": .string("SCMP_CMP_EQ")])])
        XCTAssertEqual(error(seccomp: Self.profile([Self.rule(["read"], "SCMP_ACT_ALLOW", ["args": badIndex])])),
                       "config.json: linux.seccomp.syscalls[0].args[0].index: must be at most 5, got 6")
        XCTAssertEqual(error(seccomp: .object(["defaultAction": .integer(3)])),
                       "config.json: linux.seccomp.defaultAction: expected a string, got number")
        XCTAssertEqual(error(seccomp: Self.profile([], ["architectures": .array([.string("SCMP_ARCH_Z80")])])),
                       "config.json: linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\"")
        XCTAssertTrue(error(seccomp: Self.profile([], ["flags": .array([.string("SECCOMP_FILTER_FLAG_NEW_LISTENER")])]))
            .hasPrefix("config.json: linux.seccomp.flags[0]: unknown flag"))
        XCTAssertEqual(error(seccomp: Self.profile([Self.rule([], "SCMP_ACT_ALLOW")])),
                       "config.json: linux.seccomp.syscalls[0].names: must name at least one syscall")
    }

    func testCapabilities() throws {
        let p = try plan(capabilities: Capabilities(bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_CHOWN"],
                                                    inheritable: nil, permitted: ["CAP_CHOWN"], ambient: []))
        XCTAssertEqual(p.capabilities, AppCapabilities(bounding: 0b100001, effective: 1, permitted: 1, inheritable: 0, ambient: 0))
        XCTAssertTrue(error(capabilities: Capabilities(bounding: ["CAP_CHOWN", "CAP_FLY"]))
            .hasPrefix("config.json: process.capabilities.bounding[1]: unknown capability \"CAP_FLY\""))
        XCTAssertEqual(try plan().noNewPrivileges, true)  // runsc spec's default
    }
}
