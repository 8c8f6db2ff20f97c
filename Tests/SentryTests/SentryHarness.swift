// Runs a program on a real Sentry over the ptrace platform with an in-process Gofer serving a directory,
// capturing what the program writes to fd 1 and 2.
import Foundation
import Gofer
import GoferProtocol
import PlatformPtrace
@testable import Sentry

struct SentryRun {
    var status: ExitStatus
    var stdout: String
    var stderr: String
}

enum SentryHarness {
    /// `overlay` and `goferReadOnly` choose how the root is written: by default into the in-memory overlay,
    /// with the Gofer serving `root` read-only, so the host directory never changes.
    static func run(_ argv: [String], root: String = "/", cwd: String = "/", env: [String] = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"],
                    stdin: String = "", overlay: RootOverlay = .memory, goferReadOnly: Bool = true,
                    strace: Bool = ProcessInfo.processInfo.environment["SENTRY_STRACE"] != nil,
                    mounts: [SentryMount] = [], memoryLimit: UInt64? = nil,
                    configure: (inout SentryConfig) -> Void = { _ in }) throws -> SentryRun {
        var sv: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sv) == 0 else {
            throw SentryError("socketpair failed")
        }
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw SentryError("cannot open the root \(root)") }
        let server = GoferServer(rootFD: rootFD, socket: sv[1], readOnly: goferReadOnly)
        nonisolated(unsafe) let unsafeServer = server
        let serverSocket = sv[1]
        let goferThread = Thread { try? unsafeServer.serve(); close(serverSocket); close(rootFD) }
        goferThread.start()

        let outPath = NSTemporaryDirectory() + "sentry-out-\(UUID().uuidString)"
        let errPath = outPath + ".err", inPath = outPath + ".in"
        FileManager.default.createFile(atPath: inPath, contents: Data(stdin.utf8))
        let outFD = open(outPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let errFD = open(errPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let inFD = open(inPath, O_RDONLY | O_CLOEXEC)
        defer {
            close(outFD); close(errFD); close(inFD)
            unlink(outPath); unlink(errPath); unlink(inPath)
        }
        var config = SentryConfig(argv: argv, environment: env, goferSocket: sv[0])
        config.workingDirectory = cwd
        config.rootReadOnly = false
        config.rootOverlay = overlay
        config.mounts += mounts  // after the default /proc and /dev
        config.stdioFDs = [inFD, outFD, errFD]
        config.strace = strace
        config.debug = strace
        config.logFD = strace ? 2 : -1
        configure(&config)  // anything else a test sets (capabilities, seccomp, ...)
        let memory = try MemoryFile(size: 8 << 30, limit: memoryLimit)
        let platform = try PtracePlatform(memoryFileFD: memory.fd)
        let kernel = try Kernel(config: config, platform: platform, memoryFile: memory)
        try kernel.prepare()
        try kernel.start()
        let status = kernel.wait()
        close(sv[0])
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return SentryRun(status: status, stdout: out, stderr: err)
    }
}
