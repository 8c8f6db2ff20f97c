import XCTest
@testable import Sandbox

/// `--overlay2`: parsed, validated, forwarded to the roles, and deciding whether the Gofer may write.
final class Overlay2OptionTests: XCTestCase {
    private func options(_ args: [String]) throws -> RuntimeOptions {
        guard case .command(let options, _) = try CommandLineParser.parse(args + ["state", "x"]) else {
            XCTFail("expected a command")
            return RuntimeOptions()
        }
        return options
    }

    func testDefaultIsAnInMemoryRootOverlay() throws {
        let o = try options([])
        XCTAssertEqual(o.overlay2, .rootMemory)
        XCTAssertTrue(GoferOptions.rootReadOnly(specReadOnly: false, runtime: o), "the Gofer never writes under the overlay")
    }

    func testNoneWritesThroughUnlessTheSpecSaysReadOnly() throws {
        for args in [["--overlay2", "none"], ["-overlay2=none"], ["--overlay2=none"]] {
            let o = try options(args)
            XCTAssertEqual(o.overlay2, .none, "\(args)")
            XCTAssertFalse(GoferOptions.rootReadOnly(specReadOnly: false, runtime: o))
            XCTAssertTrue(GoferOptions.rootReadOnly(specReadOnly: true, runtime: o))
        }
        XCTAssertEqual(try options(["--overlay2", "root:memory"]).overlay2, .rootMemory)
    }

    func testUnsupportedValuesAreRefusedByName() {
        for value in ["all:memory", "root:self", "", "bogus"] {
            XCTAssertThrowsError(try CommandLineParser.parse(["--overlay2", value, "state", "x"])) {
                XCTAssertTrue("\($0)".contains("--overlay2"), "\($0)")
            }
        }
    }

    func testRolesGetTheChoice() throws {
        let o = try options(["--overlay2=none"])
        let args = o.roleArguments
        XCTAssertEqual(args.firstIndex(of: "--overlay2").map { args[$0 + 1] }, "none")
        guard case .command(let reparsed, _) = try CommandLineParser.parse(args + ["boot"]) else { return XCTFail() }
        XCTAssertEqual(reparsed.overlay2, .none)
    }
}
