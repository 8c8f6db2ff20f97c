// The untrusted-bytes half of execve: an ELF file's header, program headers and PT_INTERP path, a "#!"
// line, and where each PT_LOAD segment goes for a given load bias. Every sum and difference on a field of
// the file is checked, so a hostile file gives ENOEXEC/ENOMEM, never a trap. Nothing here touches a Task
// or an address space: ExecLoader does the mapping, and Fuzz/FuzzELF drives this with arbitrary bytes.
import LinuxABI
import Platform

struct ELFFile {
    struct Segment: Equatable { var type: UInt32; var flags: UInt32; var offset, vaddr, filesz, memsz: UInt64 }

    /// One PT_LOAD segment at its final address: map [start, end) with `protection`, and fill its first
    /// `fileCount` bytes from the file at `fileOffset` (the page-aligned start of the segment's bytes; the
    /// segment itself begins `delta` bytes into the first page).
    struct Placement: Equatable {
        var start, end: UInt64
        var protection: Protection
        var fileOffset: UInt64
        var fileCount: Int
        var delta: UInt64
    }

    static let PT_LOAD: UInt32 = 1, PT_INTERP: UInt32 = 3, PT_PHDR: UInt32 = 6

    /// 2: ET_EXEC, 3: ET_DYN.
    var type: UInt16
    var entry: UInt64
    var phoff: UInt64
    var phnum: UInt64
    var segments: [Segment]
    var loads: [Segment]
    /// PT_INTERP's path (main executables only).
    var interpreter: String?
    /// Lowest PT_LOAD address rounded down to a page, and the highest end (vaddr + memsz).
    var minVaddr: UInt64
    var maxEnd: UInt64
    /// maxEnd - minVaddr rounded up to pages: what an ET_DYN interpreter reserves.
    var span: UInt64

    /// Parses the file that `read(offset, count)` reads from (short reads at the end of the file are fine).
    static func parse(isInterpreter: Bool, read: (UInt64, Int) throws(Errno) -> [UInt8]) throws(Errno) -> ELFFile {
        let h = try read(0, 64)
        guard h.count == 64, h[0] == 0x7f, h[1] == 0x45, h[2] == 0x4c, h[3] == 0x46 else { throw Errno.ENOEXEC }
        guard h[4] == 2, h[5] == 1 else { throw Errno.ENOEXEC }  // ELFCLASS64, little endian
        let type = le16(h, 16), machine = le16(h, 18)
        guard machine == 62 else { throw Errno.ENOEXEC }            // EM_X86_64
        guard type == 2 || type == 3 else { throw Errno.ENOEXEC }   // ET_EXEC, ET_DYN
        let entry = le64(h, 24), phoff = le64(h, 32)
        let phentsize = UInt64(le16(h, 54)), phnum = UInt64(le16(h, 56))
        guard phentsize == 56, phnum > 0, phnum <= 128, phoff < (1 << 32) else { throw Errno.ENOEXEC }
        let ph = try read(phoff, Int(phnum * 56))
        guard ph.count == Int(phnum * 56) else { throw Errno.ENOEXEC }

        var segments: [Segment] = []
        for i in 0..<Int(phnum) {
            let b = i * 56
            segments.append(Segment(type: le32(ph, b), flags: le32(ph, b + 4), offset: le64(ph, b + 8),
                                    vaddr: le64(ph, b + 16), filesz: le64(ph, b + 32), memsz: le64(ph, b + 40)))
        }
        let loads = segments.filter { $0.type == PT_LOAD }
        guard let lowest = loads.map(\.vaddr).min() else { throw Errno.ENOEXEC }
        var interpreter: String?
        if !isInterpreter, let ip = segments.first(where: { $0.type == PT_INTERP }) {
            // The offset comes from the file: one past what a file offset can be is not a file position.
            guard ip.filesz > 1, ip.filesz < 4096, ip.offset <= UInt64(Int64.max) else { throw Errno.ENOEXEC }
            var bytes = try read(ip.offset, Int(ip.filesz))
            if let nul = bytes.firstIndex(of: 0) { bytes = Array(bytes[..<nul]) }
            interpreter = String(decoding: bytes, as: UTF8.self)
        }
        let minVaddr = PageSize.roundDown(lowest)
        var maxEnd: UInt64 = 0
        for s in loads {
            let (e, o) = s.vaddr.addingReportingOverflow(s.memsz)
            guard !o, s.filesz <= s.memsz else { throw Errno.ENOEXEC }
            maxEnd = max(maxEnd, e)
        }
        guard let span = PageSize.roundUp(maxEnd - minVaddr), span > 0, span < (1 << 40) else { throw Errno.ENOEXEC }
        return ELFFile(type: type, entry: entry, phoff: phoff, phnum: phnum, segments: segments, loads: loads,
                       interpreter: interpreter, minVaddr: minVaddr, maxEnd: maxEnd, span: span)
    }

    /// Where the PT_LOAD segments go with `bias` added (bias is page-aligned; it may wrap, as Linux's
    /// load_bias does: only the biased addresses must lie in [minAddress, maxAddress]), and AT_PHDR.
    func placements(bias: UInt64, minAddress: UInt64, maxAddress: UInt64) throws(Errno) -> (segments: [Placement], phdrAddress: UInt64) {
        guard minVaddr &+ bias >= minAddress, maxEnd &+ bias <= maxAddress,
              maxEnd &+ bias >= minVaddr &+ bias else { throw Errno.ENOMEM }
        // From here every vaddr + bias lies between minVaddr + bias and maxEnd + bias without wrapping.
        var phdrAddress: UInt64 = 0
        if let p = segments.first(where: { $0.type == ELFFile.PT_PHDR }) { phdrAddress = p.vaddr &+ bias }
        var result: [Placement] = []
        for s in loads {
            let address = s.vaddr &+ bias
            let start = PageSize.roundDown(address)
            let delta = address - start
            guard let end = PageSize.roundUp(address + s.memsz), end > start else { continue }
            var prot: Protection = []
            if s.flags & 4 != 0 { prot.insert(.read) }
            if s.flags & 2 != 0 { prot.insert(.write) }
            if s.flags & 1 != 0 { prot.insert(.execute) }
            // The segment's bytes must start at or after `delta` in the file and at a readable offset.
            guard s.offset >= delta, s.offset - delta <= UInt64(Int64.max) else { throw Errno.ENOEXEC }
            if phdrAddress == 0 && phoff >= s.offset && phoff - s.offset < s.filesz {
                phdrAddress = address + (phoff - s.offset)
            }
            result.append(Placement(start: start, end: end, protection: prot, fileOffset: s.offset - delta,
                                    fileCount: Int(s.filesz + delta), delta: delta))
        }
        return (result, phdrAddress)
    }

    /// A "#!" line's interpreter and optional argument (the first 256 bytes of the file, "#!" included).
    static func scriptInterpreter(_ head: [UInt8]) throws(Errno) -> (path: String, argument: String?) {
        guard head.starts(with: [0x23, 0x21]) else { throw Errno.ENOEXEC }
        let lineEnd = head.firstIndex(of: 0x0a) ?? head.count
        let line = String(decoding: head[2..<lineEnd], as: UTF8.self).trimmingSpaces()
        let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let first = parts.first else { throw Errno.ENOEXEC }
        return (String(first), parts.count > 1 ? String(parts[1]).trimmingSpaces() : nil)
    }

    private static func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    private static func le64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
}
