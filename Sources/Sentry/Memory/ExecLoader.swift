import CLinux
// execve: loads an ELF executable (and its interpreter) into a fresh MemoryManager and builds the
// initial stack. The host never execs the app: the Sentry reads the file and places every byte itself.
import Glibc
import LinuxABI
import Platform

enum ExecLoader {
    static let maxArgumentBytes = 2 << 20       // like Linux's limit with the default 8 MiB stack
    static let maxArgumentStringLength = 32 * 4096
    static let stackSize: UInt64 = 8 << 20
    static let mainPIEBase: UInt64 = 0x5555_5555_4000

    /// The loaded image: where to start and what the stack pointer is.
    struct Image {
        var entry: UInt64
        var stackPointer: UInt64
        var path: String
    }

    private struct ELFImage {
        var bias: UInt64
        var entry: UInt64
        var phdrAddress: UInt64
        var phnum: UInt64
        var end: UInt64
        var interpreter: String?
    }

    /// Loads `path` into `mm` and points `task.registers` at its entry. Throws Errno for the app's execve,
    /// which callers turn into a SentryError at container start.
    static func load(task: Task, path: String, argv: [String], envp: [String], into mm: MemoryManager) throws(Errno) {
        var argv = argv
        var path = path
        var executable = try openExecutable(task: task, path)
        // "#!" scripts: up to 4 levels of interpreters, as Linux allows.
        for depth in 0...4 {
            let head = try readBytes(executable, task, at: 0, count: 256)
            guard head.starts(with: [0x23, 0x21]) else { break }
            guard depth < 4 else { throw Errno.ELOOP }
            let (interp, argument) = try ELFFile.scriptInterpreter(head)
            var newArgv = [interp]
            if let argument { newArgv.append(argument) }
            newArgv.append(path)
            newArgv += argv.dropFirst()
            argv = newArgv
            path = interp
            executable = try openExecutable(task: task, interp)
        }
        var total = 0
        for s in argv + envp {
            guard s.utf8.count < maxArgumentStringLength else { throw Errno.E2BIG }
            total += s.utf8.count + 1 + 8
        }
        guard total <= maxArgumentBytes else { throw Errno.E2BIG }

        mm.executablePath = (try? task.kernel.resolve(task: task, path: path, follow: true).path) ?? path
        let main = try loadELF(executable, task, mm: mm, isInterpreter: false, name: mm.executablePath)
        var entry = main.entry
        var interpBase: UInt64 = 0
        if let interpPath = main.interpreter {
            let interpFile = try openExecutable(task: task, interpPath)
            let interp = try loadELF(interpFile, task, mm: mm, isInterpreter: true,
                                     name: (try? task.kernel.resolve(task: task, path: interpPath, follow: true).path) ?? interpPath)
            entry = interp.entry
            interpBase = interp.bias
        }
        mm.brkStart = PageSize.roundUp(main.end) ?? main.end
        mm.brkCurrent = mm.brkStart

        // The stack, with a guard gap below it left unmapped.
        // The stack is RLIMIT_STACK big (8 MiB by default; at least 128 KiB, at most 1 GiB here).
        let (stackLimit, _) = task.kernel.rlimit(task.threadGroup, 3)
        let size = PageSize.roundUp(min(max(stackLimit, 128 << 10), 1 << 30)) ?? stackSize
        let stackStart = mm.stackTop - size
        _ = try mm.map(.init(address: stackStart, length: size, protection: [.read, .write], shared: false,
                             fixed: true, growsDown: true, name: "[stack]"), mirror: nil)
        let sp = try buildStack(mm: mm, argv: argv, envp: envp, execfn: path, main: main, interpBase: interpBase,
                                credentials: task.credentials)
        var regs = Registers()
        regs.rip = entry
        regs.rsp = sp
        regs.cs = 0x33; regs.ss = 0x2b; regs.eflags = 0x202
        task.registers = regs
        task.name = String(String(path.split(separator: "/").last ?? "").prefix(15))
    }

    private static func openExecutable(task: Task, _ path: String) throws(Errno) -> FileDescription {
        let dentry = try task.kernel.resolve(task: task, path: path, follow: true)
        let st = try dentry.inode.stat()
        if st.isDirectory { throw Errno.EACCES }
        guard st.isRegular else { throw Errno.EACCES }
        guard st.mode & 0o111 != 0 else { throw Errno.EACCES }
        // Nothing runs from a noexec mount (mount(2) MS_NOEXEC).
        if dentry.mount?.noExec == true { throw Errno.EACCES }
        return try dentry.inode.open(OpenFlags.O_RDONLY, dentry: dentry, task: task)
    }

    private static func readBytes(_ file: FileDescription, _ task: Task, at offset: UInt64, count: Int) throws(Errno) -> [UInt8] {
        guard let position = Int64(exactly: offset) else { throw Errno.ENOEXEC }  // offsets come from the file
        var buf = [UInt8](repeating: 0, count: count)
        let n = try buf.withMutableBytes { (b) throws(Errno) -> Int in
            try file.read([b], at: position, task: task)
        }
        return Array(buf[0..<n])
    }

