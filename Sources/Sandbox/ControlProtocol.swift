// The control socket protocol between the CLI and a running sandbox (the boot process): one JSON object per
// line each way, one request per connection. Every message carries "version"; a peer that speaks another
// version gets an error response naming both versions.
//
//   {"version":1,"op":"start"}                      -> {"version":1,"ok":true}
//   {"version":1,"op":"signal","signal":15,"all":false} -> {"version":1,"ok":true}
//   {"version":1,"op":"signal","signal":15,"pid":7}     -> one process (forwarded by an exec'd process's waiter)
//   {"version":1,"op":"wait"}                       -> (when the container exits) {"version":1,"ok":true,"exitStatus":3}
//   {"version":1,"op":"state"}                      -> {"version":1,"ok":true,"status":"running"}
//   {"version":1,"op":"exec","argv":[...],"env":[...],"cwd":"/","uid":0,"gid":0} + 3 stdio descriptors
//                                                   (SCM_RIGHTS with the request's first byte) -> {"version":1,"ok":true,"pid":7}
//   {"version":1,"op":"exec",...,"terminal":true} + 1 descriptor, a host pty replica (exec --tty) -> same
//   {"version":1,"op":"execWait","pid":7}           -> (when it exits) {"version":1,"ok":true,"exitStatus":0}
//   {"version":1,"op":"ps"}                         -> {"version":1,"ok":true,"processes":[{"pid":1,...}]}
//   {"version":1,"op":"pause"} / {"op":"resume"}    -> {"version":1,"ok":true}
//   {"version":1,"op":"stats"}                      -> {"version":1,"ok":true,"stats":{"cpuUser":..,...}}
//   {"version":1,"op":"update","memoryLimit":N,"pidsLimit":N} (-1: unlimited, absent: unchanged) -> {"version":1,"ok":true}
//   any failure                                     -> {"version":1,"ok":false,"error":"..."}
import FoundationEssentials
import Glibc
import LinuxABI

/// The control operations.
public enum ControlOperation: String, Codable, Sendable {
    case start, signal, wait, state, exec, execWait, ps
    case pause, resume, stats, update
}

/// One process in a `ps` response.
public struct ControlProcess: Codable, Sendable, Equatable {
    public var pid: Int32
    public var ppid: Int32
    public var uid: UInt32
    public var command: String
    /// CPU time (user + system) in nanoseconds.
    public var cpu: UInt64

    public init(pid: Int32, ppid: Int32, uid: UInt32, command: String, cpu: UInt64) {
        self.pid = pid; self.ppid = ppid; self.uid = uid; self.command = command; self.cpu = cpu
    }
}

/// A request from the CLI.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var version: Int
    public var op: ControlOperation
    public var signal: Int32?
    public var all: Bool?
    // exec / execWait
    public var argv: [String]?
    public var env: [String]?
    /// true: `env` is the whole environment (an OCI process file); otherwise merged over the container's.
    public var replaceEnv: Bool?
    public var cwd: String?
    public var uid: UInt32?
    public var gid: UInt32?
    public var pid: Int32?
    /// exec with a terminal: the one descriptor sent is a host pty replica, bridged to a Sentry pty.
    public var terminal: Bool?
    // update: bytes / tasks; -1 means unlimited, nil unchanged
    public var memoryLimit: Int64?
    public var pidsLimit: Int64?

    public init(op: ControlOperation, signal: Int32? = nil, all: Bool? = nil) {
        self.version = ControlProtocol.version; self.op = op; self.signal = signal; self.all = all
    }
}

/// The sandbox's answer.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var version: Int
    public var ok: Bool
    public var error: String?
    public var exitStatus: Int32?
    public var status: String?
    public var pid: Int32?
    public var processes: [ControlProcess]?
    public var stats: ControlStats?

    public init(ok: Bool, error: String? = nil, exitStatus: Int32? = nil, status: String? = nil, pid: Int32? = nil,
                processes: [ControlProcess]? = nil) {
        self.version = ControlProtocol.version; self.ok = ok; self.error = error; self.exitStatus = exitStatus
        self.status = status; self.pid = pid; self.processes = processes
    }

    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, error: message) }
}

