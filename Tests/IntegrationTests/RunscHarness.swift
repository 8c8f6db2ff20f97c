// Runs the built runsc binary as a user would: its own --root, bundles on disk, outputs captured in files
// (a created container's sandbox keeps the CLI's stdio open, so pipes would never reach EOF).
import Foundation
import XCTest

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The outcome of one command.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A scratch area (state root + bundles) for one test, removed afterwards with every container in it.
final class RunscHarness {
    let binary: String
    let workDir: String
    var root: String { workDir + "/state" }

    init() throws {
        binary = try RunscHarness.locateBinary()
        workDir = NSTemporaryDirectory() + "runsc-it-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
    }

    /// RUNSC_BINARY, else ./bin/runsc or .build/release/runsc of this package.
    static func locateBinary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["RUNSC_BINARY"], !path.isEmpty { return path }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        for candidate in ["bin/runsc", ".build/release/runsc"] {
            let path = packageRoot + "/" + candidate
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        // Failing (not skipping) keeps a missing build from looking like a green run.
        throw HarnessError("no runsc binary: run `make build` or set RUNSC_BINARY")
    }

    /// Runs `runsc --root <root> <arguments>` (or exactly `arguments` with `withRoot: false`).
    @discardableResult
    func runsc(_ arguments: [String], withRoot: Bool = true, timeout: TimeInterval = 120,
               cwd: String? = nil) throws -> CommandResult {
        try run(binary, (withRoot ? ["--root", root] : []) + arguments, timeout: timeout, cwd: cwd)
    }

    /// Runs any program with stdin from /dev/null and outputs in files.
    func run(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120, cwd: String? = nil) throws -> CommandResult {
        let id = UUID().uuidString
        let outPath = workDir + "/out-" + id, errPath = workDir + "/err-" + id
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("timed out after \(timeout)s: \(executable) \(arguments.joined(separator: " "))")
        }
        process.waitUntilExit()
        var status = process.terminationStatus
        if process.terminationReason == .uncaughtSignal { status += 128 }
        return CommandResult(status: status,
                             stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// A bundle whose rootfs holds a static busybox and applet symlinks; config.json from `runsc spec`,
    /// with `args` and no terminal.
    func makeBusyboxBundle(name: String = "bundle", args: [String]) throws -> String {
        let bundle = workDir + "/" + name
        let bin = bundle + "/rootfs/bin"
        let fm = FileManager.default
        try fm.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for dir in ["proc", "dev", "sys", "tmp", "etc", "root"] {
            try fm.createDirectory(atPath: bundle + "/rootfs/" + dir, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/bin/busybox", toPath: bin + "/busybox")
        for applet in ["sh", "echo", "ls", "cat", "true", "false", "wc", "sleep", "uname", "id", "env", "pwd", "kill"] {
            try fm.createSymbolicLink(atPath: bin + "/" + applet, withDestinationPath: "busybox")
        }
        let spec = try runsc(["spec", "--bundle", bundle])
        XCTAssertEqual(spec.status, 0, "runsc spec: \(spec.stderr)")
        try editSpec(bundle) { config in
            var process = config["process"] as? [String: Any] ?? [:]
            process["args"] = args
            process["terminal"] = false
            config["process"] = process
        }
        return bundle
    }

    /// Rewrites a bundle's config.json through a closure.
    func editSpec(_ bundle: String, _ edit: (inout [String: Any]) -> Void) throws {
        let path = bundle + "/config.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var config = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: path))
    }

    /// The state JSON of a container as a dictionary.
    func state(_ id: String) throws -> [String: Any] {
        let result = try runsc(["state", id])
        XCTAssertEqual(result.status, 0, "state \(id): \(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func stateDirectoryExists(_ id: String) -> Bool {
        FileManager.default.fileExists(atPath: root + "/" + id)
    }

    /// Deletes every container left under the root, then the scratch area.
    func cleanUp() {
        if let ids = try? runsc(["list", "--quiet"]).stdout.split(separator: "\n") {
            for id in ids { _ = try? runsc(["delete", "--force", String(id)], timeout: 30) }
        }
        try? FileManager.default.removeItem(atPath: workDir)
    }
}
