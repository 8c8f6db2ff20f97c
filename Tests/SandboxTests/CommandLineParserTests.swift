import XCTest
@testable import Sandbox

final class CommandLineParserTests: XCTestCase {
    private func parse(_ args: [String]) throws -> (RuntimeOptions, [String]) {
        guard case .command(let options, let rest) = try CommandLineParser.parse(args) else {
            XCTFail("expected a command")
            return (RuntimeOptions(), [])
        }
        return (options, rest)
    }

    func testGoAndGNUStylesAreEquivalent() throws {
        for args in [["-root", "/r", "list"], ["--root", "/r", "list"], ["-root=/r", "list"], ["--root=/r", "list"]] {
            let (options, rest) = try parse(args)
            XCTAssertEqual(options.root, "/r", "\(args)")
            XCTAssertEqual(rest, ["list"])
        }
    }

    func testAllGlobalFlags() throws {
        let (options, rest) = try parse([
            "--root", "/r", "--log", "/l", "--log-format", "json", "--debug", "--debug-log", "/d",
            "--platform", "ptrace", "--network=none", "--strace", "--systemd-cgroup", "state", "x",
        ])
        XCTAssertEqual(options.root, "/r")
        XCTAssertEqual(options.log, "/l")
        XCTAssertEqual(options.logFormat, .json)
        XCTAssertTrue(options.debug)
        XCTAssertEqual(options.debugLog, "/d")
        XCTAssertEqual(options.platform, "ptrace")
        XCTAssertEqual(options.network, "none")
        XCTAssertTrue(options.strace)
        XCTAssertTrue(options.systemdCgroup)
        XCTAssertEqual(rest, ["state", "x"])
    }

    func testDefaults() throws {
        let (options, _) = try parse(["list"])
        XCTAssertEqual(options.root, "/var/run/runsc")
        XCTAssertEqual(options.platform, "ptrace")
        XCTAssertEqual(options.network, "none")
        XCTAssertFalse(options.debug)
    }

    func testBooleanWithValue() throws {
        XCTAssertFalse(try parse(["--debug=false", "list"]).0.debug)
        XCTAssertThrowsError(try CommandLineParser.parse(["--debug=maybe", "list"]))
    }

    func testUnknownGlobalFlagIsNamed() {
        XCTAssertThrowsError(try CommandLineParser.parse(["--frobnicate", "list"])) { error in
            XCTAssertEqual("\(error)", "unknown global flag \"--frobnicate\" (see runsc --help)")
        }
    }

    func testMissingValue() {
        XCTAssertThrowsError(try CommandLineParser.parse(["--root"])) { error in
            XCTAssertEqual("\(error)", "flag --root needs a value")
        }
    }

    func testBadLogFormat() {
        XCTAssertThrowsError(try CommandLineParser.parse(["--log-format", "xml", "list"])) { error in
            XCTAssertTrue("\(error)".contains("--log-format"))
        }
    }

    func testHelpAndVersion() throws {
        XCTAssertEqual(try CommandLineParser.parse([]), .help)
        XCTAssertEqual(try CommandLineParser.parse(["--help"]), .help)
        XCTAssertEqual(try CommandLineParser.parse(["-version"]), .version)
    }

    func testSubcommandGoStyleFlagsAreNormalized() {
        XCTAssertEqual(CommandLineParser.normalizeSubcommandArguments(["create", "-bundle", "/b", "-pid-file=/p", "id"]),
                       ["create", "--bundle", "/b", "--pid-file=/p", "id"])
        XCTAssertEqual(CommandLineParser.normalizeSubcommandArguments(["delete", "-f", "id"]), ["delete", "-f", "id"])
        XCTAssertEqual(CommandLineParser.normalizeSubcommandArguments(["kill", "id", "-9"]), ["kill", "id", "-9"])
    }

    func testDoArgumentsAreLeftToTheApp() {
        XCTAssertEqual(CommandLineParser.normalizeSubcommandArguments(["do", "ls", "-la", "-color"]),
                       ["do", "ls", "-la", "-color"])
        XCTAssertEqual(CommandLineParser.normalizeSubcommandArguments(["do", "sh", "-c", "exit 3"]),
                       ["do", "sh", "-c", "exit 3"])
    }

    func testUnsupportedPlatformsAndNetworksNameFlagAndValue() {
        var options = RuntimeOptions()
        options.platform = "kvm"
        XCTAssertThrowsError(try options.checkSupported()) { XCTAssertTrue("\($0)".contains("--platform=kvm")) }
        options.platform = "ptrace"
        for mode in ["host", "sandbox", "weird"] {
            options.network = mode
            XCTAssertThrowsError(try options.checkSupported()) { XCTAssertTrue("\($0)".contains("--network=\(mode)")) }
        }
        options.network = "none"
        XCTAssertNoThrow(try options.checkSupported())
    }

    func testRoleArgumentsRoundTrip() throws {
        var options = RuntimeOptions()
        options.root = "/state"
        options.debug = true
        options.logFormat = .json
        let boot = BootOptions(id: "abc").arguments(runtime: options)
        XCTAssertEqual(boot.first, "runsc-sandbox")
        let (parsed, rest) = try parse(Array(boot.dropFirst()))
        XCTAssertEqual(parsed.root, "/state")
        XCTAssertTrue(parsed.debug)
        XCTAssertEqual(parsed.logFormat, .json)
        XCTAssertEqual(rest, ["boot", "--spec-fd", "3", "--gofer-fd", "4", "--controller-fd", "5",
                              "--exit-status-fd", "6", "--ready-fd", "7", "abc"])
        let gofer = GoferOptions(id: "abc", rootfs: "/rootfs", readOnly: true).arguments(runtime: options)
        XCTAssertEqual(Array(gofer.suffix(7)), ["gofer", "--gofer-fd", "3", "--rootfs", "/rootfs", "--read-only", "abc"])
    }
}
