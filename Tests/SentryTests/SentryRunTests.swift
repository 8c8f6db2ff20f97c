import XCTest
@testable import Sentry

final class SentryRunTests: XCTestCase {
    func testBusyboxEcho() throws {
        let r = try SentryHarness.run(["/bin/busybox", "echo", "hello"])
        XCTAssertEqual(r.stdout, "hello\n")
        XCTAssertEqual(r.status, .exited(0))
    }
}
