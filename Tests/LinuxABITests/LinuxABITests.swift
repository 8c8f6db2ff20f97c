import XCTest
@testable import LinuxABI

final class LinuxABITests: XCTestCase {
    func testSyscallNumbersMatchTheKernelABI() {
        XCTAssertEqual(SyscallNumber.read, 0)
        XCTAssertEqual(SyscallNumber.getppid, 110)
        XCTAssertEqual(SyscallNumber.clone3, 435)
        XCTAssertEqual(syscallName(59), "execve")
        XCTAssertEqual(syscallName(100_000), "syscall_100000")
        XCTAssertEqual(syscallName(-1), "syscall_-1")
    }

    func testErrnoNames() {
        XCTAssertEqual(Errno.ENOENT.rawValue, 2)
        XCTAssertEqual(Errno.ENOSYS.name, "ENOSYS")
        XCTAssertEqual(Errno(9999).name, "E9999")
    }

    func testSignalParsing() {
        XCTAssertEqual(Signal.parse("TERM"), .SIGTERM)
        XCTAssertEqual(Signal.parse("sigkill"), .SIGKILL)
        XCTAssertEqual(Signal.parse("9"), .SIGKILL)
        XCTAssertEqual(Signal.parse("RTMIN+2"), Signal(34))
        XCTAssertNil(Signal.parse("65"))
        XCTAssertNil(Signal.parse("BOGUS"))
        XCTAssertEqual(Signal.SIGCHLD.defaultAction, .ignore)
        XCTAssertEqual(Signal.SIGSEGV.defaultAction, .coreDump)
        XCTAssertEqual(Signal(34).description, "SIGRTMIN+2")
    }

    func testSignalSets() {
        var s = SignalSet()
        s.insert(.SIGINT)
        XCTAssertTrue(s.contains(.SIGINT))
        XCTAssertEqual(s.bits, 2)
        s.remove(.SIGINT)
        XCTAssertFalse(s.contains(.SIGINT))
    }

    func testPageRounding() {
        XCTAssertEqual(PageSize.roundUp(1), 4096)
        XCTAssertEqual(PageSize.roundUp(4096), 4096)
        XCTAssertNil(PageSize.roundUp(UInt64.max))
        XCTAssertEqual(PageSize.roundDown(8191), 4096)
    }
}
