// The Sentry's own terminal line discipline (what Linux calls N_TTY), written from termios(3) and the
// POSIX "General Terminal Interface": input processing (ICRNL/INLCR/IGNCR), canonical line editing (ERASE,
// KILL, WERASE, EOF, EOL), echo (ECHO, ECHOE, ECHOK, ECHONL, ECHOCTL, ECHOKE), the signal characters of
// ISIG, and output processing (OPOST, ONLCR, OCRNL). A value type: the pseudo-terminal that owns it
// (DevPTS.swift) serializes access under its lock and does the blocking and the signalling.
import LinuxABI

/// termios flag bits and control-character indices (Linux x86-64 values).
enum TermiosBits {
    // c_iflag
    static let ISTRIP: UInt32 = 0o40, INLCR: UInt32 = 0o100, IGNCR: UInt32 = 0o200, ICRNL: UInt32 = 0o400
    static let IXON: UInt32 = 0o2000
    // c_oflag
    static let OPOST: UInt32 = 0o1, ONLCR: UInt32 = 0o4, OCRNL: UInt32 = 0o10, ONOCR: UInt32 = 0o20, ONLRET: UInt32 = 0o40
    // c_cflag: B38400 | CS8 | CREAD | HUPCL
    static let defaultCflag: UInt32 = 0o17 | 0o60 | 0o200 | 0o2000
    // c_lflag
    static let ISIG: UInt32 = 0o1, ICANON: UInt32 = 0o2, ECHO: UInt32 = 0o10, ECHOE: UInt32 = 0o20
    static let ECHOK: UInt32 = 0o40, ECHONL: UInt32 = 0o100, NOFLSH: UInt32 = 0o200, TOSTOP: UInt32 = 0o400
    static let ECHOCTL: UInt32 = 0o1000, ECHOKE: UInt32 = 0o4000, IEXTEN: UInt32 = 0o100000
    // c_cc indices
    static let VINTR = 0, VQUIT = 1, VERASE = 2, VKILL = 3, VEOF = 4, VTIME = 5, VMIN = 6, VSTART = 8
    static let VSTOP = 9, VSUSP = 10, VEOL = 11, VWERASE = 14, VLNEXT = 15, VEOL2 = 16
}

/// struct termios / termios2 as the kernel ABI lays them out (36 / 44 bytes).
struct Termios: Equatable {
    var iflag: UInt32 = TermiosBits.ICRNL | TermiosBits.IXON
    var oflag: UInt32 = TermiosBits.OPOST | TermiosBits.ONLCR
    var cflag: UInt32 = TermiosBits.defaultCflag
    var lflag: UInt32 = TermiosBits.ISIG | TermiosBits.ICANON | TermiosBits.ECHO | TermiosBits.ECHOE
        | TermiosBits.ECHOK | TermiosBits.ECHOCTL | TermiosBits.ECHOKE | TermiosBits.IEXTEN
    var line: UInt8 = 0
    /// INTR ^C, QUIT ^\, ERASE DEL, KILL ^U, EOF ^D, TIME 0, MIN 1, SWTC, START ^Q, STOP ^S, SUSP ^Z, EOL,
    /// REPRINT ^R, DISCARD ^O, WERASE ^W, LNEXT ^V, EOL2.
    var cc: [UInt8] = [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0]
    var ispeed: UInt32 = 38400
    var ospeed: UInt32 = 38400

    static let size = 36, size2 = 44

    func encode(termios2: Bool) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: termios2 ? Termios.size2 : Termios.size)
        b.withUnsafeMutableBytes { p in
            p.storeBytes(of: iflag, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: oflag, toByteOffset: 4, as: UInt32.self)
            p.storeBytes(of: cflag, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: lflag, toByteOffset: 12, as: UInt32.self)
            p[16] = line
            for i in 0..<19 { p[17 + i] = cc[i] }
            if termios2 {
                p.storeBytes(of: ispeed, toByteOffset: 36, as: UInt32.self)
                p.storeBytes(of: ospeed, toByteOffset: 40, as: UInt32.self)
            }
        }
        return b
    }

    /// From the app's bytes (TCSETS: the speeds are kept; TCSETS2 sets them too).
    init(bytes b: [UInt8], keeping old: Termios) {
        func u32(_ o: Int) -> UInt32 { UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24 }
        iflag = u32(0); oflag = u32(4); cflag = u32(8); lflag = u32(12); line = b[16]
        cc = Array(b[17..<36])
        if b.count >= Termios.size2 { ispeed = u32(36); ospeed = u32(40) } else { ispeed = old.ispeed; ospeed = old.ospeed }
    }

    init() {}

    func has(l flag: UInt32) -> Bool { lflag & flag != 0 }
    func has(i flag: UInt32) -> Bool { iflag & flag != 0 }
    func has(o flag: UInt32) -> Bool { oflag & flag != 0 }
}

