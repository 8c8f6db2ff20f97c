// The ELF loader's parsing of untrusted executables (ELFFile, driven by Fuzz/FuzzELF). Each hostile file
// below made the loader trap on an arithmetic overflow before ELFFile checked it; now it is an errno.
import Foundation
import LinuxABI
import XCTest
@testable import Sentry

final class ELFFileTests: XCTestCase {
    struct Header { var type: UInt32; var flags: UInt32 = 5; var offset: UInt64 = 0, vaddr: UInt64 = 0, filesz: UInt64 = 0x100, memsz: UInt64 = 0x100 }

    /// An x86-64 ELF file of `type` (2 ET_EXEC, 3 ET_DYN) with these program headers right after the header.
    static func elf(type: UInt16, _ headers: [Header], tail: [UInt8] = []) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 64)
        b[0...5] = [0x7f, 0x45, 0x4c, 0x46, 2, 1]
        func put(_ v: UInt64, at o: Int, _ n: Int, into a: inout [UInt8]) { for i in 0..<n { a[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        put(UInt64(type), at: 16, 2, into: &b); put(62, at: 18, 2, into: &b)
        put(0x1000, at: 24, 8, into: &b); put(64, at: 32, 8, into: &b)
        put(56, at: 54, 2, into: &b); put(UInt64(headers.count), at: 56, 2, into: &b)
        for h in headers {
            var p = [UInt8](repeating: 0, count: 56)
            put(UInt64(h.type), at: 0, 4, into: &p); put(UInt64(h.flags), at: 4, 4, into: &p)
            put(h.offset, at: 8, 8, into: &p); put(h.vaddr, at: 16, 8, into: &p)
            put(h.filesz, at: 32, 8, into: &p); put(h.memsz, at: 40, 8, into: &p)
            b += p
        }
        return b + tail
    }

    static func parse(_ file: [UInt8], isInterpreter: Bool = false) throws(Errno) -> ELFFile {
        try ELFFile.parse(isInterpreter: isInterpreter) { (offset, count) throws(Errno) -> [UInt8] in
            guard offset < UInt64(file.count) else { return [] }
            return Array(file[Int(offset)..<min(file.count, Int(offset) + count)])
        }
    }

    static let minAddress: UInt64 = 0x10000
    static let maxAddress: UInt64 = 0x7fff_0000_0000

    func place(_ elf: ELFFile, bias: UInt64) throws(Errno) -> [ELFFile.Placement] {
        try elf.placements(bias: bias, minAddress: Self.minAddress, maxAddress: Self.maxAddress).segments
    }

    func testOrdinaryExecutableIsPlacedAtItsAddresses() throws {
        let elf = try Self.parse(Self.elf(type: 2, [Header(type: 1, offset: 0x1234, vaddr: 0x40_1234, filesz: 0x10, memsz: 0x2000)]))
        XCTAssertEqual(elf.minVaddr, 0x40_1000)
        let placed = try place(elf, bias: 0)
        XCTAssertEqual(placed, [ELFFile.Placement(start: 0x40_1000, end: 0x40_4000, protection: [.read, .execute],
                                                  fileOffset: 0x1000, fileCount: 0x244, delta: 0x234)])
    }

    /// A PIE whose lowest address is above the PIE base: the bias wraps (as Linux's load_bias does) and
    /// the segments land at the base. Before: `mainPIEBase - minVaddr` trapped.
    func testPIEAboveTheBaseWrapsTheBias() throws {
        let elf = try Self.parse(Self.elf(type: 3, [Header(type: 1, vaddr: 0x7000_0000_0000)]))
        let placed = try place(elf, bias: ExecLoader.mainPIEBase &- elf.minVaddr)
        XCTAssertEqual(placed.first?.start, ExecLoader.mainPIEBase)
    }

    /// A segment whose file offset is smaller than its address's offset in the page. Before: trap.
    func testSegmentOffsetBelowItsPageOffsetIsENOEXEC() throws {
        let elf = try Self.parse(Self.elf(type: 2, [Header(type: 1, offset: 0x10, vaddr: 0x40_0800)]))
        XCTAssertThrowsError(try place(elf, bias: 0)) { XCTAssertEqual($0 as? Errno, .ENOEXEC) }
    }

    /// A file offset no file can have (past off_t) in a PT_LOAD or PT_INTERP. Before: `Int64(offset)` trapped,
    /// and `phoff < offset + filesz` overflowed.
    func testHugeFileOffsetsAreENOEXEC() throws {
        let load = try Self.parse(Self.elf(type: 2, [Header(type: 1, offset: UInt64.max - 0xf, vaddr: 0x40_0000)]))
        XCTAssertThrowsError(try place(load, bias: 0)) { XCTAssertEqual($0 as? Errno, .ENOEXEC) }
        let interp = Self.elf(type: 2, [Header(type: 3, offset: 1 << 63, filesz: 20), Header(type: 1, vaddr: 0x40_0000)])
        XCTAssertThrowsError(try Self.parse(interp)) { XCTAssertEqual($0 as? Errno, .ENOEXEC) }
    }

    /// PT_PHDR at an address that overflows with the bias: AT_PHDR just wraps (it is only passed to the app).
    func testPHDRAddressWraps() throws {
        let elf = try Self.parse(Self.elf(type: 3, [Header(type: 6, vaddr: UInt64.max - 8), Header(type: 1)]))
        XCTAssertEqual(try elf.placements(bias: ExecLoader.mainPIEBase, minAddress: Self.minAddress,
                                          maxAddress: Self.maxAddress).phdrAddress, ExecLoader.mainPIEBase &- 9)
    }

    func testOutOfRangeAddressesAreENOMEM() throws {
        let elf = try Self.parse(Self.elf(type: 2, [Header(type: 1, vaddr: 0x7fff_ffff_0000)]))
        XCTAssertThrowsError(try place(elf, bias: 0)) { XCTAssertEqual($0 as? Errno, .ENOMEM) }
    }

    /// The same files execve'd by an app on a real Sentry: ENOEXEC for the app, where the Sentry used to die.
    func testHostileExecutablesGiveENOEXECToTheApp() throws {
        let dir = NSTemporaryDirectory() + "elf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let files = [
            Self.elf(type: 2, [Header(type: 1, offset: 0x10, vaddr: 0x40_0800)]),
            Self.elf(type: 2, [Header(type: 1, offset: UInt64.max - 0xf, vaddr: 0x40_0000)]),
            Self.elf(type: 2, [Header(type: 3, offset: 1 << 63, filesz: 20), Header(type: 1, vaddr: 0x40_0000)]),
        ]
        for (i, bytes) in files.enumerated() {
            XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/bad\(i)", contents: Data(bytes), attributes: [.posixPermissions: 0o755]))
        }
        let script = "import os\nfor i in range(3):\n    try: os.execv('\(dir)/bad%d' % i, ['bad'])\n    except OSError as e: print(e.errno)\n"
        let r = try SentryHarness.run(["/usr/bin/python3", "-c", script])
        XCTAssertEqual(r.stdout, "8\n8\n8\n", r.stderr)
        XCTAssertEqual(r.status, .exited(0), r.stderr)
    }

    func testInterpreterPathAndScriptLines() throws {
        let path = Array("/lib64/ld-linux-x86-64.so.2".utf8) + [0]
        let file = Self.elf(type: 3, [Header(type: 3, offset: 64 + 2 * 56, filesz: UInt64(path.count)), Header(type: 1)], tail: path)
        XCTAssertEqual(try Self.parse(file).interpreter, "/lib64/ld-linux-x86-64.so.2")
        XCTAssertNil(try Self.parse(file, isInterpreter: true).interpreter)

        XCTAssertTrue(try ELFFile.scriptInterpreter(Array("#!  /bin/sh  -e \nexit".utf8)) == ("/bin/sh", "-e"))
        XCTAssertTrue(try ELFFile.scriptInterpreter(Array("#!/bin/sh".utf8)) == ("/bin/sh", nil))
        XCTAssertThrowsError(try ELFFile.scriptInterpreter(Array("#! \t \n/bin/sh".utf8)))
        XCTAssertThrowsError(try ELFFile.scriptInterpreter(Array("#".utf8)))
    }
}
