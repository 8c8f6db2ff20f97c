// The Sentry's /proc: what programs read about themselves and the (sandboxed) system. Nothing here
// reflects the host: versions, memory and CPU figures are the sandbox's own.
import Glibc
import LinuxABI

private let procDevice: UInt64 = 0x15

/// /proc.
final class ProcRoot: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    private var fixed: [(String, Inode)] = []

    init(kernel: Kernel) {
        self.kernel = kernel
        super.init(device: procDevice)
        let k = kernel
        fixed = [
            ("self", SyntheticSymlink(device: procDevice, target: { "\($0.threadGroup.pid)" })),
            ("thread-self", SyntheticSymlink(device: procDevice, target: { "\($0.threadGroup.pid)/task/\($0.tid)" })),
            ("version", SyntheticFile(device: procDevice) { _ in
                "Linux version \(Kernel.release) (runsc@sandbox) (gcc version 12.2.0) \(Kernel.version)\n" }),
            ("uptime", SyntheticFile(device: procDevice) { _ in
                let up = Double(monotonicNanoseconds() - k.bootMonotonic) / 1e9
                return "\(formatFixed(up, 2)) \(formatFixed(up, 2))\n" }),
            ("loadavg", SyntheticFile(device: procDevice) { _ in "0.00 0.00 0.00 1/\(k.allGroups.count) \(k.allGroups.map(\.pid).max() ?? 1)\n" }),
            ("meminfo", SyntheticFile(device: procDevice) { _ in k.meminfoText() }),
            ("cpuinfo", SyntheticFile(device: procDevice) { _ in k.cpuinfoText() }),
            ("stat", SyntheticFile(device: procDevice) { _ in k.statText() }),
            ("filesystems", SyntheticFile(device: procDevice) { _ in "nodev\tproc\nnodev\ttmpfs\nnodev\tdevtmpfs\n" }),
            ("mounts", SyntheticFile(device: procDevice) { _ in k.mountsText() }),
            ("sys", StaticDirectory(device: procDevice, [
                ("kernel", StaticDirectory(device: procDevice, [
                    ("hostname", SyntheticFile(device: procDevice) { _ in k.hostname + "\n" }),
                    ("ostype", SyntheticFile(device: procDevice) { _ in "Linux\n" }),
                    ("osrelease", SyntheticFile(device: procDevice) { _ in Kernel.release + "\n" }),
                    ("version", SyntheticFile(device: procDevice) { _ in Kernel.version + "\n" }),
                    ("pid_max", SyntheticFile(device: procDevice) { _ in "4194304\n" }),
                    ("ngroups_max", SyntheticFile(device: procDevice) { _ in "65536\n" }),
                    ("cap_last_cap", SyntheticFile(device: procDevice) { _ in "40\n" }),
                ] + k.procSysKernelEntries(device: procDevice))),  // shmmax, msgmnb, sem, ... (FS/ProcSysctl.swift)
                ("fs", StaticDirectory(device: procDevice, k.procSysFSEntries(device: procDevice))),
                ("vm", StaticDirectory(device: procDevice, [
                    ("overcommit_memory", SyntheticFile(device: procDevice) { _ in "0\n" }),
                    ("max_map_count", SyntheticFile(device: procDevice) { _ in "65530\n" }),
                ])),
            ])),
        ] + Kernel.procHardwareEntries(device: procDevice)  // kcore, acpi, sysrq-trigger (FS/ProcSysctl.swift)
    }

    override func children(task: Task?) -> [(String, Inode)] {
        fixed + kernel.allGroups.filter { $0.zombieStatus == nil }.sorted { $0.pid < $1.pid }
            .map { ("\($0.pid)", ProcessDirectory(kernel: kernel, group: $0)) }
    }

    override func lookup(_ name: String, task: Task?) throws(Errno) -> Inode {
        if let pid = Int32(name) {
            guard let g = kernel.group(pid), g.zombieStatus == nil else { throw Errno.ENOENT }
            return ProcessDirectory(kernel: kernel, group: g)
        }
        guard let e = fixed.first(where: { $0.0 == name }) else { throw Errno.ENOENT }
        return e.1
    }
}