/// The queues and editing state of one terminal.
struct LineDiscipline {
    /// Input the replica may read: in canonical mode each chunk is one finished line (an EOF-ended line
    /// may be empty: a read of it returns 0); in non-canonical mode chunks are just arrival batches.
    private(set) var ready: [[UInt8]] = []
    private(set) var readyCount = 0
    /// The canonical line being edited (not readable yet).
    private(set) var editing: [UInt8] = []
    /// Bytes for the master to read: the replica's output and echoes, after output processing.
    private(set) var output: [UInt8] = []
    var termios = Termios()

    /// Linux's N_TTY_BUF_SIZE: the input queue's size, and the longest canonical line (one byte is kept
    /// for the line's end).
    static let inputCapacity = 4096
    static let outputCapacity = 16384

    var canonical: Bool { termios.has(l: TermiosBits.ICANON) }
    var inputRoom: Int { max(0, LineDiscipline.inputCapacity - readyCount - editing.count) }
    var outputRoom: Int { max(0, LineDiscipline.outputCapacity - output.count) }
    /// Whether a replica read would return something now (a line, or any byte in non-canonical mode).
    var readable: Bool { !ready.isEmpty }

    // MARK: Input (master writes)

    /// Processes bytes typed at the master until the input queue is full; returns how many were taken and
    /// the signals (ISIG) they raised, in order.
    mutating func receive(_ bytes: UnsafeRawBufferPointer) -> (taken: Int, signals: [Int32]) {
        var signals: [Int32] = []
        var taken = 0
        for raw in bytes {
            if inputRoom == 0 && !(canonical && editing.count >= LineDiscipline.inputCapacity - 1) { break }
            taken += 1
            var c = raw
            let t = termios
            if t.has(i: TermiosBits.ISTRIP) { c &= 0x7f }
            if c == 13 {  // '\r'
                if t.has(i: TermiosBits.IGNCR) { continue }
                if t.has(i: TermiosBits.ICRNL) { c = 10 }
            } else if c == 10 && t.has(i: TermiosBits.INLCR) {
                c = 13
            }
            if t.has(l: TermiosBits.ISIG), let sig = signalFor(c) {
                if !t.has(l: TermiosBits.NOFLSH) { flushInput(); output.removeAll() }
                echoCharacter(c)
                signals.append(sig)
                continue
            }
            if canonical && edit(c) { continue }
            if canonical {
                if isLineEnd(c) {
                    editing.append(c)
                    if t.has(l: TermiosBits.ECHO) || (c == 10 && t.has(l: TermiosBits.ECHONL)) { echoCharacter(c) }
                    finishLine()
                } else if editing.count < LineDiscipline.inputCapacity - 1 {
                    editing.append(c)
                    if t.has(l: TermiosBits.ECHO) { echoCharacter(c) }
                }
            } else {
                if ready.isEmpty { ready.append([]) }
                ready[ready.count - 1].append(c)
                readyCount += 1
                if t.has(l: TermiosBits.ECHO) || (c == 10 && t.has(l: TermiosBits.ECHONL)) { echoCharacter(c) }
            }
        }
        return (taken, signals)
    }

    private func signalFor(_ c: UInt8) -> Int32? {
        let cc = termios.cc
        if c == 0 { return nil }  // a disabled (_POSIX_VDISABLE) character never matches
        if c == cc[TermiosBits.VINTR] { return Signal.SIGINT.rawValue }
        if c == cc[TermiosBits.VQUIT] { return Signal.SIGQUIT.rawValue }
        if c == cc[TermiosBits.VSUSP] { return Signal.SIGTSTP.rawValue }
        return nil
    }

    private func isLineEnd(_ c: UInt8) -> Bool {
        c == 10 || (c != 0 && (c == termios.cc[TermiosBits.VEOL] || c == termios.cc[TermiosBits.VEOL2]))
    }