public enum ControlProtocol {
    public static let version = 1

    /// One line of JSON for a message.
    public static func encode<T: Encodable>(_ message: T) -> String {
        guard let data = try? JSONEncoder().encode(message) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Parses a request line; the error is the response to send back.
    public static func decodeRequest(_ line: String) -> Result<ControlRequest, ControlResponseError> {
        struct Versioned: Decodable { var version: Int? }
        let data = Data(line.utf8)
        guard let versioned = try? JSONDecoder().decode(Versioned.self, from: data) else {
            return .failure(ControlResponseError("control request is not a JSON object"))
        }
        guard let version = versioned.version else {
            return .failure(ControlResponseError("control request has no \"version\" field"))
        }
        if version != ControlProtocol.version {
            return .failure(ControlResponseError(
                "unsupported control protocol version \(version) (this sandbox speaks version \(ControlProtocol.version))"))
        }
        do {
            return .success(try JSONDecoder().decode(ControlRequest.self, from: data))
        } catch {
            return .failure(ControlResponseError("malformed control request: unknown or missing \"op\""))
        }
    }

    public static func decodeResponse(_ line: String) throws(RuntimeError) -> ControlResponse {
        guard let response = try? JSONDecoder().decode(ControlResponse.self, from: Data(line.utf8)) else {
            throw RuntimeError("malformed control response from the sandbox")
        }
        if response.version != version {
            throw RuntimeError("sandbox speaks control protocol version \(response.version), expected \(version)")
        }
        return response
    }

    /// A sockaddr_un for `path`; paths longer than sun_path go through /proc/self/fd of an O_PATH parent.
    static func withSocketAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) throws(RuntimeError) -> R {
        var effective = path
        var dirFD: Int32 = -1
        defer { if dirFD >= 0 { close(dirFD) } }
        if path.utf8.count >= 100 {
            let slash = path.lastIndex(of: "/") ?? path.startIndex
            let parent = String(path[..<slash])
            dirFD = Glibc.open(parent.isEmpty ? "/" : parent, Int32(OpenFlags.O_PATH) | O_DIRECTORY | O_CLOEXEC)
            if dirFD < 0 { throw RuntimeError.errno("open \(parent)") }
            effective = "/proc/self/fd/\(dirFD)/" + path[path.index(after: slash)...]
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(effective.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() where i < raw.count - 1 { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// An error message destined for the peer.
public struct ControlResponseError: Error, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// The CLI side: one request, one response.
public enum ControlClient {
    /// Sends `request` to the sandbox listening at `socketPath` and returns its response.
    /// `descriptors` travel with the request (SCM_RIGHTS); they stay open in the caller.
    public static func send(_ request: ControlRequest, socketPath: String, containerID: String,
                            descriptors: [Int32] = []) throws(RuntimeError) -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.errno("socket") }
        defer { close(fd) }
        let rc = try ControlProtocol.withSocketAddress(socketPath) { address, length in
            var result: Int32
            repeat { result = connect(fd, address, length) } while result < 0 && errno == EINTR
            return result
        }
        if rc < 0 {
            if errno == ECONNREFUSED || errno == ENOENT {
                throw RuntimeError("container \"\(containerID)\": sandbox is not running (control socket: \(String(cString: strerror(errno))))")
            }
            throw RuntimeError.errno("container \"\(containerID)\": connect to \(socketPath)")
        }
        try DescriptorPassing.send(fd, ControlProtocol.encode(request), descriptors: descriptors,
                                   what: "container \"\(containerID)\": send control request")
        guard let line = try Sys.readLine(fd) else {
            throw RuntimeError("container \"\(containerID)\": sandbox closed the control connection without answering")
        }
        return try ControlProtocol.decodeResponse(line)
    }
}
