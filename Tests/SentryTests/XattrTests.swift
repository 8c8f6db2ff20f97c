// Extended attributes on a real Sentry (programs/xattr_ops.c): the same checks run natively on a host
// directory, on the Sentry writing through a writable Gofer, and on the Sentry's in-memory overlay; the
// outputs must agree line for line.
import Foundation
import XCTest
@testable import Sentry

final class XattrTests: XCTestCase {
    private static let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("programs/xattr_ops.c").path
    private var work: String!
    private var program: String!

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "xattr-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        program = work + "/xattr_ops"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gcc")
        p.arguments = ["-O1", "-Wall", "-o", program, Self.source]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "gcc xattr_ops.c failed")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: work) }

    private func directory(_ name: String) throws -> String {
        let path = work + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    private func native(_ arguments: [String]) throws -> String {
        let p = Process(), out = Foundation.Pipe()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = arguments
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }

    private func hostHasXattr(_ path: String, _ name: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import os,sys; sys.exit(0 if sys.argv[2] in os.listxattr(sys.argv[1]) else 1)", path, name]
        try? p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    /// Files served by a writable Gofer (no overlay): every answer as on the host, and the changes land on it.
    func testGoferFilesBehaveAsOnTheHost() throws {
        let expected = try native([try directory("native")])
        XCTAssertTrue(expected.contains("list: 14 [user.a user.b]"), expected)
        let dir = try directory("gofer")
        let r = try SentryHarness.run([program, dir], overlay: .none, goferReadOnly: false)
        XCTAssertEqual(r.status, .exited(0), r.stderr)
        XCTAssertEqual(r.stdout, expected)
        XCTAssertTrue(hostHasXattr(dir + "/f", "user.b"))
        XCTAssertTrue(hostHasXattr(dir + "/d", "user.dir"))
    }

    /// Files the app creates in the root overlay live in its tmpfs upper layer: same answers.
    func testTmpfsFilesBehaveAsOnTheHost() throws {
        let expected = try native([try directory("native")])
        let dir = try directory("overlay")
        let r = try SentryHarness.run([program, dir])
        XCTAssertEqual(r.status, .exited(0), r.stderr)
        XCTAssertEqual(r.stdout, expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/f"))
    }

    /// trusted.* (root only, hidden from others), full-size values, and a copy-up that keeps user.* names.
    func testTrustedNamesAndCopyUpInTheOverlay() throws {
        let lower = work + "/image-file"
        XCTAssertTrue(FileManager.default.createFile(atPath: lower, contents: Data("x".utf8)))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = ["-c", "import os,sys; os.setxattr(sys.argv[1], 'user.host', b'hv')", lower]
        try p.run()
        p.waitUntilExit()
        let r = try SentryHarness.run([program, try directory("extra"), "extra", lower])
        XCTAssertEqual(r.status, .exited(0), r.stderr)
        let tail = r.stdout.components(separatedBy: "\n").drop { !$0.hasPrefix("trusted set") }.joined(separator: "\n")
        XCTAssertEqual(tail, """
            trusted set: 0
            list with trusted: 27 [trusted.t user.b user.perm]
            list unprivileged: 17 [user.b user.perm]
            trusted get unprivileged: ENODATA
            value 65536: 0
            get 65536: 65536
            lower get: 2
            lower set: 0
            copied up: 19 [user.host user.new]

            """)
        XCTAssertFalse(hostHasXattr(lower, "user.new"))
    }
}