/// /proc/[pid].
final class ProcessDirectory: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    let group: ThreadGroup
    /// /proc/[pid]/task/[tid] has the same files but no "task" directory of its own.
    let isThread: Bool
    init(kernel: Kernel, group: ThreadGroup, isThread: Bool = false) {
        self.kernel = kernel; self.group = group; self.isThread = isThread
        super.init(device: procDevice)
    }

    private var leader: Task? { kernel.taskLock.withLock { group.tasks.first } }

    override func children(task: Task?) -> [(String, Inode)] {
        let g = group
        let k = kernel
        let leader = { k.taskLock.withLock { g.tasks.first } }
        return [
            ("cmdline", SyntheticFile(device: procDevice) { _ in leader().map { k.memoryRange($0, $0.mm.argvRange) } ?? [] }),
            ("environ", SyntheticFile(device: procDevice, mode: 0o400) { _ in leader().map { k.memoryRange($0, $0.mm.envRange) } ?? [] }),
            ("comm", SyntheticFile(device: procDevice) { _ in (leader()?.name ?? "") + "\n" }),
            ("maps", SyntheticFile(device: procDevice) { _ in leader()?.mm.mapsText() ?? "" }),
            ("stat", SyntheticFile(device: procDevice) { _ in k.processStatText(g) }),
            ("status", SyntheticFile(device: procDevice) { _ in k.processStatusText(g) }),
            ("exe", SyntheticSymlink(device: procDevice, target: { _ in leader()?.mm.executablePath ?? "" },
                                     magic: { t in leader().flatMap { try? k.resolve(task: t, path: $0.mm.executablePath, follow: true) } })),
            ("cwd", SyntheticSymlink(device: procDevice, target: { _ in leader()?.fs.cwd.path ?? "" },
                                     magic: { _ in leader()?.fs.cwd })),
            ("root", SyntheticSymlink(device: procDevice, target: { _ in "/" }, magic: { _ in leader()?.fs.root })),
            ("fd", FDDirectory(kernel: k, group: g)),
            ("fdinfo", FDInfoDirectory(kernel: k, group: g)),
            ("mounts", SyntheticFile(device: procDevice) { _ in k.mountsText() }),
            ("mountinfo", SyntheticFile(device: procDevice) { _ in k.mountInfoText() }),
        ] + (isThread ? [] : [("task", ThreadListDirectory(kernel: k, group: g))])
    }
}

/// /proc/[pid]/task: one entry per thread.
final class ThreadListDirectory: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    let group: ThreadGroup
    init(kernel: Kernel, group: ThreadGroup) { self.kernel = kernel; self.group = group; super.init(device: procDevice) }
    override func children(task: Task?) -> [(String, Inode)] {
        let tids = kernel.taskLock.withLock { group.tasks.map(\.tid).sorted() }
        return tids.map { ("\($0)", ProcessDirectory(kernel: kernel, group: group, isThread: true)) }
    }
}

/// /proc/[pid]/fdinfo: position and flags of each descriptor.
final class FDInfoDirectory: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    let group: ThreadGroup
    init(kernel: Kernel, group: ThreadGroup) { self.kernel = kernel; self.group = group; super.init(mode: 0o500, device: procDevice) }
    override func children(task: Task?) -> [(String, Inode)] {
        guard let leader = kernel.taskLock.withLock({ group.tasks.first }) else { return [] }
        let table = leader.fdTable
        return table.numbers.map { n in
            ("\(n)", SyntheticFile(device: procDevice) { _ in
                guard let e = table.entry(n) else { return "" }
                let f = e.file
                let (pos, flags) = f.lock.withLock { (f.offset, f.flags) }
                let shown = flags | (e.closeOnExec ? OpenFlags.O_CLOEXEC : 0)
                return "pos:\t\(pos)\nflags:\t0\(String(shown, radix: 8))\nmnt_id:\t0\n"
            })
        }
    }
}

/// /proc/[pid]/fd.
final class FDDirectory: SyntheticDirectory, @unchecked Sendable {
    unowned let kernel: Kernel
    let group: ThreadGroup
    init(kernel: Kernel, group: ThreadGroup) { self.kernel = kernel; self.group = group; super.init(mode: 0o500, device: procDevice) }
    override func children(task: Task?) -> [(String, Inode)] {
        guard let leader = kernel.taskLock.withLock({ group.tasks.first }) else { return [] }
        let table = leader.fdTable
        return table.numbers.map { n in
            ("\(n)", SyntheticSymlink(device: procDevice, target: { _ in
                guard let f = try? table.get(n) else { return "" }
                if let d = f.dentry { return d.path }
                if let p = f as? PipeDescription { return "pipe:[\(p.pipe.number)]" }
                return "anon_inode:[\(type(of: f))]"
            }, magic: { _ in (try? table.get(n))?.dentry }))
        }
    }
}

extension Kernel {
    /// Bytes of [start, end) of a task's memory (for cmdline/environ).
    func memoryRange(_ task: Task, _ range: (UInt64, UInt64)) -> [UInt8] {
        guard range.1 > range.0, range.1 - range.0 < (1 << 20) else { return [] }
        return (try? task.mm.copyIn(range.0, Int(range.1 - range.0))) ?? []
    }

    func meminfoText() -> String {
        let (totalBytes, freeBytes) = memoryFigures()
        let total = totalBytes >> 10, free = freeBytes >> 10
        let used = total - free
        func line(_ k: String, _ v: UInt64) -> String { k + ":" + String(repeating: " ", count: max(1, 16 - k.count)) + String(v).leftPadded(8) + " kB\n" }
        return line("MemTotal", total) + line("MemFree", free) + line("MemAvailable", free) + line("Buffers", 0) +
            line("Cached", 0) + line("SwapCached", 0) + line("Active", used) + line("Inactive", 0) + line("SwapTotal", 0) +
            line("SwapFree", 0) + line("Shmem", 0) + line("Mapped", used)
    }

