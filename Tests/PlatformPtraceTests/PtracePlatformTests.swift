// Behaviour of the ptrace platform as the Sentry sees it. Runs as root on the build machine; nothing skips.
import CLinux
import Foundation
import Glibc
import Platform
@testable import PlatformPtrace
import XCTest

final class PtracePlatformTests: XCTestCase {
    func testPlatformShape() throws {
        let h = try Harness()
        XCTAssertEqual(h.platform.name, "ptrace")
        XCTAssertEqual(h.platform.minUserAddress, 0x10000)
        XCTAssertEqual(h.platform.maxUserAddress, h.platform.stubRegion.lowerBound)
        XCTAssertGreaterThanOrEqual(h.platform.maxUserAddress, 0x7000_0000_0000)
        XCTAssertThrowsError(try PtracePlatform(memoryFileFD: 987_654)) { error in
            XCTAssertTrue("\(error)".contains("987654"), "\(error)")
        }
    }

    /// getpid is stopped before the host runs it, the Sentry's result lands in rax, and register writes stick.
    func testSyscallIsEmulatedAndResultReachesApp() throws {
        let h = try Harness()
        try onOwnThread {
            let code = X86.movEAX(39) + X86.syscall + X86.movRDIfromRAX + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            var regs = start
            XCTAssertEqual(context.switchToApp(space, &regs), .syscall)
            XCTAssertEqual(regs.origRax, 39)
            XCTAssertEqual(regs.rip, Harness.codeAddress + 7)
            XCTAssertEqual(Int64(bitPattern: regs.rax), -38, "the host must not have run getpid (rax is -ENOSYS)")
            regs.rax = 4242
            XCTAssertEqual(context.switchToApp(space, &regs), .syscall)
            XCTAssertEqual(regs.origRax, 60)
            XCTAssertEqual(regs.rdi, 4242)
        }
    }

    func testFaultOnUnmappedAddressThenMapAndResume() throws {
        let h = try Harness()
        let target: UInt64 = 0x1234_5000
        h.write64(0xfeed_face_cafe_beef, at: Harness.dataOffset)
        try onOwnThread {
            let code = X86.movabsRAX(target) + X86.movRBXfromMemRAX + X86.movRDIfromRBX + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            // Mapped and unmapped again: unmap really removes it.
            try space.map(target, length: 0x1000, fileOffset: Harness.dataOffset, protection: .read)
            try space.unmap(target, length: 0x1000)
            var regs = start
            let event = context.switchToApp(space, &regs)
            guard case .fault(let fault) = event else { return XCTFail("expected a fault, got \(event)") }
            XCTAssertEqual(fault.signal, SIGSEGV)
            XCTAssertEqual(fault.code, 1, "SEGV_MAPERR")
            XCTAssertEqual(fault.address, target)
            XCTAssertNil(fault.access)
            XCTAssertEqual(regs.rip, Harness.codeAddress + 10, "rip stays on the faulting load")
            try space.map(target, length: 0x1000, fileOffset: Harness.dataOffset, protection: .read)
            XCTAssertTrue(nextSyscall(context, space, &regs))
            XCTAssertEqual(regs.origRax, 60)
            XCTAssertEqual(regs.rdi, 0xfeed_face_cafe_beef)
        }
    }

    func testWriteToReadOnlyPageFaultsUntilProtected() throws {
        let h = try Harness()
        let target: UInt64 = 0x2000_0000
        try onOwnThread {
            let code = X86.movabsRAX(target) + X86.storeOneToMemRAX + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            try space.map(target, length: 0x1000, fileOffset: Harness.dataOffset, protection: .read)
            var regs = start
            let event = context.switchToApp(space, &regs)
            guard case .fault(let fault) = event else { return XCTFail("expected a fault, got \(event)") }
            XCTAssertEqual(fault.signal, SIGSEGV)
            XCTAssertEqual(fault.code, 2, "SEGV_ACCERR")
            XCTAssertEqual(fault.address, target)
            try space.protect(target, length: 0x1000, protection: [.read, .write])
            XCTAssertTrue(nextSyscall(context, space, &regs))
            XCTAssertEqual(regs.origRax, 60)
        }
        XCTAssertEqual(h.read64(at: Harness.dataOffset), 1, "the store went to the MemoryFile (MAP_SHARED)")
    }

    func testExecuteFaultIsRecognised() throws {
        let h = try Harness()
        let target: UInt64 = 0x3000_0000
        try onOwnThread {
            let (space, context, start) = try h.start(X86.movabsRAX(target) + X86.jmpRAX)
            defer { space.release() }
            try space.map(target, length: 0x1000, fileOffset: Harness.dataOffset, protection: [.read, .write])
            var regs = start
            let event = context.switchToApp(space, &regs)
            XCTAssertEqual(event, .fault(FaultInfo(signal: SIGSEGV, code: 2, address: target, access: .execute)))
        }
    }