    /// Canonical editing characters; true if `c` was one.
    private mutating func edit(_ c: UInt8) -> Bool {
        guard c != 0 else { return false }
        let t = termios
        let echo = t.has(l: TermiosBits.ECHO)
        if c == t.cc[TermiosBits.VEOF] {
            finishLine()  // the EOF character itself is not part of the line
            return true
        }
        if c == t.cc[TermiosBits.VERASE] {
            if let last = editing.popLast(), echo {
                if t.has(l: TermiosBits.ECHOE) { eraseEcho(last) } else { echoCharacter(c) }
            }
            return true
        }
        if c == t.cc[TermiosBits.VWERASE] && t.has(l: TermiosBits.IEXTEN) {
            while let last = editing.last, last == 32 || last == 9 { editing.removeLast(); if echo { eraseEcho(last) } }
            while let last = editing.last, last != 32 && last != 9 { editing.removeLast(); if echo { eraseEcho(last) } }
            return true
        }
        if c == t.cc[TermiosBits.VKILL] {
            if echo && t.has(l: TermiosBits.ECHOKE) && t.has(l: TermiosBits.ECHOE) {
                for last in editing.reversed() { eraseEcho(last) }
            } else if echo {
                echoCharacter(c)
                if t.has(l: TermiosBits.ECHOK) { echoCharacter(10) }
            }
            editing.removeAll()
            return true
        }
        return false
    }

    private mutating func finishLine() {
        ready.append(editing)
        readyCount += editing.count
        editing = []
    }

    /// Rubs out the echo of `c` on the screen: two columns for a control character shown as ^X.
    private mutating func eraseEcho(_ c: UInt8) {
        let width = (c < 32 || c == 127) && c != 9 && termios.has(l: TermiosBits.ECHOCTL) ? 2 : 1
        for _ in 0..<width { output += [8, 32, 8] }
    }

    /// Echoes one input character: control characters as ^X with ECHOCTL (not tab, newline, START, STOP).
    private mutating func echoCharacter(_ c: UInt8) {
        let t = termios
        if t.has(l: TermiosBits.ECHOCTL) && (c < 32 || c == 127) && c != 9 && c != 10
            && c != t.cc[TermiosBits.VSTART] && c != t.cc[TermiosBits.VSTOP] {
            output += [94, c == 127 ? 63 : c + 64]
            return
        }
        process(c, into: &output)
    }

    // MARK: Output (replica writes)

    /// Output processing of one byte (OPOST): ONLCR turns NL into CR NL, OCRNL CR into NL, ONOCR drops a CR
    /// at column 0 (approximated as: right after a newline).
    private func process(_ c: UInt8, into out: inout [UInt8]) {
        let t = termios
        guard t.has(o: TermiosBits.OPOST) else { out.append(c); return }
        if c == 10 && t.has(o: TermiosBits.ONLCR) { out += [13, 10]; return }
        if c == 13 {
            if t.has(o: TermiosBits.ONOCR) && (out.last == nil || out.last == 10) { return }
            if t.has(o: TermiosBits.OCRNL) { out.append(10); return }
        }
        out.append(c)
    }

    /// Queues what the replica writes, while there is room; returns how many bytes were taken.
    mutating func transmit(_ bytes: UnsafeRawBufferPointer) -> Int {
        var taken = 0
        for c in bytes {
            if outputRoom < 2 { break }  // ONLCR may need two bytes
            process(c, into: &output)
            taken += 1
        }
        return taken
    }

    /// Takes up to `count` bytes of output for the master.
    mutating func takeOutput(_ count: Int) -> ArraySlice<UInt8> {
        let n = min(count, output.count)
        let taken = output[0..<n]
        output.removeFirst(n)
        return taken
    }

    // MARK: Reads and mode changes

    /// Copies readable input into `buffer`: at most one line in canonical mode (the rest of a line stays
    /// for the next read), any number of bytes otherwise. Returns the count (0 for an EOF-ended empty line).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var n = 0
        while n < buffer.count, !ready.isEmpty {
            let chunk = ready[0]
            let k = min(chunk.count, buffer.count - n)
            if k > 0, let dst = buffer.baseAddress {
                chunk.withUnsafeBytes { src in if let s = src.baseAddress { (dst + n).copyMemory(from: s, byteCount: k) } }
            }
            n += k
            readyCount -= k
            if k == chunk.count { ready.removeFirst() } else { ready[0].removeFirst(k); break }
            if canonical { break }
        }
        return n
    }

    mutating func setTermios(_ new: Termios) {
        let wasCanonical = canonical
        termios = new
        // Leaving canonical mode makes the line being edited readable; entering it keeps what is queued.
        if wasCanonical && !canonical && !editing.isEmpty { finishLine() }
    }

    mutating func flushInput() { ready = []; readyCount = 0; editing = [] }
    mutating func flushOutput() { output = [] }
}
