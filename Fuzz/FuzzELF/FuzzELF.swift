// libFuzzer target: the ELF loader's parsing of an app's executable (ExecLoader via ELFFile): header,
// program headers, PT_INTERP, "#!" lines, and the placement arithmetic for the biases execve uses. The app
// chooses these bytes (it can write any file and execve it), so they must give an errno, never a trap.
import LinuxABI
@testable import Sentry  // ELFFile is internal; debug builds (make fuzz) allow @testable

/// A file read as ExecLoader.readBytes does it: short at the end, and an offset that does not fit the
/// host's off_t is a bug in the caller (readBytes would trap converting it), so it is one here too.
private func reader(_ file: [UInt8]) -> (UInt64, Int) throws(Errno) -> [UInt8] {
    { (offset, count) throws(Errno) -> [UInt8] in
        precondition(offset <= UInt64(Int64.max), "read at an offset no file has: \(offset)")
        precondition(count >= 0, "read of a negative count")
        guard offset < UInt64(file.count) else { return [] }
        let start = Int(offset)
        return Array(file[start..<min(file.count, start + count)])
    }
}

/// The address range of the ptrace platform's app address space (PtraceAddressSpace).
private let minAddress: UInt64 = 0x10000
private let maxAddress: UInt64 = 0x7fff_0000_0000
import FuzzDriver

@_cdecl("FuzzELF_main")
public func fuzzELFMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzELF)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzELF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    _ = try? ELFFile.scriptInterpreter(Array(bytes.prefix(256)))
    for isInterpreter in [false, true] {
        guard let elf = try? ELFFile.parse(isInterpreter: isInterpreter, read: reader(bytes)) else { continue }
        // The biases loadELF uses: none for ET_EXEC, the PIE base for a main ET_DYN, and wherever mmap put
        // an interpreter's reservation (a few plausible bases).
        var biases: [UInt64] = [0]
        if elf.type == 3 {
            biases = isInterpreter ? [0x7f00_0000_0000, minAddress, maxAddress &- elf.span].map { $0 &- elf.minVaddr }
                                   : [ExecLoader.mainPIEBase &- elf.minVaddr]
        }
        for bias in biases {
            guard let (placements, _) = try? elf.placements(bias: bias, minAddress: minAddress, maxAddress: maxAddress) else {
                continue
            }
            for p in placements {
                precondition(p.start < p.end && p.start >= minAddress && p.end <= maxAddress + PageSize.mask,
                             "segment placed outside the address space")
                precondition(p.fileCount >= 0 && Int64(exactly: p.fileOffset) != nil, "unreadable file range")
            }
        }
    }
    return 0
}
