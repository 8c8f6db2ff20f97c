// Pseudo-terminals on a real Sentry: programs/pty.c opens pty pairs and checks the line discipline, job
// control and hang-up; every check prints "ok NAME" or "FAIL NAME" and the exit status counts failures.
import Foundation
import XCTest
@testable import Sentry

final class PTYTests: XCTestCase {
    func testPseudoTerminals() throws {
        let exe = try TestPrograms.build("pty", flags: ["-Wall"])
        defer { unlink(exe) }
        let r = try SentryHarness.run([exe])
        let failed = r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        XCTAssertTrue(failed.isEmpty, "failed checks:\n" + failed.joined(separator: "\n") + "\nstderr:\n" + r.stderr)
        for check in ["ptsname", "open_locked_eio", "ttyname", "tiocgptpeer", "openpty", "dev_tty_without_ctty_enxio",
                      "canonical_erase", "echo_erase_onlcr", "kill_werase", "echoctl", "eof_alone_reads_0", "icrnl",
                      "onlcr_output", "poll_complete_line", "vmin3", "vtime_timeout", "raw_mode_no_echo", "winsize", "master_read_eio",
                      "setsid_open_makes_ctty", "ctrl_c_sigint", "ctrl_c_echo", "sigwinch", "background_read_sigttin",
                      "background_read_ignored_eio", "tcsetpgrp", "tiocsctty_tiocgsid_tiocnotty", "leader_exit_sighup", "hangup"] {
            XCTAssertTrue(r.stdout.contains("ok \(check)\n"), "check \"\(check)\" did not pass:\n\(r.stdout)\n\(r.stderr)")
        }
        XCTAssertTrue(r.stdout.contains("failures 0\n"), "the program did not finish:\n\(r.stdout)\n\(r.stderr)")
        XCTAssertEqual(r.status, .exited(0))
    }

    /// util-linux `script`: openpty, a child that makes the replica its controlling terminal, and a copy loop
    /// that sees the output through the master (with ONLCR's CR LF).
    func testScriptRunsACommandOnAPty() throws {
        let r = try SentryHarness.run(["/usr/bin/script", "-qec", "tty; echo hi; exit 5", "/dev/null"])
        XCTAssertTrue(r.stdout.contains("/dev/pts/0\r\nhi\r\n"), r.stdout.debugDescription + r.stderr)
        XCTAssertEqual(r.status, .exited(5), r.stderr)
    }
}