    private static func loadELF(_ file: FileDescription, _ task: Task, mm: MemoryManager, isInterpreter: Bool, name: String) throws(Errno) -> ELFImage {
        // Parsing and the segments' arithmetic live in ELFFile, with every field of the file checked.
        let elf = try ELFFile.parse(isInterpreter: isInterpreter) { (offset, count) throws(Errno) in
            try readBytes(file, task, at: offset, count: count)
        }
        var bias: UInt64 = 0
        if elf.type == 3 {
            // Wrapping, as Linux's load_bias: placements() checks the biased addresses themselves.
            if isInterpreter {
                // Reserve the whole span where mmap would put it, then map segments over it.
                let base = try mm.map(.init(address: 0, length: elf.span, protection: [], shared: false, fixed: false), mirror: nil)
                bias = base &- elf.minVaddr
            } else {
                bias = mainPIEBase &- elf.minVaddr
            }
        }
        let (placements, phdrAddress) = try elf.placements(bias: bias, minAddress: mm.minAddress, maxAddress: mm.maxAddress)
        for segment in placements {
            let (fileStart, fileCount, delta) = (segment.fileOffset, segment.fileCount, segment.delta)
            _ = try mm.map(.init(address: segment.start, length: segment.end - segment.start, protection: segment.protection,
                                 shared: false, fixed: true,
                                 name: name, fileOffset: fileStart,
                                 fill: { (p, len) throws(Errno) in
                                     let n = min(len, fileCount)
                                     let got = try file.read([UnsafeMutableRawBufferPointer(start: p, count: n)], at: Int64(fileStart), task: task)
                                     if got < Int(delta) { throw Errno.EIO }
                                 }), mirror: nil)
        }
        return ELFImage(bias: bias, entry: elf.entry &+ bias, phdrAddress: phdrAddress, phnum: elf.phnum,
                        end: elf.maxEnd &+ bias, interpreter: elf.interpreter)
    }

    private static func buildStack(mm: MemoryManager, argv: [String], envp: [String], execfn: String, main: ELFImage,
                                   interpBase: UInt64, credentials: Credentials) throws(Errno) -> UInt64 {
        var sp = mm.stackTop
        func push(_ bytes: [UInt8]) throws(Errno) -> UInt64 {
            sp -= UInt64(bytes.count)
            try mm.copyOut(sp, bytes)
            return sp
        }
        let execfnAddr = try push(Array(execfn.utf8) + [0])
        var envAddrs: [UInt64] = []
        for e in envp.reversed() { envAddrs.append(try push(Array(e.utf8) + [0])) }
        envAddrs.reverse()
        var argAddrs: [UInt64] = []
        for a in argv.reversed() { argAddrs.append(try push(Array(a.utf8) + [0])) }
        argAddrs.reverse()
        mm.argvRange = (argAddrs.first ?? sp, envAddrs.first ?? execfnAddr)
        mm.envRange = (envAddrs.first ?? execfnAddr, execfnAddr)
        let platformAddr = try push(Array("x86_64".utf8) + [0])
        var random = [UInt8](repeating: 0, count: 16)
        _ = random.withUnsafeMutableBytes { clinux_getrandom($0.baseAddress, 16, 0) }
        let randomAddr = try push(random)
        sp &= ~15

        let aux: [(UInt64, UInt64)] = [
            (AuxvType.AT_SYSINFO_EHDR, 0),
            (AuxvType.AT_HWCAP, UInt64(clinux_getauxval(UInt(AuxvType.AT_HWCAP)))),
            (AuxvType.AT_PAGESZ, 4096), (AuxvType.AT_CLKTCK, 100),
            (AuxvType.AT_PHDR, main.phdrAddress), (AuxvType.AT_PHENT, 56), (AuxvType.AT_PHNUM, main.phnum),
            (AuxvType.AT_BASE, interpBase), (AuxvType.AT_FLAGS, 0), (AuxvType.AT_ENTRY, main.entry),
            (AuxvType.AT_UID, UInt64(credentials.uid)), (AuxvType.AT_EUID, UInt64(credentials.euid)),
            (AuxvType.AT_GID, UInt64(credentials.gid)), (AuxvType.AT_EGID, UInt64(credentials.egid)),
            (AuxvType.AT_SECURE, 0), (AuxvType.AT_RANDOM, randomAddr),
            (AuxvType.AT_HWCAP2, UInt64(clinux_getauxval(UInt(AuxvType.AT_HWCAP2)))),
            (AuxvType.AT_EXECFN, execfnAddr), (AuxvType.AT_PLATFORM, platformAddr),
            (AuxvType.AT_MINSIGSTKSZ, 2048),
            (AuxvType.AT_NULL, 0),
        ].filter { $0.0 != AuxvType.AT_SYSINFO_EHDR }
        var words: [UInt64] = [UInt64(argv.count)]
        words += argAddrs; words.append(0)
        words += envAddrs; words.append(0)
        for (k, v) in aux { words.append(k); words.append(v) }
        // argc must end up 16-byte aligned.
        if words.count % 2 == 1 { sp -= 8 }
        sp -= UInt64(words.count * 8)
        var bytes = [UInt8](repeating: 0, count: words.count * 8)
        bytes.withUnsafeMutableBytes { p in for (i, w) in words.enumerated() { p.storeBytes(of: w, toByteOffset: i * 8, as: UInt64.self) } }
        try mm.copyOut(sp, bytes)
        return sp
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
