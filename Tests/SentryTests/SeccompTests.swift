// The app's own seccomp filters and capabilities, run by the Sentry (programs/seccomp.c, programs/caps.c).
import Foundation
import LinuxABI
import XCTest
@testable import Sentry

final class SeccompTests: XCTestCase {
    private static let program = Result { try TestPrograms.build("seccomp", flags: ["-static", "-pthread", "-Wall"]) }

    private func run(_ mode: String, configure: (inout SentryConfig) -> Void = { _ in }) throws -> SentryRun {
        try SentryHarness.run([try Self.program.get(), mode], configure: configure)
    }

    func testErrnoActionAndStatus() throws {
        let r = try run("errno")
        XCTAssertEqual(r.stdout, """
            install=0
            getpid=-1 errno=77
            install=0
            getppid=-1 errno=4095
            gettid>0=1 errno=0
            PR_GET_SECCOMP=2
            NoNewPrivs:\t1
            Seccomp:\t2
            Seccomp_filters:\t2

            """, r.stderr)
        XCTAssertEqual(r.status, .exited(0))
    }

    func testTrapSendsSIGSYSWithSeccompSiginfo() throws {
        let r = try run("trap")
        XCTAssertEqual(r.stdout, """
            install=0
            sigsys sig=31 code=1 errno=42 syscall=110 arch=x86_64 after-syscall-insn=1 rax-is-nr=1
            getppid returned 4242

            """, r.stderr)
    }

    func testKillActionsEndWithSIGSYS() throws {
        let r = try run("kill")
        XCTAssertEqual(r.stdout, """
            kill_process: signaled 31 core=1
            kill_thread: signaled 31 core=1
            unknown_action: signaled 31 core=1
            kill_ignored: signaled 31 core=1

            """, r.stderr)
    }

    func testStackedFiltersPrecedence() throws {
        let r = try run("stack")
        XCTAssertEqual(r.stdout, """
            errno-under-allow=-1 errno=11
            newest-errno-wins=-1 errno=22
            errno-over-trace=-1 errno=22
            trace-no-tracer=-1 errno=38
            notif-no-listener=-1 errno=38
            log-runs-uid=0 errno=0
            Seccomp:\t2
            Seccomp_filters:\t7

            """, r.stderr)
    }

    func testFiltersSurviveForkAndExec() throws {
        let r = try run("inherit")
        XCTAssertEqual(r.stdout, """
            child getpid=-1 errno=33
            exec getpid=-1 errno=33
            PR_GET_SECCOMP=2 PR_GET_NO_NEW_PRIVS=1
            Seccomp:\t2
            Seccomp_filters:\t1
            child: exited 0

            """, r.stderr)
    }

    func testInvalidProgramsAndOperations() throws {
        let r = try run("invalid")
        XCTAssertEqual(r.stdout, """
            byte-load=-1 errno=22
            misaligned=-1 errno=22
            past-data=-1 errno=22
            jump-out=-1 errno=22
            no-ret=-1 errno=22
            div-zero=-1 errno=22
            mem-unset=-1 errno=22
            ind-load=-1 errno=22
            empty=-1 errno=22
            too-long=-1 errno=22
            bad-flags=-1 errno=22
            new-listener=-1 errno=22
            bad-pointer=-1 errno=14
            bad-op=-1 errno=22
            strict-with-args=-1 errno=22
            avail-log=0 errno=0
            avail-bogus=-1 errno=95
            notif-sizes=0 errno=0
            sizes 80 24 64
            full-size filters=7 errno=12
            strict-after-filter=-1 errno=22

            """, r.stderr)
    }

    func testFilterNeedsNoNewPrivsWithoutSysAdmin() throws {
        let r = try run("nonnp")
        XCTAssertEqual(r.stdout, """
            capset=0 errno=0
            PR_GET_NO_NEW_PRIVS=0
            without-nnp=-13
            set-nnp-bad-arg=-1 errno=22
            set-nnp=0 errno=0
            with-nnp=0
            getpid=-1 errno=1

            """, r.stderr)
    }

    func testStrictMode() throws {
        let r = try run("strict")
        XCTAssertEqual(r.stdout, """
            in strict mode
            strict getpid: signaled 9 core=0
            strict exit: exited 7

            """, r.stderr)
    }

    func testTsyncAppliesToOtherThreads() throws {
        let r = try run("tsync")
        XCTAssertEqual(r.stdout, "tsync=0\nthread getppid=-1 errno=55\n", r.stderr)
    }

