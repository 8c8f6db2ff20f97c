import XCTest
@testable import Platform

final class PlatformTests: XCTestCase {
    func testRegistersMirrorUserRegsStruct() {
        // PTRACE_GETREGS writes 27 words straight into this struct.
        XCTAssertEqual(MemoryLayout<Registers>.size, 27 * 8)
        XCTAssertEqual(MemoryLayout<Registers>.offset(of: \Registers.origRax), 15 * 8)
        XCTAssertEqual(MemoryLayout<Registers>.offset(of: \Registers.rip), 16 * 8)
        XCTAssertEqual(MemoryLayout<Registers>.offset(of: \Registers.fsBase), 21 * 8)
    }

    func testSyscallArgumentOrder() {
        var r = Registers()
        r.rdi = 1; r.rsi = 2; r.rdx = 3; r.r10 = 4; r.r8 = 5; r.r9 = 6
        let a = r.syscallArguments
        XCTAssertEqual([a.0, a.1, a.2, a.3, a.4, a.5], [1, 2, 3, 4, 5, 6])
    }
}
