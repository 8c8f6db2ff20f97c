// Shared pieces of the ptrace platform tests: a MemoryFile, a platform on it, tiny x86-64 programs, and a
// way to run a test body on its own host thread (address spaces are bound to the thread that created them).
import CLinux
import Foundation
import Glibc
import Platform
@testable import PlatformPtrace
import XCTest

/// A memfd standing in for the Sentry's MemoryFile, plus a platform mapping from it.
final class Harness: @unchecked Sendable {
    // @unchecked Sendable: created on the test thread and handed to one worker thread at a time.
    let memfd: Int32
    let platform: PtracePlatform

    static let codeAddress: UInt64 = 0x40_0000
    static let codeOffset: UInt64 = 0
    static let stackOffset: UInt64 = 0x1000
    static let dataOffset: UInt64 = 0x2000

    init(pinThreads: Bool = true) throws {
        let fd = Int32(truncatingIfNeeded: clinux_syscall6(319, Int(bitPattern: ("ptrace-test" as StaticString).utf8Start), 0, 0, 0, 0, 0))  // memfd_create
        guard fd >= 0 else { throw PlatformError("memfd_create: errno \(clinux_errno())") }
        guard ftruncate(fd, 1 << 20) == 0 else { throw PlatformError("ftruncate: errno \(clinux_errno())") }
        memfd = fd
        platform = try PtracePlatform(memoryFileFD: fd, pinThreads: pinThreads)
    }

    deinit { close(memfd) }

    /// Top of the app stack: the page just below the stub region.
    var stackTop: UInt64 { platform.maxUserAddress }

    func write(_ bytes: [UInt8], at offset: UInt64) {
        let n = bytes.withUnsafeBytes { pwrite(memfd, $0.baseAddress, $0.count, off_t(offset)) }
        precondition(n == bytes.count, "pwrite to the test memfd failed")
    }

    func write64(_ value: UInt64, at offset: UInt64) {
        write(withUnsafeBytes(of: value.littleEndian) { Array($0) }, at: offset)
    }

    func read64(at offset: UInt64) -> UInt64 {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { pread(memfd, $0.baseAddress, 8, off_t(offset)) }
        return UInt64(littleEndian: value)
    }

    /// A fresh address space with `code` mapped r-x at codeAddress and one stack page, plus registers to
    /// start it, and a context; all for the calling thread.
    func start(_ code: [UInt8]) throws -> (PtraceAddressSpace, PtraceContext, Registers) {
        write(code, at: Harness.codeOffset)
        let context = platform.newPtraceContext()
        let space = try platform.newPtraceAddressSpace()
        try space.map(Harness.codeAddress, length: 0x1000, fileOffset: Harness.codeOffset, protection: [.read, .execute])
        try space.map(stackTop - 0x1000, length: 0x1000, fileOffset: Harness.stackOffset, protection: [.read, .write])
        var regs = space.initialRegisters()
        regs.rip = Harness.codeAddress
        regs.rsp = stackTop - 16
        return (space, context, regs)
    }
}

/// Hand-assembled x86-64 instructions.
enum X86 {
    static func movEAX(_ v: UInt32) -> [UInt8] { [0xb8] + le32(v) }
    static func movR12D(_ v: UInt32) -> [UInt8] { [0x41, 0xbc] + le32(v) }
    static func movabsRAX(_ v: UInt64) -> [UInt8] { [0x48, 0xb8] + le64(v) }
    static let syscall: [UInt8] = [0x0f, 0x05]
    static let movRDIfromRAX: [UInt8] = [0x48, 0x89, 0xc7]
    static let movRDIfromRBX: [UInt8] = [0x48, 0x89, 0xdf]
    static let movRBXfromMemRAX: [UInt8] = [0x48, 0x8b, 0x18]          // mov rbx, [rax]
    static let storeOneToMemRAX: [UInt8] = [0x48, 0xc7, 0x00, 1, 0, 0, 0] // mov qword [rax], 1
    static let jmpRAX: [UInt8] = [0xff, 0xe0]
    static let movqRDIfromXMM0: [UInt8] = [0x66, 0x48, 0x0f, 0x7e, 0xc7]
    static let decR12: [UInt8] = [0x49, 0xff, 0xcc]
    static let int3: [UInt8] = [0xcc]
    static let jmpSelf: [UInt8] = [0xeb, 0xfe]
    /// exit(rdi): the Sentry sees syscall 60 and reads rdi.
    static let exitWithRDI: [UInt8] = movEAX(60) + syscall

    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

private final class ErrorBox: @unchecked Sendable {
    // @unchecked Sendable: written by the worker thread before it signals, read after the wait.
    var error: Error?
}

/// Runs `body` on a new host thread and waits for it; rethrows its error. Each test gets a thread of its
/// own because the thread that creates an address space is its stub's tracer (and gets pinned).
func onOwnThread(_ body: @escaping @Sendable () throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let box = ErrorBox()
    let thread = Thread {
        do { try body() } catch { box.error = error }
        done.signal()
    }
    thread.start()
    done.wait()
    if let error = box.error { throw error }
}

/// The text of a /proc file (their size is 0 to stat, so read until EOF).
func readProcFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Advances past events that are not the one a test waits for (a stray .interrupted is allowed by the
/// protocol) and fails on anything else.
func nextSyscall(_ context: PtraceContext, _ space: PtraceAddressSpace, _ regs: inout Registers,
                 file: StaticString = #filePath, line: UInt = #line) -> Bool {
    for _ in 0..<10 {
        let event = context.switchToApp(space, &regs)
        if event == .syscall { return true }
        if event == .interrupted { continue }
        XCTFail("expected a syscall, got \(event)", file: file, line: line)
        return false
    }
    XCTFail("no syscall after 10 interruptions", file: file, line: line)
    return false
}