    // MARK: The spec's profile (compiled by the Sentry)

    /// A docker-like profile: EPERM by default, a long allow list, clone allowed only without namespace
    /// flags, personality only with listed values.
    static func dockerLikeProfile() -> AppSeccompProfile {
        let denied: Set<String> = ["unshare", "keyctl", "add_key", "request_key", "mount", "umount2", "ptrace", "reboot",
                                   "setns", "clone", "clone3", "personality", "init_module", "kexec_load", "bpf"]
        var rules: [AppSeccompProfile.Rule] = []
        for (nr, name) in syscallNames.enumerated() where !name.isEmpty && !denied.contains(name) {
            rules.append(.init(syscall: nr, action: SeccompABI.SECCOMP_RET_ALLOW))
        }
        // docker: clone allowed when (flags & namespace flags) == 0.
        rules.append(.init(syscall: SyscallNumber.clone, action: SeccompABI.SECCOMP_RET_ALLOW,
                           conditions: [.init(index: 0, value: 0x7E02_0000, valueTwo: 0, op: .maskedEqual)]))
        rules.append(.init(syscall: SyscallNumber.clone3, action: SeccompABI.SECCOMP_RET_ERRNO | UInt32(Errno.ENOSYS.rawValue)))
        for persona: UInt64 in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
            rules.append(.init(syscall: SyscallNumber.personality, action: SeccompABI.SECCOMP_RET_ALLOW,
                               conditions: [.init(index: 0, value: persona, op: .equal)]))
        }
        return AppSeccompProfile(defaultAction: SeccompABI.SECCOMP_RET_ERRNO | UInt32(Errno.EPERM.rawValue), rules: rules,
                                 architectures: [SeccompABI.AUDIT_ARCH_X86_64, SeccompABI.AUDIT_ARCH_I386])
    }

    func testDockerLikeProfileFromTheSpec() throws {
        let script = "unshare -U true; echo unshare=$?; echo hello | cat; ls /proc/self/ > /dev/null && echo ls-ok; "
            + "grep -E '^(Seccomp|NoNewPrivs)' /proc/self/status"
        let r = try SentryHarness.run(["/bin/busybox", "sh", "-c", script], env: ["PATH=/bin:/usr/bin"]) { config in
            config.seccomp = Self.dockerLikeProfile()
            config.noNewPrivileges = true
        }
        XCTAssertEqual(r.stdout, "unshare=1\nhello\nls-ok\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n", r.stderr)
        XCTAssertTrue(r.stderr.contains("Operation not permitted"), r.stderr)
    }

    func testProfileCompilerArgumentRulesAndCache() throws {
        let program = try AppSeccompCompiler.compile(Self.dockerLikeProfile())
        let filter = try AppSeccompFilter(program: program, parent: nil, logActions: false)
        func verdict(_ nr: Int, _ a0: UInt64 = 0) -> UInt32 {
            filter.verdict(SeccompData(nr: Int32(nr), arch: SeccompABI.AUDIT_ARCH_X86_64, instructionPointer: 0x1000,
                                       args: (a0, 0, 0, 0, 0, 0)))
        }
        let allow = SeccompABI.SECCOMP_RET_ALLOW, eperm = SeccompABI.SECCOMP_RET_ERRNO | 1
        XCTAssertEqual(verdict(SyscallNumber.getpid), allow)
        XCTAssertEqual(verdict(SyscallNumber.unshare), eperm)
        XCTAssertEqual(verdict(SyscallNumber.clone, 0x11), allow)                     // SIGCHLD | CLONE_VM...
        XCTAssertEqual(verdict(SyscallNumber.clone, 0x1000_0000), eperm)              // CLONE_NEWUSER
        XCTAssertEqual(verdict(SyscallNumber.clone, 0x1_0000_0011), allow)            // the mask's high word is 0
        XCTAssertEqual(verdict(SyscallNumber.clone, 0x1_1000_0011), eperm)
        XCTAssertEqual(verdict(SyscallNumber.personality, 8), allow)
        XCTAssertEqual(verdict(SyscallNumber.personality, 9), eperm)
        XCTAssertEqual(verdict(SyscallNumber.personality, 0xffff_ffff), allow)
        XCTAssertEqual(verdict(600), eperm)
        XCTAssertEqual(verdict(SyscallNumber.getpid | 0x4000_0000), eperm)            // x32
        // Only the two syscalls with argument rules are looked at per call; every other number is cached.
        XCTAssertEqual(filter.cachedCount, AppSeccompFilter.cachedSyscalls - 2)
    }

    func testComparisonOperators() throws {
        typealias C = AppSeccompProfile.Condition
        let big: UInt64 = 0x1_0000_0005
        let cases: [(C, [(UInt64, Bool)])] = [
            (C(index: 1, value: big, op: .greaterThan), [(big, false), (big + 1, true), (5, false), (0x2_0000_0000, true)]),
            (C(index: 1, value: big, op: .greaterOrEqual), [(big, true), (big - 1, false), (0x2_0000_0000, true)]),
            (C(index: 1, value: big, op: .lessThan), [(big, false), (big - 1, true), (6, true), (0x2_0000_0000, false)]),
            (C(index: 1, value: big, op: .lessOrEqual), [(big, true), (big + 1, false), (6, true)]),
            (C(index: 1, value: big, op: .notEqual), [(big, false), (5, true), (big + 1, true)]),
            (C(index: 1, value: big, op: .equal), [(big, true), (5, false)]),
            (C(index: 1, value: 0xff00, valueTwo: 0x1200, op: .maskedEqual), [(0x12ab, true), (0x13ab, false)]),
        ]
        for (condition, samples) in cases {
            let profile = AppSeccompProfile(defaultAction: SeccompABI.SECCOMP_RET_ERRNO | 1,
                                            rules: [.init(syscall: 1, action: SeccompABI.SECCOMP_RET_ALLOW, conditions: [condition])])
            let program = try AppSeccompCompiler.compile(profile)
            for (value, allowed) in samples {
                let v = program.run(SeccompData(nr: 1, arch: SeccompABI.AUDIT_ARCH_X86_64, instructionPointer: 0, args: (0, value, 0, 0, 0, 0)))
                XCTAssertEqual(v == SeccompABI.SECCOMP_RET_ALLOW, allowed, "\(condition.op) \(condition.value) vs \(value)")
            }
        }
    }

    func testInterpreterArithmeticScratchAndAnalysis() throws {
        func insn(_ code: UInt16, _ k: UInt32 = 0, _ jt: UInt8 = 0, _ jf: UInt8 = 0) -> BPFInstruction {
            BPFInstruction(code: code, jt: jt, jf: jf, k: k)
        }
        // A = nr * 3 + 1; M[2] = A; X = 5; A = M[2] - X; A <<= 4; return A | 0x7fff0000 (ALLOW with data).
        let program = try BPFProgram(validating: [
            insn(BPFOp.ld | BPFOp.w | BPFOp.abs, 0), insn(BPFOp.alu | BPFOp.mul | BPFOp.k, 3), insn(BPFOp.alu | BPFOp.add | BPFOp.k, 1),
            insn(BPFOp.st, 2), insn(BPFOp.ldx | BPFOp.imm, 5), insn(BPFOp.ld | BPFOp.mem, 2), insn(BPFOp.alu | BPFOp.sub | BPFOp.x),
            insn(BPFOp.alu | BPFOp.lsh | BPFOp.k, 4), insn(BPFOp.alu | BPFOp.or | BPFOp.k, 0x7fff_0000), insn(BPFOp.ret | BPFOp.a),
        ])
        let data = SeccompData(nr: 10, arch: SeccompABI.AUDIT_ARCH_X86_64, instructionPointer: 0, args: (0, 0, 0, 0, 0, 0))
        XCTAssertEqual(program.run(data), 0x7fff_0000 | ((10 * 3 + 1 - 5) << 4))
        XCTAssertEqual(program.constantVerdict(nr: 10, arch: SeccompABI.AUDIT_ARCH_X86_64), program.run(data))
        // Division by a zero X ends the program with 0 (KILL_THREAD); reading an argument defeats the cache.
        let divide = try BPFProgram(validating: [insn(BPFOp.ldx | BPFOp.imm, 0), insn(BPFOp.alu | BPFOp.div | BPFOp.x),
                                                 insn(BPFOp.ret | BPFOp.k, SeccompABI.SECCOMP_RET_ALLOW)])
        XCTAssertEqual(divide.run(data), 0)
        let readsArg = try BPFProgram(validating: [insn(BPFOp.ld | BPFOp.w | BPFOp.abs, 16), insn(BPFOp.ret | BPFOp.a)])
        XCTAssertNil(readsArg.constantVerdict(nr: 1, arch: SeccompABI.AUDIT_ARCH_X86_64))
    }

    /// Hostile programs: random instructions (biased towards valid opcodes) are either refused or run to a
    /// verdict, and the analysis agrees with a real run wherever it claims a constant verdict.
    func testRandomProgramsNeverTrapTheSentry() {
        var rng = SystemRandomNumberGenerator()
        let codes: [UInt16] = [0x20, 0x15, 0x06, 0x16, 0x54, 0x25, 0x35, 0x45, 0x1d, 0x05, 0x80, 0x00, 0x01, 0x60, 0x61, 0x02,
                               0x03, 0x07, 0x87, 0x84, 0x04, 0x0c, 0x3c, 0x34, 0x64, 0x74, 0xac, 0x28, 0x40, 0x90, 0xffff]
        var accepted = 0
        for _ in 0..<3000 {
            let n = Int.random(in: 1...12, using: &rng)
            var program = (0..<n).map { _ in
                BPFInstruction(code: codes.randomElement(using: &rng)!, jt: UInt8.random(in: 0...3, using: &rng),
                               jf: UInt8.random(in: 0...3, using: &rng), k: [0, 4, 16, 20, 2, 64, 31, 32, 0x7fff_0000, .max].randomElement(using: &rng)!)
            }
            if Bool.random(using: &rng) { program.append(BPFInstruction(code: 0x06, jt: 0, jf: 0, k: SeccompABI.SECCOMP_RET_ALLOW)) }
            guard let p = try? BPFProgram(validating: program) else { continue }
            accepted += 1
            let nr = Int32.random(in: 0..<512, using: &rng)
            let data = SeccompData(nr: nr, arch: SeccompABI.AUDIT_ARCH_X86_64, instructionPointer: .random(in: 0...UInt64.max, using: &rng),
                                   args: (.random(in: 0...UInt64.max, using: &rng), 0, 7, .max, 1, 2))
            let verdict = p.run(data)
            if let constant = p.constantVerdict(nr: nr, arch: SeccompABI.AUDIT_ARCH_X86_64) { XCTAssertEqual(constant, verdict) }
        }
        XCTAssertGreaterThan(accepted, 100)
    }

    // MARK: Capabilities

    func testOnlyChownCapability() throws {
        let chown: UInt64 = 1 << UInt64(Capability.CAP_CHOWN)
        let script = "touch /tmp/capfile-$$ && chown 5:5 /tmp/capfile-$$ && echo chown-ok; hostname x; echo hostname=$?; "
            + "grep -E '^Cap' /proc/self/status"
        let r = try SentryHarness.run(["/bin/busybox", "sh", "-c", script], env: ["PATH=/bin:/usr/bin"]) { config in
            config.capabilities = AppCapabilities(bounding: chown, effective: chown, permitted: chown)
        }
        XCTAssertEqual(r.stdout, """
            chown-ok
            hostname=1
            CapInh:\t0000000000000000
            CapPrm:\t0000000000000001
            CapEff:\t0000000000000001
            CapBnd:\t0000000000000001
            CapAmb:\t0000000000000000

            """, r.stderr)
        XCTAssertTrue(r.stderr.contains("Operation not permitted"), r.stderr)
    }

    func testCapabilityRules() throws {
        let prog = try TestPrograms.build("caps", flags: ["-static", "-Wall"])
        defer { unlink(prog) }
        let setuid: UInt64 = 1 << UInt64(Capability.CAP_SETUID), setgid: UInt64 = 1 << UInt64(Capability.CAP_SETGID)
        let base = setuid | setgid | (1 << UInt64(Capability.CAP_SETPCAP))
        let r = try SentryHarness.run([prog]) { config in
            config.capabilities = AppCapabilities(bounding: base, effective: base, permitted: base, inheritable: setuid)
        }
        XCTAssertEqual(r.stdout, """
            capget eff=1c0 prm=1c0 inh=80
            bset setuid=1 sys_admin=0 bad=-1/22
            kill other uid without CAP_KILL=-1/1
            kill own child=0/0
            ambient raise setuid=0/0 raise kill=-1/1 is_set=1
            capset raise permitted=-1/1
            bset drop setgid=0/0 then read=0
            drop setpcap then bset drop=-1/1
            setuid(2000) without CAP_SETUID=-1/1
            child setuid(1000): eff=0 prm=0 amb=0 bnd=1c0

            """, r.stderr)
    }
}
