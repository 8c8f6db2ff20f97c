// tmpfs mount options in config.json: what the boot plans from them, and the errors for bad values.
import OCI
import XCTest
@testable import Sandbox

final class TmpfsOptionsTests: XCTestCase {
    private func plan(_ options: [String]) throws -> BootPlan {
        var spec = Spec.defaultSpec()
        spec.mounts = [Mount(destination: "/scratch", type: "tmpfs", source: "tmpfs", options: options)]
        return try BootPlan.make(from: spec)
    }

    func testSizeModeOwnerAndInodesAreParsed() throws {
        let t = try XCTUnwrap(plan(["rw", "nosuid", "size=16m", "mode=0750", "uid=1000", "gid=100", "nr_inodes=2k"]).mounts.first?.tmpfs)
        XCTAssertEqual(t.sizeBytes, 16 << 20)
        XCTAssertEqual(t.mode, 0o750)
        XCTAssertEqual(t.uid, 1000)
        XCTAssertEqual(t.gid, 100)
        XCTAssertEqual(t.inodes, 2048)
        XCTAssertEqual(t.sizeLimit(memory: 1 << 30), 16 << 20)
        XCTAssertEqual(try XCTUnwrap(plan(["size=123"]).mounts.first?.tmpfs).sizeBytes, 123)
        XCTAssertEqual(try XCTUnwrap(plan(["size=1G"]).mounts.first?.tmpfs).sizeBytes, 1 << 30)
    }

    func testDefaultsAndZeroMeanUnlimited() throws {
        let t = try XCTUnwrap(plan(["size=0", "nr_inodes=0"]).mounts.first?.tmpfs)
        XCTAssertNil(t.sizeLimit(memory: 1 << 30))
        XCTAssertNil(t.inodes)
        let d = try XCTUnwrap(plan([]).mounts.first?.tmpfs)
        XCTAssertEqual(d, PlannedTmpfs())
        XCTAssertEqual(d.mode, 0o1777)
    }

    func testPercentIsOfTheSandboxMemory() throws {
        let t = try XCTUnwrap(plan(["size=25%"]).mounts.first?.tmpfs)
        XCTAssertEqual(t.sizePercent, 25)
        XCTAssertEqual(t.sizeLimit(memory: 400 << 20), 100 << 20)
    }

    func testBadValuesNameTheMountOption() {
        for (option, expected) in [("size=12q", "a number of bytes"), ("size=-1", "a number of bytes"), ("size=", "a number of bytes"),
                                   ("size=101%", "a percentage"), ("size=99999999999999999999", "a number of bytes"),
                                   ("size=20000000000000000g", "a number of bytes"),
                                   ("mode=999", "octal permissions"), ("mode=17777", "octal permissions"),
                                   ("uid=root", "a numeric uid"), ("gid=-5", "a numeric gid"), ("nr_inodes=many", "a number")] {
            XCTAssertThrowsError(try plan(["nosuid", option]), option) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("config.json: mounts[0].options: tmpfs option \"\(option)\": expected \(expected)"), message)
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
    }
}