    /// (total, free) bytes as the sandbox sees them: its memory limit if it has one, else the host's RAM,
    /// less what the app has allocated.
    func memoryFigures() -> (UInt64, UInt64) {
        let physical = UInt64(max(0, sysconf(Int32(_SC_PHYS_PAGES)))) * 4096
        let total = memoryFile.limit < memoryFile.size ? memoryFile.limit : physical
        let used = memoryFile.allocatedBytes
        return (total, total > used ? total - used : 0)
    }

    func cpuinfoText() -> String {
        let n = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var out = ""
        for i in 0..<n {
            out += "processor\t: \(i)\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: runsc virtual CPU\n"
            out += "cpu MHz\t\t: 2000.000\ncache size\t: 4096 KB\nphysical id\t: 0\nsiblings\t: \(n)\ncore id\t\t: \(i)\ncpu cores\t: \(n)\n"
            out += "fpu\t\t: yes\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ss ht syscall nx lm constant_tsc rep_good nopl xtopology pni ssse3 cx16 sse4_1 sse4_2 popcnt aes xsave avx hypervisor lahf_lm\n"
            out += "bogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 46 bits physical, 48 bits virtual\n\n"
        }
        return out
    }

    func statText() -> String {
        let n = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var out = "cpu  0 0 0 0 0 0 0 0 0 0\n"
        for i in 0..<n { out += "cpu\(i) 0 0 0 0 0 0 0 0 0 0\n" }
        out += "intr 0\nctxt 0\nbtime \(bootTime.sec)\nprocesses \(allGroups.count)\nprocs_running 1\nprocs_blocked 0\n"
        return out
    }

    func processStatText(_ g: ThreadGroup) -> String {
        let (name, ppid, state, vsize): (String, Int32, String, UInt64) = taskLock.withLock {
            let t = g.tasks.first
            let vs = t?.mm.vmas.reduce(0) { $0 + $1.length } ?? 0
            return (t?.name ?? "", g.parent?.pid ?? 0, g.zombieStatus == nil ? "R" : "Z", vs)
        }
        let ticks = procStatCPUTicks(g)  // utime, stime, cutime, cstime
        let fields: [String] = ["\(g.pid)", "(\(name))", state, "\(ppid)", "\(g.processGroupID)", "\(g.sessionID)", "0", "-1",
                                "4194560", "0", "0", "0", "0"] + ticks + ["20", "0", "\(max(1, g.tasks.count))", "0", "0",
                                "\(vsize)", "0"] + Array(repeating: "0", count: 28)
        return fields.joined(separator: " ") + "\n"
    }

    func processStatusText(_ g: ThreadGroup) -> String {
        let (name, ppid, creds, mask, vs, security): (String, Int32, Credentials, UInt64, UInt64, String) = taskLock.withLock {
            let t = g.tasks.first
            return (t?.name ?? "", g.parent?.pid ?? 0, t?.credentials ?? Credentials(), t?.signalMask.bits ?? 0,
                    t?.mm.vmas.reduce(0) { $0 + $1.length } ?? 0, t?.securityStatusLines ?? "")  // Cap*, NoNewPrivs, Seccomp
        }
        // Ignored and caught signals from the process's actions (bit N-1 for signal N), as Linux shows them.
        let (ignored, caught): (UInt64, UInt64) = g.handlers.lock.withLock {
            var ignored: UInt64 = 0, caught: UInt64 = 0
            for signal in 1...64 {
                let handler = g.handlers.actions[signal].handler
                if handler == SignalConstants.SIG_IGN { ignored |= 1 << UInt64(signal - 1) }
                else if handler != SignalConstants.SIG_DFL { caught |= 1 << UInt64(signal - 1) }
            }
            return (ignored, caught)
        }
        return """
        Name:\t\(name)
        State:\t\(g.zombieStatus == nil ? "R (running)" : "Z (zombie)")
        Tgid:\t\(g.pid)
        Pid:\t\(g.pid)
        PPid:\t\(ppid)
        Uid:\t\(creds.uid)\t\(creds.euid)\t\(creds.suid)\t\(creds.fsuid)
        Gid:\t\(creds.gid)\t\(creds.egid)\t\(creds.sgid)\t\(creds.fsgid)
        Groups:\t\(creds.groups.map(String.init).joined(separator: " "))
        VmSize:\t\(vs >> 10) kB
        Threads:\t\(max(1, g.tasks.count))
        SigBlk:\t\(hex(mask, 16))
        SigIgn:\t\(hex(ignored, 16))
        SigCgt:\t\(hex(caught, 16))
        \(security)
        """
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

func formatFixed(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let n = Int64((v * scale).rounded())
    let whole = n / Int64(scale), frac = n % Int64(scale)
    let f = String(frac)
    return "\(whole)." + String(repeating: "0", count: max(0, decimals - f.count)) + f
}
