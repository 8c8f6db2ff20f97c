// The stub region: a fixed range high in the user half that holds the stub's code and its seccomp filter.
// It is reserved once per Sentry process; every stub is a fork of the Sentry and so finds it at the same
// address, and app mappings must stay below it (it is the platform's maxUserAddress).
import CLinux
import Glibc
import LinuxABI
import Platform
import Synchronization

private func cPtraceStubSpawn(_ entry: UInt64, _ regionStart: UInt64, _ regionEnd: UInt64, _ memfd: Int32,
                              _ parentPID: Int32) -> Int {
    ptrace_stub_spawn(entry, regionStart, regionEnd, memfd, parentPID)
}
private func cPtraceStubCodeAddress() -> UInt64 { ptrace_stub_code_address() }
private func cPtraceStubCodeLength() -> UInt64 { ptrace_stub_code_length() }
private func cPtraceStubSiteOffset() -> UInt64 { ptrace_stub_site_offset() }

/// Where the stub lives and where its code's landmarks are.
struct StubRegion: Sendable {
    /// 64 KiB: page 0 holds the code and the seccomp filter (r-x); the rest is PROT_NONE, kept free so the
    /// stub can grow (a stack, more code) without moving maxUserAddress.
    static let size: UInt64 = 0x10000
    static let pageSize: UInt64 = 4096
    /// Must match PTRACE_STUB_FPROG_OFFSET in PtraceStub.h (the stub loads it as region start + 0x800).
    static let fprogOffset: UInt64 = 0x800

    /// Tried in order. High, so that app stacks can sit just below like on Linux, but not at the very top
    /// where the Sentry's own main stack usually is; a candidate already in use is skipped.
    static let candidates: [UInt64] = [
        0x7fff_f000_0000, 0x7ffe_0000_0000, 0x7ff8_0000_0000, 0x7ff0_0000_0000,
        0x7fe0_0000_0000, 0x7f00_0000_0000, 0x7e00_0000_0000, 0x7000_0000_0000,
    ]

    let start: UInt64
    var end: UInt64 { start + StubRegion.size }
    /// The stub's first instruction.
    var entry: UInt64 { start }
    /// The `syscall` instruction injections execute; `int3` follows it.
    let syscallSite: UInt64
    /// Length of the `syscall` instruction: where rip is after an injected syscall completed.
    static let syscallLength: UInt64 = 2

    private static let shared = Mutex<StubRegion?>(nil)

    /// The process's region, reserved and filled on first use.
    static func reserve() throws -> StubRegion {
        try shared.withLock { region in
            if let region { return region }
            let made = try create()
            region = made
            return made
        }
    }

    private static func create() throws -> StubRegion {
        let codeLength = cPtraceStubCodeLength()
        let siteOffset = cPtraceStubSiteOffset()
        let filter = stubSeccompFilter()
        guard codeLength > 0, codeLength <= fprogOffset, siteOffset < codeLength,
              fprogOffset + 16 + UInt64(filter.count * 8) <= pageSize else {
            throw PlatformError("ptrace platform: the stub code (\(codeLength) bytes) or its seccomp filter "
                                + "(\(filter.count) instructions) does not fit the stub page")
        }
        let stack = mainStackRange()
        var failures: [String] = []
        for candidate in candidates {
            // Leave the main stack 1 GiB to grow into: NOREPLACE only sees what is mapped today.
            if let stack, candidate < stack.upperBound, candidate + size + (1 << 30) > stack.lowerBound {
                failures.append("0x\(String(candidate, radix: 16)): too close to the main stack")
                continue
            }
            let p = mmap(UnsafeMutableRawPointer(bitPattern: UInt(candidate)), Int(size), PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | Int32(MemoryFlags.MAP_FIXED_NOREPLACE), -1, 0)
            guard let p, p != MAP_FAILED else {
                failures.append("0x\(String(candidate, radix: 16)): \(Host.describe(errno: clinux_errno()))")
                continue
            }
            guard UInt64(UInt(bitPattern: p)) == candidate else {
                // A kernel that ignores MAP_FIXED_NOREPLACE treats the address as a hint.
                munmap(p, Int(size))
                failures.append("0x\(String(candidate, radix: 16)): the kernel placed it elsewhere")
                continue
            }
            fill(p, codeLength: codeLength, filter: filter, regionStart: candidate)
            guard mprotect(p, Int(pageSize), PROT_READ | PROT_EXEC) == 0,
                  mprotect(p + Int(pageSize), Int(size - pageSize), PROT_NONE) == 0 else {
                let e = clinux_errno()
                munmap(p, Int(size))
                throw PlatformError("ptrace platform: mprotect of the stub region at 0x\(String(candidate, radix: 16)) "
                                    + "failed: \(Host.describe(errno: e))")
            }
            return StubRegion(start: candidate, syscallSite: candidate + siteOffset)
        }
        throw PlatformError("ptrace platform: could not reserve the \(size / 1024) KiB stub region: "
                            + failures.joined(separator: "; "))
    }

