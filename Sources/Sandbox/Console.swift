// Terminals for containers (process.terminal), the way runc hands them out: the runtime makes a pty on the
// host, sends its master to the caller's `--console-socket` (a unix stream socket the caller listens on;
// one sendmsg whose payload is the master's name and whose SCM_RIGHTS carries the descriptor: containerd's
// go-runc and docker read it that way), and the container's process gets the other end.
//
// Here the host replica goes to the Sentry (boot `--console-fd`, or with an exec request), which bridges it
// to a pty of its own: the line discipline, echo and ^C → SIGINT happen in the Sentry (FS/ConsoleBridge.swift).
import CLinux
import Glibc
import OCI

/// The host end of a container's terminal: a pty pair made by the CLI.
public struct HostConsole: Sendable {
    /// Goes to the console socket.
    public let master: Int32
    /// Goes to the Sentry.
    public let replica: Int32

    /// The flag rules of runc (create, and run/exec which here always detach the terminal to a socket).
    public static func check(terminal: Bool, consoleSocket: String?) throws(RuntimeError) {
        if terminal && consoleSocket == nil {
            throw RuntimeError("cannot allocate tty if runc will detach without setting console socket "
                               + "(process.terminal is true: pass --console-socket PATH)")
        }
        if !terminal && consoleSocket != nil {
            throw RuntimeError("cannot use console socket if runc will not detach or allocate tty "
                               + "(--console-socket needs process.terminal: true)")
        }
    }

    /// A new host pty pair (neither end becomes our controlling terminal), sized to `size` if given.
    public static func open(size: ConsoleSize?) throws(RuntimeError) -> HostConsole {
        let master = Glibc.open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        if master < 0 { throw RuntimeError.errno("console: open /dev/ptmx") }
        // unlockpt (TIOCSPTLCK 0), then the replica straight from the master (TIOCGPTPEER): no path walk.
        var unlock: Int32 = 0
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTPEER: UInt = 0x5441
        let unlocked = withUnsafeMutablePointer(to: &unlock) { clinux_ioctl(master, TIOCSPTLCK, UInt(bitPattern: $0)) }
        let replica = unlocked == 0 ? clinux_ioctl(master, TIOCGPTPEER, UInt(O_RDWR | O_NOCTTY | O_CLOEXEC)) : -1
        if replica < 0 {
            let code = errno
            Glibc.close(master)
            throw RuntimeError.errno("console: open the pty's replica", code)
        }
        if let size {
            var ws = winsize(ws_row: UInt16(clamping: size.height), ws_col: UInt16(clamping: size.width), ws_xpixel: 0, ws_ypixel: 0)
            if withUnsafeMutablePointer(to: &ws, { clinux_ioctl(master, UInt(TIOCSWINSZ), UInt(bitPattern: $0)) }) != 0 {
                let code = errno
                Glibc.close(master); Glibc.close(replica)
                throw RuntimeError.errno("console: set process.consoleSize", code)
            }
        }
        return HostConsole(master: master, replica: replica)
    }

    /// Connects to the console socket at `path` and sends the master (payload: its name, as runc sends it).
    public func sendMaster(to path: String) throws(RuntimeError) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.errno("--console-socket: socket") }
        defer { Glibc.close(fd) }
        let rc = try ControlProtocol.withSocketAddress(path) { address, length in
            var result: Int32
            repeat { result = connect(fd, address, length) } while result < 0 && errno == EINTR
            return result
        }
        if rc < 0 { throw RuntimeError.errno("--console-socket \(path): connect") }
        // One message, as runc sends it: readers take the name and the descriptor from a single recvmsg.
        let payload = Array("/dev/ptmx".utf8)
        let sent = DescriptorPassing.sendMessage(fd, payload, descriptors: [master])
        if sent < 0 { throw RuntimeError.errno("--console-socket \(path): send the pty master") }
        if sent != payload.count { throw RuntimeError("--console-socket \(path): the pty master's message was cut short") }
    }

    public func close() {
        Glibc.close(master)
        Glibc.close(replica)
    }
}
