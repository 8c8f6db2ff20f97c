// Classic BPF as seccomp(2) runs it for the app: checked at install time with the rules Linux applies
// (EINVAL otherwise), interpreted against `struct seccomp_data`, and analysed per syscall number so a verdict
// that depends only on the number and architecture can be cached (AppSeccomp.swift).
// Our own host filters (Sandbox/SeccompFilter.swift) are built by libseccomp and run by the host kernel.
import LinuxABI

/// One classic-BPF instruction (`struct sock_filter`).
struct BPFInstruction: Equatable, Sendable {
    var code: UInt16
    var jt: UInt8
    var jf: UInt8
    var k: UInt32
}

/// The opcodes a seccomp program may use (classes, sizes, modes, operations of `linux/filter.h`).
enum BPFOp {
    static let ld: UInt16 = 0x00, ldx: UInt16 = 0x01, st: UInt16 = 0x02, stx: UInt16 = 0x03
    static let alu: UInt16 = 0x04, jmp: UInt16 = 0x05, ret: UInt16 = 0x06, misc: UInt16 = 0x07
    static let w: UInt16 = 0x00
    static let imm: UInt16 = 0x00, abs: UInt16 = 0x20, mem: UInt16 = 0x60, len: UInt16 = 0x80
    static let k: UInt16 = 0x00, x: UInt16 = 0x08, a: UInt16 = 0x10
    static let add: UInt16 = 0x00, sub: UInt16 = 0x10, mul: UInt16 = 0x20, div: UInt16 = 0x30, or: UInt16 = 0x40
    static let and: UInt16 = 0x50, lsh: UInt16 = 0x60, rsh: UInt16 = 0x70, neg: UInt16 = 0x80, xor: UInt16 = 0xa0
    static let ja: UInt16 = 0x00, jeq: UInt16 = 0x10, jgt: UInt16 = 0x20, jge: UInt16 = 0x30, jset: UInt16 = 0x40
    static let tax: UInt16 = 0x00, txa: UInt16 = 0x80
    /// Scratch memory words (BPF_MEMWORDS) and program limits (BPF_MAXINSNS).
    static let memoryWords = 16
    static let maxInstructions = 4096
}

/// What BPF_ABS loads read: a word at an offset, or nil when it is not known (the install-time analysis).
protocol BPFDataSource {
    func word(at offset: UInt32) -> UInt32?
}

/// `struct seccomp_data`: what a filter reads with BPF_ABS loads (64 bytes).
struct SeccompData: BPFDataSource {
    static let size: UInt32 = 64
    var nr: Int32
    var arch: UInt32
    var instructionPointer: UInt64
    var args: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The 32-bit word at `offset` (4-aligned, below 64: checked at install time), in host byte order.
    @inline(__always) func word(at offset: UInt32) -> UInt32? {
        switch offset {
        case 0: return UInt32(bitPattern: nr)
        case 4: return arch
        case 8: return UInt32(truncatingIfNeeded: instructionPointer)
        case 12: return UInt32(truncatingIfNeeded: instructionPointer >> 32)
        default:
            let i = Int(offset - 16) / 8
            let arg: UInt64
            switch i {
            case 0: arg = args.0
            case 1: arg = args.1
            case 2: arg = args.2
            case 3: arg = args.3
            case 4: arg = args.4
            default: arg = args.5
            }
            return offset % 8 == 0 ? UInt32(truncatingIfNeeded: arg) : UInt32(truncatingIfNeeded: arg >> 32)
        }
    }
}

/// A seccomp program that passed the install-time checks; running it cannot fail or loop.
struct BPFProgram: Sendable {
    let instructions: [BPFInstruction]

