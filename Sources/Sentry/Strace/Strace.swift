// --strace: one line per app syscall with its name, decoded arguments and result.
import LinuxABI

enum Strace {
    static func format(task: Task, number: Int, args: SyscallArguments, result: Int) -> String {
        let name = syscallName(number)
        let raw = [args.a0, args.a1, args.a2, args.a3, args.a4, args.a5]
        var shown: [String] = []
        let pathArg: Int? = pathArgumentIndex[name]
        let count = argumentCount[name] ?? 6
        for i in 0..<count {
            if i == pathArg, let s = try? task.mm.readString(raw[i], max: 256) {
                shown.append("\"\(escape(s))\"")
            } else if (name == "write" || name == "read") && i == 1 && result > 0 {
                let n = min(result, 32)
                let bytes = (try? task.mm.copyIn(raw[1], n)) ?? []
                shown.append("\"\(escape(String(decoding: bytes, as: UTF8.self)))\"" + (result > 32 ? "..." : ""))
            } else if raw[i] > 0xffff {
                shown.append("0x" + String(raw[i], radix: 16))
            } else {
                shown.append(String(Int64(bitPattern: raw[i])))
            }
        }
        let res: String
        if result < 0 && result > -4096 { res = "-1 \(Errno(Int32(-result)).name)" }
        else if result > 0xffff { res = "0x" + String(UInt(bitPattern: result), radix: 16) }
        else { res = String(result) }
        return "[\(task.tid)] \(name)(\(shown.joined(separator: ", "))) = \(res)"
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += c.value < 32 ? "\\x" + hex(UInt64(c.value), 2) : String(c)
            }
        }
        return out
    }

    static let pathArgumentIndex: [String: Int] = [
        "open": 0, "stat": 0, "lstat": 0, "access": 0, "execve": 0, "chdir": 0, "readlink": 0, "mkdir": 0,
        "unlink": 0, "rmdir": 0, "openat": 1, "newfstatat": 1, "statx": 1, "readlinkat": 1, "faccessat": 1,
        "faccessat2": 1, "mkdirat": 1, "unlinkat": 1, "execveat": 1,
    ]
    static let argumentCount: [String: Int] = [
        "getpid": 0, "getppid": 0, "gettid": 0, "getuid": 0, "geteuid": 0, "getgid": 0, "getegid": 0, "fork": 0,
        "vfork": 0, "sched_yield": 0, "pause": 0, "exit": 1, "exit_group": 1, "close": 1, "brk": 1, "dup": 1,
        "uname": 1, "set_tid_address": 1, "umask": 1, "chdir": 1, "fchdir": 1, "pipe": 1, "time": 1,
        "read": 3, "write": 3, "open": 3, "lseek": 3, "mprotect": 3, "ioctl": 3, "readv": 3, "writev": 3,
        "dup2": 2, "dup3": 3, "fstat": 2, "stat": 2, "lstat": 2, "munmap": 2, "kill": 2, "access": 2,
        "getcwd": 2, "arch_prctl": 2, "clock_gettime": 2, "pipe2": 2, "openat": 4, "newfstatat": 4,
        "getdents64": 3, "readlink": 3, "readlinkat": 4, "wait4": 4, "execve": 3, "rt_sigaction": 4,
        "rt_sigprocmask": 4, "fcntl": 3, "getrandom": 3, "statx": 5, "mmap": 6, "clone": 5, "tgkill": 3,
        "faccessat": 3, "faccessat2": 4, "pread64": 4, "pwrite64": 4, "prlimit64": 4, "futex": 6,
    ]
}
