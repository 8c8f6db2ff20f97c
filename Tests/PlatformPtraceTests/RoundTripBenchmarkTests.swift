// How long one app syscall takes to reach the Sentry and come back, pinned and not. Printed, not asserted
// (speed is judged by `make bench`, never by a timed test).
import Foundation
import Glibc
import Platform
@testable import PlatformPtrace
import XCTest

final class RoundTripBenchmarkTests: XCTestCase {
    static let iterations: UInt32 = 20000

    /// Runs a getpid loop and returns µs per syscall round trip. `split` puts the stub on another CPU
    /// than the tracer on purpose.
    private func measure(pinThreads: Bool, split: Bool = false) throws -> Double {
        let h = try Harness(pinThreads: pinThreads)
        let result = ResultBox()
        try onOwnThread {
            // mov r12d, N; loop: mov eax, 39; syscall; dec r12; jnz loop; exit
            let loop = X86.movEAX(39) + X86.syscall + X86.decR12
            let code = X86.movR12D(Self.iterations) + loop + [0x75, UInt8(bitPattern: Int8(-(loop.count + 2)))]
                + X86.exitWithRDI
            let (space, context, start) = try h.start(code)
            defer { space.release() }
            if split {
                guard let cpus = Affinity.get(0), cpus.count >= 2 else { return }
                XCTAssertEqual(Affinity.pin(0, to: cpus[0]), 0)
                XCTAssertEqual(Affinity.pin(space.stubPID, to: cpus[1]), 0)
            }
            var regs = start
            var count = 0
            let began = DispatchTime.now().uptimeNanoseconds
            while true {
                let event = context.switchToApp(space, &regs)
                guard event == .syscall else { return XCTFail("unexpected \(event)") }
                if regs.origRax == 60 { break }
                regs.rax = 1
                count += 1
            }
            let ns = DispatchTime.now().uptimeNanoseconds - began
            XCTAssertEqual(count, Int(Self.iterations))
            result.value = Double(ns) / 1000 / Double(count)
        }
        return result.value
    }

    func testAddressSpaceCreation() throws {
        let h = try Harness()
        let result = ResultBox()
        try onOwnThread {
            let count = 50
            let began = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<count { try h.platform.newPtraceAddressSpace().release() }
            result.value = Double(DispatchTime.now().uptimeNanoseconds - began) / 1000 / Double(count)
        }
        print(String(format: "ptrace address space (stub fork + setup + release): %.0f µs", result.value))
        XCTAssertGreaterThan(result.value, 0)
    }

    func testSyscallRoundTrip() throws {
        let pinned = try measure(pinThreads: true)
        let unpinned = try measure(pinThreads: false)
        let split = try measure(pinThreads: false, split: true)
        print(String(format: "ptrace SYSEMU round trip over %d getpid: pinned %.2f µs, unpinned %.2f µs, "
                     + "tracer and stub forced onto different CPUs %.2f µs", Self.iterations, pinned, unpinned, split))
        XCTAssertGreaterThan(pinned, 0)
    }
}

private final class ResultBox: @unchecked Sendable {
    // @unchecked Sendable: written by the worker thread before onOwnThread returns, read afterwards.
    var value = 0.0
}