    /// Checks `instructions` as Linux does for seccomp: 1...4096 instructions, only the opcodes seccomp
    /// allows, aligned loads inside seccomp_data, jumps inside the program, no division by a constant 0 or
    /// shift by 32 or more, scratch words stored on every path before they are loaded, and a return last.
    init(validating instructions: [BPFInstruction]) throws(Errno) {
        let n = instructions.count
        guard n >= 1, n <= BPFOp.maxInstructions else { throw Errno.EINVAL }
        // Scratch words known to be stored when reaching each instruction (intersection over the paths).
        var stored = [UInt16?](repeating: nil, count: n)
        stored[0] = 0
        for pc in 0..<n {
            let insn = instructions[pc]
            let k = insn.k
            // Unreachable code still has to be valid; it starts with nothing stored.
            let known = stored[pc] ?? 0
            var after = known
            func flow(_ target: Int, _ value: UInt16) throws(Errno) {
                guard target < n else { throw Errno.EINVAL }
                stored[target] = stored[target].map { $0 & value } ?? value
            }
            switch insn.code {
            case BPFOp.ld | BPFOp.w | BPFOp.abs:
                guard k % 4 == 0, k < SeccompData.size else { throw Errno.EINVAL }
            case BPFOp.ld | BPFOp.w | BPFOp.len, BPFOp.ldx | BPFOp.w | BPFOp.len, BPFOp.ld | BPFOp.imm,
                 BPFOp.ldx | BPFOp.imm, BPFOp.misc | BPFOp.tax, BPFOp.misc | BPFOp.txa, BPFOp.alu | BPFOp.neg:
                break
            case BPFOp.ld | BPFOp.mem, BPFOp.ldx | BPFOp.mem:
                guard k < UInt32(BPFOp.memoryWords), known & (1 << k) != 0 else { throw Errno.EINVAL }
            case BPFOp.st, BPFOp.stx:
                guard k < UInt32(BPFOp.memoryWords) else { throw Errno.EINVAL }
                after |= 1 << k
            case BPFOp.ret | BPFOp.k, BPFOp.ret | BPFOp.a:
                continue  // no fall-through
            case BPFOp.jmp | BPFOp.ja:
                guard k < UInt32(n - pc - 1) else { throw Errno.EINVAL }
                try flow(pc + 1 + Int(k), after)
                continue
            default:
                let cls = insn.code & 0x07, op = insn.code & 0xf0, src = insn.code & 0x08
                guard insn.code & ~0xf8 == cls else { throw Errno.EINVAL }
                if cls == BPFOp.alu {
                    guard [BPFOp.add, BPFOp.sub, BPFOp.mul, BPFOp.div, BPFOp.or, BPFOp.and, BPFOp.lsh, BPFOp.rsh,
                           BPFOp.xor].contains(op) else { throw Errno.EINVAL }
                    if src == BPFOp.k && op == BPFOp.div && k == 0 { throw Errno.EINVAL }
                    if src == BPFOp.k && (op == BPFOp.lsh || op == BPFOp.rsh) && k >= 32 { throw Errno.EINVAL }
                } else if cls == BPFOp.jmp {
                    guard [BPFOp.jeq, BPFOp.jgt, BPFOp.jge, BPFOp.jset].contains(op) else { throw Errno.EINVAL }
                    try flow(pc + 1 + Int(insn.jt), after)
                    try flow(pc + 1 + Int(insn.jf), after)
                    continue
                } else {
                    throw Errno.EINVAL
                }
            }
            try flow(pc + 1, after)  // the last instruction falling through is refused here
        }
        let last = instructions[n - 1].code
        guard last == BPFOp.ret | BPFOp.k || last == BPFOp.ret | BPFOp.a else { throw Errno.EINVAL }
        self.instructions = instructions
    }

    /// The program's return value for `data`.
    func run(_ data: SeccompData) -> UInt32 {
        // `evaluate` only gives up when the source does, which seccomp_data never does.
        evaluate(data) ?? 0
    }

    /// The return value for syscall `nr` of `arch` if the program reaches it without looking at the
    /// instruction pointer or the arguments on that path; nil if it looks at them.
    func constantVerdict(nr: Int32, arch: UInt32) -> UInt32? {
        evaluate(NumberOnly(nr: nr, arch: arch))
    }

    /// seccomp_data with only the number and architecture known.
    private struct NumberOnly: BPFDataSource {
        let nr: Int32, arch: UInt32
        @inline(__always) func word(at offset: UInt32) -> UInt32? {
            offset == 0 ? UInt32(bitPattern: nr) : offset == 4 ? arch : nil
        }
    }