    func testTrapAndInvalidRegistersAreFaults() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, context, start) = try h.start(X86.int3 + X86.exitWithRDI)
            defer { space.release() }
            var regs = start
            regs.cs = 0x10  // a kernel selector: the host refuses it
            XCTAssertEqual(context.switchToApp(space, &regs),
                           .fault(FaultInfo(signal: SIGSEGV, code: 0x80, address: 0, access: nil)))
            regs = start
            let event = context.switchToApp(space, &regs)
            guard case .fault(let fault) = event else { return XCTFail("expected SIGTRAP, got \(event)") }
            XCTAssertEqual(fault.signal, SIGTRAP)
            XCTAssertEqual(regs.rip, Harness.codeAddress + 1)
            XCTAssertTrue(nextSyscall(context, space, &regs), "the trap was suppressed, not delivered")
            XCTAssertEqual(regs.origRax, 60)
        }
    }

    func testInterruptStopsRunningAppAndPendingInterruptSkipsIt() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, context, start) = try h.start(X86.jmpSelf)
            defer { space.release() }
            var regs = start
            // Pending: no app code runs at all.
            context.interrupt()
            XCTAssertEqual(context.switchToApp(space, &regs), .interrupted)
            XCTAssertEqual(regs, start)
            // Running: another thread interrupts an endless loop.
            let interrupter = Thread {
                usleep(100_000)
                context.interrupt()
            }
            let began = Date()
            interrupter.start()
            let event = context.switchToApp(space, &regs)
            let elapsed = Date().timeIntervalSince(began)
            XCTAssertEqual(event, .interrupted)
            XCTAssertLessThan(elapsed, 1.0)
            XCTAssertEqual(regs.rip, Harness.codeAddress, "still spinning on jmp $")
            // Again: interrupts are not one-shot, and the stub is unharmed.
            let second = Thread {
                usleep(50_000)
                context.interrupt()
            }
            second.start()
            XCTAssertEqual(context.switchToApp(space, &regs), .interrupted)
            XCTAssertNil(space.lostReason)
        }
    }

    /// The host's syscall-restart rewinding must never touch app registers, whatever rax holds.
    func testRestartCodesInRaxAreNotRewoundByTheHost() throws {
        let h = try Harness()
        try onOwnThread {
            let code = X86.movEAX(39) + X86.syscall + X86.movRDIfromRAX + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            var regs = start
            XCTAssertEqual(context.switchToApp(space, &regs), .syscall)
            regs.rax = UInt64(bitPattern: -512)  // ERESTARTSYS
            XCTAssertEqual(kill(space.stubPID, SIGSTOP), 0)  // a signal pending at resume triggers the logic
            XCTAssertEqual(context.switchToApp(space, &regs), .interrupted)
            XCTAssertTrue(nextSyscall(context, space, &regs))
            XCTAssertEqual(regs.origRax, 60, "rip was not rewound to the getpid syscall")
            XCTAssertEqual(regs.rdi, UInt64(bitPattern: -512))
        }
    }

    func testMappingsOutsideTheAppRangeAreRefused() throws {
        let h = try Harness()
        try onOwnThread {
            let code = X86.movEAX(39) + X86.syscall
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            let max = h.platform.maxUserAddress
            let bad: [(UInt64, UInt64, String)] = [
                (max, 0x1000, "outside"), (max - 0x1000, 0x2000, "outside"), (0x1_0000_0000_0000, 0x1000, "outside"),
                (0xffff_ffff_ffff_f000, 0x2000, "outside"), (0, 0x1000, "outside"), (0x4000_0001, 0x1000, "aligned"),
                (0x4000_0000, 0, "zero"),
            ]
            for (address, length, why) in bad {
                XCTAssertThrowsError(try space.map(address, length: length, fileOffset: 0, protection: .read)) {
                    XCTAssertTrue("\($0)".contains(why) && "\($0)".contains(String(address, radix: 16)), "\($0)")
                }
                XCTAssertThrowsError(try space.unmap(address, length: length))
                XCTAssertThrowsError(try space.protect(address, length: length, protection: .read))
            }
            XCTAssertThrowsError(try space.map(0x4000_0000, length: 0x1000, fileOffset: 7, protection: .read))
            // A host failure is reported with the operation and errno (an offset no file can have).
            XCTAssertThrowsError(try space.map(0x4000_0000, length: 0x1000, fileOffset: 0xffff_ffff_ffff_f000,
                                               protection: .read)) {
                XCTAssertTrue("\($0)".contains("mmap(address 0x40000000") && "\($0)".contains("failed: E"), "\($0)")
            }
            // The stub survived all of it.
            var regs = start
            XCTAssertEqual(context.switchToApp(space, &regs), .syscall)
            XCTAssertEqual(regs.origRax, 39)
        }
    }

    /// The stub holds nothing of the Sentry: only the stub region, our mappings and [vsyscall]; only the
    /// MemoryFile open; seccomp on; traced by the creating thread.
    func testStubHoldsNothingButTheStubRegionAndOurMappings() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, _, _) = try h.start(X86.jmpSelf)
            defer { space.release() }
            let region = h.platform.stubRegion
            let ours: [Range<UInt64>] = [Harness.codeAddress..<Harness.codeAddress + 0x1000,
                                         h.stackTop - 0x1000..<h.stackTop]
            let maps = readProcFile("/proc/\(space.stubPID)/maps").split(separator: "\n")
            XCTAssertFalse(maps.isEmpty)
            for line in maps {
                if line.hasSuffix("[vsyscall]") { continue }
                let bounds = line.prefix(while: { $0 != " " }).split(separator: "-").compactMap { UInt64($0, radix: 16) }
                guard bounds.count == 2 else { XCTFail("unparsable maps line \(line)"); continue }
                let range = bounds[0]..<bounds[1]
                let inRegion = region.contains(range.lowerBound) && range.upperBound <= region.upperBound
                let isOurs = ours.contains { $0 == range } && line.contains("/memfd:ptrace-test")
                XCTAssertTrue(inRegion || isOurs, "unexpected mapping in the stub: \(line)")
            }
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(space.stubPID)/fd")) ?? []
            XCTAssertEqual(fds, ["\(h.memfd)"])
            let status = readProcFile("/proc/\(space.stubPID)/status")
            XCTAssertTrue(status.contains("Seccomp:\t2"), status)
            XCTAssertTrue(status.contains("NoNewPrivs:\t1"), status)
            XCTAssertTrue(status.contains("TracerPid:\t\(clinux_gettid())\n"), status)
            // Every signal stays blocked in the stub except the unblockable ones and faults the CPU forced.
            let blockedLine = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") } ?? ""
            let blocked = UInt64(blockedLine.dropFirst("SigBlk:\t".count), radix: 16) ?? 0
            for signal in [SIGINT, SIGUSR1, SIGTERM, SIGCHLD, SIGURG, SIGWINCH, 32, 64] {
                XCTAssertNotEqual(blocked & (1 << UInt64(signal - 1)), 0, "signal \(signal) is not blocked: \(blockedLine)")
            }
        }
    }

    func testStubSeccompKillsAnInjectedSyscallItDoesNotAllow() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, context, start) = try h.start(X86.jmpSelf)
            defer { space.release() }
            XCTAssertThrowsError(try space.inject(39, [], "getpid")) {
                XCTAssertTrue("\($0)".contains("SIGSYS"), "\($0)")
            }
            var regs = start
            guard case .addressSpaceLost(let reason) = context.switchToApp(space, &regs) else {
                return XCTFail("the stub should be gone")
            }
            XCTAssertTrue(reason.contains("SIGSYS"), reason)
            XCTAssertThrowsError(try space.map(0x4000_0000, length: 0x1000, fileOffset: 0, protection: .read))
        }
    }

    func testStubDeathIsReportedAsAddressSpaceLost() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, context, start) = try h.start(X86.jmpSelf)
            defer { space.release() }
            XCTAssertEqual(kill(space.stubPID, SIGKILL), 0)
            var regs = start
            guard case .addressSpaceLost(let reason) = context.switchToApp(space, &regs) else {
                return XCTFail("expected addressSpaceLost")
            }
            XCTAssertTrue(reason.contains("SIGKILL"), reason)
            guard case .addressSpaceLost = context.switchToApp(space, &regs) else { return XCTFail("stays lost") }
            XCTAssertThrowsError(try space.map(0x4000_0000, length: 0x1000, fileOffset: 0, protection: .read)) {
                XCTAssertTrue("\($0)".contains("address space lost"), "\($0)")
            }
            // A released one is refused the same way.
            let other = try h.platform.newPtraceAddressSpace()
            other.release()
            other.release()
            guard case .addressSpaceLost(let why) = context.switchToApp(other, &regs) else { return XCTFail("released") }
            XCTAssertTrue(why.contains("released"), why)
        }
    }

    func testAddressSpaceIsBoundToItsThread() throws {
        let h = try Harness()
        let holder = SpaceHolder()
        try onOwnThread { holder.space = try h.platform.newPtraceAddressSpace() }
        try onOwnThread {
            guard let space = holder.space else { return XCTFail("no address space") }
            XCTAssertThrowsError(try space.map(0x40_0000, length: 0x1000, fileOffset: 0, protection: .read)) {
                XCTAssertTrue("\($0)".contains("belongs to host thread"), "\($0)")
            }
            let context = h.platform.newPtraceContext()
            var regs = space.initialRegisters()
            guard case .addressSpaceLost = context.switchToApp(space, &regs) else { return XCTFail("must refuse") }
        }
        holder.space?.release()  // from any thread
        XCTAssertEqual(kill(holder.space?.stubPID ?? 0, 0), -1, "the stub is gone")
    }

    func testInitialRegistersAndFloatingPointState() throws {
        let h = try Harness()
        try onOwnThread {
            let (space, context, start) = try h.start(X86.movqRDIfromXMM0 + X86.exitWithRDI)
            defer { space.release() }
            XCTAssertEqual(start.cs & 3, 3)
            XCTAssertEqual(start.ss & 3, 3)
            XCTAssertEqual(start.eflags & 0x200, 0x200, "interrupts enabled")
            XCTAssertEqual(start.eflags & 0x100, 0, "no trap flag")
            XCTAssertEqual(start.fsBase, 0, "no Sentry TLS pointer")
            XCTAssertEqual(context.floatingPointState(), [], "nothing ran yet")
            var regs = start
            context.interrupt()
            XCTAssertEqual(context.switchToApp(space, &regs), .interrupted)
            var state = try context.readFloatingPointState()
            XCTAssertGreaterThanOrEqual(state.count, 576)
            XCTAssertEqual(Array(state[160..<416]), [UInt8](repeating: 0, count: 256), "XMM registers start clear")
            state.replaceSubrange(160..<168, with: X86.le64(0x1122_3344_5566_7788))
            context.setFloatingPointState(state)
            XCTAssertTrue(nextSyscall(context, space, &regs))
            XCTAssertEqual(regs.rdi, 0x1122_3344_5566_7788, "the app sees the XMM0 we set")
            XCTAssertThrowsError(try context.writeFloatingPointState([1, 2, 3]))
        }
    }

    func testPinnedStubSharesItsTracersCPU() throws {
        let h = try Harness(pinThreads: true)
        try onOwnThread {
            let (space, context, _) = try h.start(X86.jmpSelf)
            defer { space.release() }
            XCTAssertNotNil(space.cpu)
            XCTAssertEqual(space.cpu, context.cpu)
            XCTAssertEqual(Affinity.get(0), [space.cpu!])
            XCTAssertEqual(Affinity.get(space.stubPID), [space.cpu!])
        }
        let unpinned = try Harness(pinThreads: false)
        try onOwnThread {
            let space = try unpinned.platform.newPtraceAddressSpace()
            defer { space.release() }
            XCTAssertNil(space.cpu)
        }
    }

    func testSeccompFilterShape() {
        let filter = stubSeccompFilter()
        XCTAssertEqual(filter.count, 18)
        XCTAssertEqual(filter.last, 0x8000_0000 << 32 | 0x06, "ends in RET KILL_PROCESS")
        XCTAssertEqual(filter[0], 4 << 32 | 0x20, "starts by loading the arch")
        // Every jump lands inside the program.
        for (i, instruction) in filter.enumerated() where instruction & 0xffff == 0x15 {
            let jt = Int((instruction >> 16) & 0xff), jf = Int((instruction >> 24) & 0xff)
            XCTAssertLessThan(i + 1 + max(jt, jf), filter.count)
        }
    }

    /// Old static binaries call the vsyscall page; the host's emulation of it must not run either.
    func testVsyscallIsServedByTheSentry() throws {
        let h = try Harness()
        let hasVsyscall = readProcFile("/proc/self/maps").contains("[vsyscall]")
        try onOwnThread {
            // mov rax, time vsyscall; xor edi, edi; call rax; mov rdi, rax; exit
            let code = X86.movabsRAX(0xffff_ffff_ff60_0400) + [0x31, 0xff, 0xff, 0xd0] + X86.movRDIfromRAX + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            var regs = start
            let event = context.switchToApp(space, &regs)
            guard hasVsyscall else {
                guard case .fault = event else { return XCTFail("without a vsyscall page, a fault; got \(event)") }
                return
            }
            XCTAssertEqual(event, .syscall)
            XCTAssertEqual(regs.origRax, 201, "time")
            XCTAssertEqual(regs.rip, 0xffff_ffff_ff60_0400)
            regs.rax = 777
            XCTAssertTrue(nextSyscall(context, space, &regs))
            XCTAssertEqual(regs.origRax, 60)
            XCTAssertEqual(regs.rdi, 777, "the app got the Sentry's time")
            XCTAssertEqual(regs.rsp, start.rsp, "returned to the caller")
        }
    }
}

private final class SpaceHolder: @unchecked Sendable {
    // @unchecked Sendable: handed between threads strictly one after the other (onOwnThread waits).
    var space: PtraceAddressSpace?
}
