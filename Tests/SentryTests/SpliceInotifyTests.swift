// splice/tee/vmsplice/sendfile and inotify on a real Sentry, each compared with the host kernel running
// the same C program.
import Foundation
import XCTest
@testable import Sentry

/// Runs programs/NAME.c natively in a fresh directory and on the Sentry (root overlay) in /tmp/run, and
/// returns both outputs. The program takes the directory as argv[1].
enum NativeComparison {
    static func run(_ name: String, mustContain lines: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (native: String, sentry: SentryRun) {
        let root = try BusyboxRoot()
        try TestPrograms.build(name, into: root)
        let scratch = NSTemporaryDirectory() + "\(name)-native-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let native = try FileSystemHarness.native("\(root.path)/bin/\(name) \(scratch)", path: "/bin")
        // The host is the reference; check it said what the man pages say, so a host oddity shows up here.
        for l in lines {
            XCTAssertTrue(native.contains(l + "\n"), "native run lacks \"\(l)\": \(native)", file: file, line: line)
        }
        try FileManager.default.createDirectory(atPath: root.path + "/tmp/run", withIntermediateDirectories: true)
        let run = try FileSystemHarness.run("/bin/\(name) /tmp/run", root: root.path, overlay: .memory, goferReadOnly: true)
        return (native, run)
    }
}

final class SpliceTests: XCTestCase {
    /// Every splice/tee/vmsplice/sendfile case (data moved, offsets, blocking rules, each errno) gives what
    /// the host kernel gives.
    func testSpliceTeeVmspliceSendfileMatchNative() throws {
        let (native, run) = try NativeComparison.run("fs_splice", mustContain: [
            "file-to-pipe-off 5", "off-after 7 fpos 0", "pipe-to-append EINVAL", "pipe-with-off ESPIPE", "no-pipe EINVAL",
            "same-pipe EINVAL", "empty-nonblock EAGAIN", "no-readers EPIPE", "blocking-wait 4", "big-to-pipe 65536",
            "tee 7", "vm-got \"vm\" \"splic\"", "vmsplice-file EBADF", "sendfile-append EINVAL", "sendfile-pipe-off ESPIPE", "done"])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, native)
    }
}

final class InotifyTests: XCTestCase {
    /// Every inotify case (argument checks, the events of each file operation and their order, cookies,
    /// coalescing, IN_ONESHOT/IN_MASK_ADD/IN_DONT_FOLLOW/IN_EXCL_UNLINK, self events, FIONREAD, poll and
    /// epoll, short reads, blocking reads, queue overflow) gives what the host kernel gives.
    func testInotifyMatchesNative() throws {
        let (native, run) = try NativeComparison.run("fs_inotify", mustContain: [
            "watch-mask-create-existing EEXIST", "ev 1 MOVED_FROM cookie=1 name=a len%16=0", "ev 1 MOVED_TO cookie=1 name=b len%16=0",
            "ev 4 IGNORED cookie=0 name=- len%16=0", "ev 5 MOVE_SELF cookie=0 name=- len%16=0", "ev 2 DELETE_SELF cookie=0 name=- len%16=0",
            "read-too-small EINVAL", "fionread 64", "blocking-read 1 late 100", "overflow total 16385 overflow-events 1 wd -1", "done"])
        XCTAssertEqual(run.status, .exited(0), run.stderr)
        XCTAssertEqual(run.stdout, native)
    }
}