    /// Copies the code to the start of the page, then the `struct sock_fprog` and the filter it points to.
    private static func fill(_ page: UnsafeMutableRawPointer, codeLength: UInt64, filter: [UInt64],
                             regionStart: UInt64) {
        let code = UnsafeRawPointer(bitPattern: UInt(cPtraceStubCodeAddress()))
        page.copyMemory(from: code!, byteCount: Int(codeLength))
        let fprog = page + Int(fprogOffset)
        fprog.storeBytes(of: UInt64(filter.count), as: UInt64.self)  // unsigned short len, then padding
        fprog.storeBytes(of: regionStart + fprogOffset + 16, toByteOffset: 8, as: UInt64.self)
        for (i, instruction) in filter.enumerated() {
            fprog.storeBytes(of: instruction, toByteOffset: 16 + 8 * i, as: UInt64.self)
        }
    }

    /// [start, end) of the "[stack]" mapping in /proc/self/maps, if it can be read.
    private static func mainStackRange() -> Range<UInt64>? {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasSuffix("[stack]") {
            let range = line.prefix(while: { $0 != " " }).split(separator: "-")
            if range.count == 2, let lo = UInt64(range[0], radix: 16), let hi = UInt64(range[1], radix: 16), lo < hi {
                return lo..<hi
            }
        }
        return nil
    }

    /// Forks a stub; see PtraceStub.h. Returns the pid or -errno.
    func spawn(memoryFileFD: Int32) -> Int {
        cPtraceStubSpawn(entry, start, end, memoryFileFD, getpid())
    }
}

/// The stub's seccomp filter as raw `struct sock_filter`s: x86-64 only; mmap only as MAP_SHARED|MAP_FIXED
/// (the MemoryFile is the only descriptor the stub keeps); munmap, mprotect, exit, exit_group; anything else
/// kills the stub. Injected syscalls pass through it; app syscalls never reach it (SYSEMU skips seccomp).
/// The exception is the kernel's vsyscall emulation (an app calling the legacy vsyscall page, as old static
/// binaries do): it consults seccomp but not SYSEMU, so calls from there (an instruction pointer in the
/// kernel half) are handed to the tracer with RET_TRACE, and PtraceContext reports them as syscalls.
func stubSeccompFilter() -> [UInt64] {
    var program = BPFProgram()
    let nr: UInt32 = 0, arch: UInt32 = 4, ipHigh: UInt32 = 12, mmapFlags: UInt32 = 16 + 3 * 8
    program.load(arch)
    program.jumpIfEqual(0xc000_003e, then: nil, else: "kill")  // AUDIT_ARCH_X86_64
    program.load(ipHigh)
    program.jumpIfEqual(0xffff_ffff, then: "trace", else: nil)
    program.load(nr)
    program.jumpIfEqual(UInt32(SyscallNumber.mmap), then: "mmap", else: nil)
    for allowed in [SyscallNumber.munmap, SyscallNumber.mprotect, SyscallNumber.exit, SyscallNumber.exit_group] {
        program.jumpIfEqual(UInt32(allowed), then: "allow", else: nil)
    }
    program.jump("kill")
    program.label("mmap")
    program.load(mmapFlags)
    program.jumpIfEqual(UInt32(MemoryFlags.MAP_SHARED | MemoryFlags.MAP_FIXED), then: nil, else: "kill")
    program.load(mmapFlags + 4)
    program.jumpIfEqual(0, then: "allow", else: "kill")
    program.label("allow")
    program.ret(0x7fff_0000)  // SECCOMP_RET_ALLOW
    program.label("trace")
    program.ret(0x7ff0_0000)  // SECCOMP_RET_TRACE
    program.label("kill")
    program.ret(0x8000_0000)  // SECCOMP_RET_KILL_PROCESS
    return program.assembled()
}

/// A classic-BPF program with forward jumps to named labels (offsets count from the next instruction).
struct BPFProgram {
    private var code: [(opcode: UInt16, k: UInt32, jt: String?, jf: String?)] = []
    private var labels: [String: Int] = [:]

    mutating func load(_ offset: UInt32) { code.append((0x20, offset, nil, nil)) }  // BPF_LD|BPF_W|BPF_ABS
    mutating func ret(_ value: UInt32) { code.append((0x06, value, nil, nil)) }     // BPF_RET|BPF_K
    mutating func jump(_ target: String) { code.append((0x05, 0, target, nil)) }    // BPF_JMP|BPF_JA
    /// BPF_JMP|BPF_JEQ|BPF_K; nil falls through.
    mutating func jumpIfEqual(_ k: UInt32, then: String?, else otherwise: String?) {
        code.append((0x15, k, then, otherwise))
    }
    mutating func label(_ name: String) { labels[name] = code.count }

    /// The `struct sock_filter`s as little-endian UInt64s. Every label must exist and lie ahead (BPF jumps
    /// only forward); a mistake here is a programming error caught by the filter tests, so it traps.
    func assembled() -> [UInt64] {
        code.enumerated().map { index, instruction in
            func offset(_ label: String?) -> UInt64 {
                guard let label else { return 0 }
                let target = labels[label]!
                precondition(target > index && target - index - 1 <= 255, "bad BPF jump to \(label)")
                return UInt64(target - index - 1)
            }
            if instruction.opcode == 0x05 {  // BPF_JA: the offset is k
                return UInt64(instruction.opcode) | offset(instruction.jt) << 32
            }
            return UInt64(instruction.opcode) | offset(instruction.jt) << 16 | offset(instruction.jf) << 24
                | UInt64(instruction.k) << 32
        }
    }
}