    /// Runs the program with `source` answering BPF_ABS loads; nil as soon as it cannot answer one.
    /// Programs only jump forward, so this ends within `instructions.count` steps. The opcodes are literals
    /// (commented) so the switch compiles to a jump table: this is the per-syscall path for uncached numbers.
    @inline(__always)
    private func evaluate<Source: BPFDataSource>(_ source: Source) -> UInt32? {
        instructions.withUnsafeBufferPointer { p -> UInt32? in
            var a: UInt32 = 0, x: UInt32 = 0
            var m = (UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0),
                     UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0), UInt32(0))
            var pc = 0
            while pc < p.count {
                let insn = p[pc]
                let k = insn.k
                pc += 1
                switch insn.code {
                case 0x20:  // ld [k]
                    guard let v = source.word(at: k) else { return nil }
                    a = v
                case 0x15: pc += Int(a == k ? insn.jt : insn.jf)        // jeq #k
                case 0x06: return k                                     // ret #k
                case 0x16: return a                                     // ret a
                case 0x54: a &= k                                       // and #k
                case 0x25: pc += Int(a > k ? insn.jt : insn.jf)         // jgt #k
                case 0x35: pc += Int(a >= k ? insn.jt : insn.jf)        // jge #k
                case 0x45: pc += Int(a & k != 0 ? insn.jt : insn.jf)    // jset #k
                case 0x1d: pc += Int(a == x ? insn.jt : insn.jf)        // jeq x
                case 0x2d: pc += Int(a > x ? insn.jt : insn.jf)         // jgt x
                case 0x3d: pc += Int(a >= x ? insn.jt : insn.jf)        // jge x
                case 0x4d: pc += Int(a & x != 0 ? insn.jt : insn.jf)    // jset x
                case 0x05: pc += Int(k)                                 // ja
                case 0x80: a = SeccompData.size                         // ld len
                case 0x81: x = SeccompData.size                         // ldx len
                case 0x00: a = k                                        // ld #k
                case 0x01: x = k                                        // ldx #k
                case 0x60: a = withUnsafeBytes(of: &m) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }   // ld M[k]
                case 0x61: x = withUnsafeBytes(of: &m) { $0.load(fromByteOffset: Int(k) * 4, as: UInt32.self) }   // ldx M[k]
                case 0x02: withUnsafeMutableBytes(of: &m) { $0.storeBytes(of: a, toByteOffset: Int(k) * 4, as: UInt32.self) }  // st
                case 0x03: withUnsafeMutableBytes(of: &m) { $0.storeBytes(of: x, toByteOffset: Int(k) * 4, as: UInt32.self) }  // stx
                case 0x07: x = a                                        // tax
                case 0x87: a = x                                        // txa
                case 0x84: a = 0 &- a                                   // neg
                case 0x04: a = a &+ k                                   // add #k
                case 0x0c: a = a &+ x                                   // add x
                case 0x14: a = a &- k                                   // sub #k
                case 0x1c: a = a &- x                                   // sub x
                case 0x24: a = a &* k                                   // mul #k
                case 0x2c: a = a &* x                                   // mul x
                case 0x34: a = a / k                                    // div #k (k != 0: checked at install)
                case 0x3c:                                              // div x
                    if x == 0 { return 0 }  // classic BPF: a division by zero ends the program with 0
                    a = a / x
                case 0x44: a |= k                                       // or #k
                case 0x4c: a |= x                                       // or x
                case 0x5c: a &= x                                       // and x
                case 0x64: a = a << (k & 31)                            // lsh #k
                case 0x6c: a = a << (x & 31)                            // lsh x
                case 0x74: a = a >> (k & 31)                            // rsh #k
                case 0x7c: a = a >> (x & 31)                            // rsh x
                case 0xa4: a ^= k                                       // xor #k
                case 0xac: a ^= x                                       // xor x
                default: return 0  // unreachable: validation admits only the opcodes above
                }
            }
            return 0  // unreachable: validation requires a return at the end of every path
        }
    }
}
