import CLinux
import FoundationEssentials
import Glibc
import Gofer
import GoferProtocol
import LinuxABI
import Synchronization
import XCTest

/// A host thread running a closure, joined by the test.
final class TestThread: Sendable {
    private final class Body { let run: @Sendable () -> Void; init(_ run: @escaping @Sendable () -> Void) { self.run = run } }
    private let thread: Mutex<pthread_t> = Mutex(pthread_t())

    init(_ run: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Body(run)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed")
        thread.withLock { $0 = t }
    }

    func join() { pthread_join(thread.withLock { $0 }, nil) }
}

/// A scratch directory tree on the host, removed when released.
final class TempTree {
    let path: String

    init() throws {
        var template = Array("/tmp/gofer-test-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw Errno(errno) }
        path = String(cString: p)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func url(_ relative: String) -> String { relative.isEmpty ? path : path + "/" + relative }

    func directory(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: url(relative), withIntermediateDirectories: true)
    }

    func file(_ relative: String, _ contents: String) throws {
        let fd = open(url(relative), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Errno(errno) }
        defer { close(fd) }
        let bytes = Array(contents.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw Errno(errno) }
    }

    func symlink(_ relative: String, to target: String) throws {
        guard Glibc.symlink(target, url(relative)) == 0 else { throw Errno(errno) }
    }

    func fifo(_ relative: String) throws {
        guard mkfifo(url(relative), 0o644) == 0 else { throw Errno(errno) }
    }

    /// lstat of a path in the tree, as FileAttributes, to compare with what the Gofer reports.
    func lstatAttributes(_ relative: String) throws -> FileAttributes {
        var st = stat()
        guard lstat(url(relative), &st) == 0 else { throw Errno(errno) }
        func t(_ ts: timespec) -> FileTime { FileTime(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec)) }
        return FileAttributes(dev: UInt64(st.st_dev), inode: UInt64(st.st_ino), mode: st.st_mode,
                              nlink: UInt64(st.st_nlink), uid: st.st_uid, gid: st.st_gid, rdev: UInt64(st.st_rdev),
                              size: Int64(st.st_size), blockSize: Int64(st.st_blksize), blocks: Int64(st.st_blocks),
                              atime: t(st.st_atim), mtime: t(st.st_mtim), ctime: t(st.st_ctim))
    }
}

/// Reads a whole descriptor from offset 0 with pread (as the Sentry does with donated descriptors).
func readAll(_ fd: Int32) -> String {
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = pread(fd, &buffer, buffer.count, off_t(out.count))
        if n <= 0 { break }
        out += buffer[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

/// Number of descriptors this process has open.
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// An in-process Gofer server on its own thread, talking to a GoferClient over a socket pair.
final class InProcessGofer {
    /// nil while serving; .some(nil) once serve() returned at end of stream; .some(e) if it threw e.
    private final class Outcome: Sendable { let value = Mutex<Errno??>(nil) }
    private let outcome = Outcome()
    private let thread: TestThread
    private(set) var client: GoferClient?
    let rawSocket: Int32

    /// With `raw`, the test gets the client end as `rawSocket` instead of a GoferClient.
    /// `binds` (host path, read-only) are opened on the server thread and served by index.
    init(root: String, readOnly: Bool = true, raw: Bool = false, binds: [(path: String, readOnly: Bool)] = [],
         hostSockets: GoferHostSockets = .none) throws {
        let (a, b) = try GoferSocket.pair()
        let rootFD = clinux_openat(AtFlags.AT_FDCWD, root, Int32(OpenFlags.O_PATH | OpenFlags.O_DIRECTORY | OpenFlags.O_CLOEXEC), 0)
        guard rootFD >= 0 else { throw Errno(clinux_errno()) }
        let outcome = self.outcome
        thread = TestThread {
            var failure: Errno?
            do throws(Errno) {
                var roots: [GoferBindRoot] = []
                for bind in binds {
                    do throws(GoferRoleError) { roots.append(try GoferBindRoot(path: bind.path, readOnly: bind.readOnly)) } catch { throw error.errno }
                }
                try GoferServer(rootFD: rootFD, socket: b, readOnly: readOnly, binds: roots, hostSockets: hostSockets).serve()
            } catch {
                failure = error
            }
            close(b)
            close(rootFD)
            outcome.value.withLock { $0 = .some(failure) }
        }
        rawSocket = a
        client = raw ? nil : GoferClient(socket: a)
    }

    /// Closes the client's end and waits for the server; returns the error serve() threw, if any.
    /// shutdown, not close: the server sees end of stream even while a test still holds the client.
    func stop() -> Errno? {
        shutdown(rawSocket, Int32(SHUT_RDWR))
        thread.join()
        if client == nil { close(rawSocket) }  // otherwise the GoferClient owns and closes it
        return outcome.value.withLock { $0 ?? nil }
    }
}
