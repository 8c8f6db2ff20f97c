// Processes: identity, fork/vfork/clone, execve, exit, wait, process groups, limits.
import Glibc
import LinuxABI
import Platform

extension SyscallTable {
    func registerProcessSyscalls() {
        register(SyscallNumber.getpid) { (t, _) throws(Errno) -> Int in Int(t.threadGroup.pid) }
        register(SyscallNumber.gettid) { (t, _) throws(Errno) -> Int in Int(t.tid) }
        register(SyscallNumber.getppid) { (t, _) throws(Errno) -> Int in Int(t.kernel.taskLock.withLock { t.threadGroup.parent?.pid ?? 0 }) }
        register(SyscallNumber.getuid) { (t, _) throws(Errno) -> Int in Int(t.credentials.uid) }
        register(SyscallNumber.geteuid) { (t, _) throws(Errno) -> Int in Int(t.credentials.euid) }
        register(SyscallNumber.getgid) { (t, _) throws(Errno) -> Int in Int(t.credentials.gid) }
        register(SyscallNumber.getegid) { (t, _) throws(Errno) -> Int in Int(t.credentials.egid) }
        register(SyscallNumber.getresuid) { (t, a) throws(Errno) -> Int in
            let c = t.credentials
            try t.mm.write(a.a0, c.uid); try t.mm.write(a.a1, c.euid); try t.mm.write(a.a2, c.suid)
            return 0
        }
        register(SyscallNumber.getresgid) { (t, a) throws(Errno) -> Int in
            let c = t.credentials
            try t.mm.write(a.a0, c.gid); try t.mm.write(a.a1, c.egid); try t.mm.write(a.a2, c.sgid)
            return 0
        }
        register(SyscallNumber.getgroups) { (t, a) throws(Errno) -> Int in
            let groups = t.credentials.groups
            let size = Int(a.int0)
            guard size >= 0 else { throw Errno.EINVAL }
            if size == 0 { return groups.count }
            guard size >= groups.count else { throw Errno.EINVAL }
            for (i, g) in groups.enumerated() { try t.mm.write(a.a1 + UInt64(i * 4), g) }
            return groups.count
        }
        register(SyscallNumber.setuid) { (t, a) throws(Errno) -> Int in try t.setIDs(uid: a.int0); return 0 }
        register(SyscallNumber.setgid) { (t, a) throws(Errno) -> Int in try t.setIDs(gid: a.int0); return 0 }
        register(SyscallNumber.setgroups) { (t, a) throws(Errno) -> Int in
            guard t.credentials.euid == 0 else { throw Errno.EPERM }
            let n = Int(a.int0)
            guard n >= 0, n <= 65536 else { throw Errno.EINVAL }
            var groups: [UInt32] = []
            for i in 0..<n { groups.append(try t.mm.read(a.a1 + UInt64(i * 4), as: UInt32.self)) }
            t.credentials.groups = groups
            return 0
        }

        register(SyscallNumber.exit) { (t, a) throws(Errno) -> Int in
            t.exitTask(status: .exited(a.int0))
            return 0
        }
        register(SyscallNumber.exit_group) { (t, a) throws(Errno) -> Int in t.exitGroup(.exited(a.int0)); return 0 }

        register(SyscallNumber.fork) { (t, _) throws(Errno) -> Int in try t.kernel.clone(t, flags: UInt64(Signal.SIGCHLD.rawValue), stack: 0, parentTID: 0, childTID: 0, tls: 0) }
        register(SyscallNumber.vfork) { (t, _) throws(Errno) -> Int in
            try t.kernel.clone(t, flags: CloneFlags.CLONE_VM | CloneFlags.CLONE_VFORK | UInt64(Signal.SIGCHLD.rawValue),
                               stack: 0, parentTID: 0, childTID: 0, tls: 0)
        }
        register(SyscallNumber.clone) { (t, a) throws(Errno) -> Int in
            try t.kernel.clone(t, flags: a.a0, stack: a.a1, parentTID: a.a2, childTID: a.a3, tls: a.a4)
        }
        register(SyscallNumber.clone3) { (t, a) throws(Errno) -> Int in
            guard a.a1 >= 64, a.a1 <= 4096 else { throw Errno.EINVAL }
            let b = try t.mm.copyIn(a.a0, 88 <= Int(a.a1) ? 88 : 64)
            func f(_ i: Int) -> UInt64 { b.withUnsafeBytes { $0.load(fromByteOffset: i * 8, as: UInt64.self) } }
            // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, ...
            let flags = f(0), exitSignal = f(4), stack = f(5), stackSize = f(6)
            guard exitSignal <= 64, flags & CloneFlags.CSIGNAL == 0 else { throw Errno.EINVAL }
            return try t.kernel.clone(t, flags: flags | exitSignal, stack: stack == 0 ? 0 : stack + stackSize,
                                      parentTID: f(3), childTID: f(2), tls: f(7))
        }
        register(SyscallNumber.execve) { (t, a) throws(Errno) -> Int in try t.kernel.execve(t, pathAddress: a.a0, argv: a.a1, envp: a.a2, dirfd: AtFlags.AT_FDCWD, flags: 0) }
        register(SyscallNumber.execveat) { (t, a) throws(Errno) -> Int in try t.kernel.execve(t, pathAddress: a.a1, argv: a.a2, envp: a.a3, dirfd: a.int0, flags: Int(a.a4)) }
        register(SyscallNumber.wait4) { (t, a) throws(Errno) -> Int in try t.kernel.wait4(t, pid: a.int0, statusAddress: a.a1, options: Int(a.a2), rusage: a.a3) }
        register(SyscallNumber.waitid) { (t, a) throws(Errno) -> Int in try t.kernel.waitid(t, idType: Int(a.a0), id: a.int1, infop: a.a2, options: Int(a.a3)) }

        register(SyscallNumber.set_tid_address) { (t, a) throws(Errno) -> Int in t.clearChildTID = a.a0; return Int(t.tid) }
        register(SyscallNumber.set_robust_list) { (t, a) throws(Errno) -> Int in
            guard a.a1 == 24 else { throw Errno.EINVAL }
            t.robustList = a.a0; return 0
        }
        register(SyscallNumber.get_robust_list) { (t, a) throws(Errno) -> Int in
            guard a.int0 == 0 || a.int0 == t.tid else { throw Errno.EPERM }
            try t.mm.write(a.a1, t.robustList); try t.mm.write(a.a2, UInt64(24)); return 0
        }
        register(SyscallNumber.arch_prctl) { (t, a) throws(Errno) -> Int in
            switch Int(a.a0) {
            case ArchPrctlCodes.ARCH_SET_FS:
                guard a.a1 < (1 << 47) else { throw Errno.EPERM }
                t.registers.fsBase = a.a1; return 0
            case ArchPrctlCodes.ARCH_SET_GS:
                guard a.a1 < (1 << 47) else { throw Errno.EPERM }
                t.registers.gsBase = a.a1; return 0
            case ArchPrctlCodes.ARCH_GET_FS: try t.mm.write(a.a1, t.registers.fsBase); return 0
            case ArchPrctlCodes.ARCH_GET_GS: try t.mm.write(a.a1, t.registers.gsBase); return 0
            default: throw Errno.EINVAL
            }
        }
        register(SyscallNumber.uname) { (t, a) throws(Errno) -> Int in
            var b = [UInt8](repeating: 0, count: 65 * 6)
            let fields = ["Linux", t.kernel.hostname, Kernel.release, Kernel.version, "x86_64", "(none)"]
            for (i, f) in fields.enumerated() {
                for (j, c) in f.utf8.prefix(64).enumerated() { b[i * 65 + j] = c }
            }
            try t.mm.copyOut(a.a0, b)
            return 0
        }
        register(SyscallNumber.sethostname) { (t, a) throws(Errno) -> Int in
            guard t.credentials.euid == 0 else { throw Errno.EPERM }
            guard a.a1 <= 64 else { throw Errno.EINVAL }
            let bytes = try t.mm.copyIn(a.a0, Int(a.a1))
            t.kernel.hostname = String(decoding: bytes, as: UTF8.self)
            return 0
        }

        register(SyscallNumber.getpgid) { (t, a) throws(Errno) -> Int in
            let k = t.kernel
            if a.int0 == 0 { return Int(k.taskLock.withLock { t.threadGroup.processGroupID }) }
            guard let g = k.group(a.int0) else { throw Errno.ESRCH }
            return Int(k.taskLock.withLock { g.processGroupID })
        }
        register(SyscallNumber.getpgrp) { (t, _) throws(Errno) -> Int in Int(t.kernel.taskLock.withLock { t.threadGroup.processGroupID }) }
        register(SyscallNumber.getsid) { (t, a) throws(Errno) -> Int in
            let k = t.kernel
            if a.int0 == 0 { return Int(k.taskLock.withLock { t.threadGroup.sessionID }) }
            guard let g = k.group(a.int0) else { throw Errno.ESRCH }
            return Int(k.taskLock.withLock { g.sessionID })
        }
        register(SyscallNumber.setpgid) { (t, a) throws(Errno) -> Int in
            let k = t.kernel
            let target = a.int0 == 0 ? t.threadGroup : k.group(a.int0)
            guard let g = target else { throw Errno.ESRCH }
            guard a.int1 >= 0 else { throw Errno.EINVAL }
            return try k.taskLock.withLock { () throws(Errno) -> Int in
                guard g === t.threadGroup || g.parent === t.threadGroup else { throw Errno.ESRCH }
                guard g.sessionID == t.threadGroup.sessionID else { throw Errno.EPERM }
                guard g.sessionID != g.pid else { throw Errno.EPERM }
                g.processGroupID = a.int1 == 0 ? g.pid : a.int1
                return 0
            }
        }
        register(SyscallNumber.setsid) { (t, _) throws(Errno) -> Int in
            let k = t.kernel
            return try k.taskLock.withLock { () throws(Errno) -> Int in
                let g = t.threadGroup
                guard g.processGroupID != g.pid else { throw Errno.EPERM }
                g.sessionID = g.pid; g.processGroupID = g.pid
                return Int(g.pid)
            }
        }
        register(SyscallNumber.umask) { (t, a) throws(Errno) -> Int in
            let old = t.fs.umask
            t.fs.umask = UInt32(a.a0 & 0o777)
            return Int(old)
        }
        register(SyscallNumber.prctl) { (t, a) throws(Errno) -> Int in
            switch Int(a.a0) {
            case 15:  // PR_SET_NAME
                let bytes = try t.mm.readCString(a.a1, max: 16)
                t.name = String(decoding: bytes.prefix(15), as: UTF8.self); return 0
            case 16:  // PR_GET_NAME
                var b = Array(t.name.utf8.prefix(15)); b.append(0)
                try t.mm.copyOut(a.a1, b); return 0
            case 1, 2: return 0  // PR_SET_PDEATHSIG / PR_GET_PDEATHSIG: accepted, the parent is in the sandbox too
            case 38: return 0    // PR_SET_NO_NEW_PRIVS: privileges never grow in the sandbox
            case 39: return 1    // PR_GET_NO_NEW_PRIVS
            case 36, 37: return 0 // PR_SET/GET_CHILD_SUBREAPER
            case 23: return a.a1 <= 40 ? 1 : -Int(Errno.EINVAL.rawValue)  // PR_CAPBSET_READ
            case 3: return 0     // PR_GET_DUMPABLE
            case 4: return 0     // PR_SET_DUMPABLE
            default: throw Errno.EINVAL
            }
        }
        register(SyscallNumber.getrlimit) { (t, a) throws(Errno) -> Int in try t.kernel.writeRlimit(t, resource: Int(a.a0), address: a.a1); return 0 }
        register(SyscallNumber.setrlimit) { (_, a) throws(Errno) -> Int in guard a.a0 < 16 else { throw Errno.EINVAL }; return 0 }
        register(SyscallNumber.prlimit64) { (t, a) throws(Errno) -> Int in
            guard a.int0 == 0 || a.int0 == t.threadGroup.pid || t.kernel.group(a.int0) != nil else { throw Errno.ESRCH }
            guard a.a1 < 16 else { throw Errno.EINVAL }
            if a.a3 != 0 { try t.kernel.writeRlimit(t, resource: Int(a.a1), address: a.a3) }
            return 0
        }
        register(SyscallNumber.getrusage) { (t, a) throws(Errno) -> Int in
            guard a.int0 == 0 || a.int0 == -1 || a.int0 == 1 else { throw Errno.EINVAL }
            try t.mm.copyOut(a.a1, [UInt8](repeating: 0, count: 144)); return 0
        }
        register(SyscallNumber.times) { (t, a) throws(Errno) -> Int in
            if a.a0 != 0 { try t.mm.copyOut(a.a0, [UInt8](repeating: 0, count: 32)) }
            return Int((monotonicNanoseconds() - t.kernel.bootMonotonic) / 10_000_000)
        }
        register(SyscallNumber.sched_yield) { (_, _) throws(Errno) -> Int in sched_yield(); return 0 }
        register(SyscallNumber.sched_getaffinity) { (t, a) throws(Errno) -> Int in
            let n = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            guard a.a1 >= 8, a.a1 & 7 == 0 else { throw Errno.EINVAL }
            var mask = [UInt8](repeating: 0, count: 8)
            for i in 0..<min(n, 64) { mask[i / 8] |= 1 << UInt8(i % 8) }
            try t.mm.copyOut(a.a2, mask)
            return 8
        }
        register(SyscallNumber.sched_setaffinity) { (_, _) throws(Errno) -> Int in 0 }
        register(SyscallNumber.getcpu) { (t, a) throws(Errno) -> Int in
            if a.a0 != 0 { try t.mm.write(a.a0, UInt32(0)) }
            if a.a1 != 0 { try t.mm.write(a.a1, UInt32(0)) }
            return 0
        }
    }
}

extension Task {
    func setIDs(uid: Int32? = nil, gid: Int32? = nil) throws(Errno) {
        if let uid {
            let u = UInt32(bitPattern: uid)
            guard credentials.euid == 0 || u == credentials.uid || u == credentials.suid else { throw Errno.EPERM }
            if credentials.euid == 0 { credentials.uid = u; credentials.suid = u }
            credentials.euid = u; credentials.fsuid = u
        }
        if let gid {
            let g = UInt32(bitPattern: gid)
            guard credentials.euid == 0 || g == credentials.gid || g == credentials.sgid else { throw Errno.EPERM }
            if credentials.euid == 0 { credentials.gid = g; credentials.sgid = g }
            credentials.egid = g; credentials.fsgid = g
        }
    }
}

extension Kernel {
    func writeRlimit(_ task: Task, resource: Int, address: UInt64) throws(Errno) {
        let inf = UInt64.max
        let limits: [Int: (UInt64, UInt64)] = [
            3: (8 << 20, inf),        // RLIMIT_STACK
            7: (1024, 1_048_576),     // RLIMIT_NOFILE
            6: (32768, 32768),        // RLIMIT_NPROC
            8: (64 << 10, 64 << 10),  // RLIMIT_MEMLOCK
            4: (0, inf),              // RLIMIT_CORE
            13: (0, 0), 14: (0, 0),   // RLIMIT_NICE, RLIMIT_RTPRIO
            11: (inf, inf),           // RLIMIT_SIGPENDING
        ]
        guard resource >= 0 && resource < 16 else { throw Errno.EINVAL }
        let (cur, max) = limits[resource] ?? (inf, inf)
        try task.mm.write(address, cur)
        try task.mm.write(address + 8, max)
    }

    /// fork, vfork and clone. Threads (CLONE_THREAD) are not supported yet.
    func clone(_ parent: Task, flags: UInt64, stack: UInt64, parentTID: UInt64, childTID: UInt64, tls: UInt64) throws(Errno) -> Int {
        if flags & CloneFlags.CLONE_THREAD != 0 {
            return try cloneThread(parent, flags: flags, stack: stack, parentTID: parentTID, childTID: childTID, tls: tls)
        }
        if flags & (CloneFlags.CLONE_NEWUSER | CloneFlags.CLONE_NEWPID | CloneFlags.CLONE_NEWNET | CloneFlags.CLONE_NEWNS |
                    CloneFlags.CLONE_NEWIPC | CloneFlags.CLONE_NEWUTS | CloneFlags.CLONE_NEWCGROUP) != 0 {
            throw Errno.EPERM
        }
        if flags & CloneFlags.CLONE_SIGHAND != 0 && flags & CloneFlags.CLONE_VM == 0 { throw Errno.EINVAL }
        guard let pid = allocatePID() else { throw Errno.EAGAIN }
        let mm = flags & CloneFlags.CLONE_VM != 0 ? parent.mm : try parent.mm.fork(mirror: parent.mirror)
        let files = flags & CloneFlags.CLONE_FILES != 0 ? parent.fdTable : parent.fdTable.fork()
        let fs = flags & CloneFlags.CLONE_FS != 0 ? parent.fs : parent.fs.copy()
        let handlers = flags & CloneFlags.CLONE_SIGHAND != 0 ? parent.threadGroup.handlers : parent.threadGroup.handlers.copy()
        let group = ThreadGroup(pid: pid, parent: parent.threadGroup, handlers: handlers,
                                exitSignal: Int32(flags & CloneFlags.CSIGNAL))
        let child = Task(kernel: self, tid: pid, threadGroup: group, mm: mm, fdTable: files, fs: fs,
                         credentials: parent.credentials)
        child.name = parent.name
        child.signalMask = parent.signalMask
        var regs = parent.registers
        regs.rax = 0
        if stack != 0 { regs.rsp = stack }
        if flags & CloneFlags.CLONE_SETTLS != 0 { regs.fsBase = tls }
        child.registers = regs
        group.tasks = [child]
        if flags & CloneFlags.CLONE_CHILD_CLEARTID != 0 { child.clearChildTID = childTID }
        if flags & CloneFlags.CLONE_CHILD_SETTID != 0 { try? mm.write(childTID, UInt32(bitPattern: pid)) }
        if flags & CloneFlags.CLONE_PARENT_SETTID != 0 { try? parent.mm.write(parentTID, UInt32(bitPattern: pid)) }
        taskLock.withLock {
            group.processGroupID = parent.threadGroup.processGroupID
            group.sessionID = parent.threadGroup.sessionID
            parent.threadGroup.children[pid] = group
        }
        register(child, newGroup: true)
        let vfork = flags & CloneFlags.CLONE_VFORK != 0
        if vfork { parent.vforkDone = false; child.vforkParent = parent }
        child.startHostThread()
        if vfork {
            // The parent sleeps until the child execs or exits (not interruptible, like Linux's vfork).
            while !parent.vforkDone { parent.waiter.wait(deadline: monotonicNanoseconds() + 100_000_000) }
        }
        return Int(pid)
    }

    /// A new thread in the caller's process: it shares the memory (with its own platform mirror), the
    /// signal actions and, as the flags say, the descriptor table and fs context.
    private func cloneThread(_ parent: Task, flags: UInt64, stack: UInt64, parentTID: UInt64, childTID: UInt64, tls: UInt64) throws(Errno) -> Int {
        guard flags & CloneFlags.CLONE_SIGHAND != 0, flags & CloneFlags.CLONE_VM != 0 else { throw Errno.EINVAL }
        guard flags & CloneFlags.CLONE_VFORK == 0 else { throw Errno.EINVAL }
        guard let tid = allocatePID() else { throw Errno.EAGAIN }
        let group = parent.threadGroup
        let files = flags & CloneFlags.CLONE_FILES != 0 ? parent.fdTable : parent.fdTable.fork()
        let fs = flags & CloneFlags.CLONE_FS != 0 ? parent.fs : parent.fs.copy()
        let child = Task(kernel: self, tid: tid, threadGroup: group, mm: parent.mm, fdTable: files, fs: fs,
                         credentials: parent.credentials)
        child.name = parent.name
        child.signalMask = parent.signalMask
        var regs = parent.registers
        regs.rax = 0
        if stack != 0 { regs.rsp = stack }
        if flags & CloneFlags.CLONE_SETTLS != 0 { regs.fsBase = tls }
        child.registers = regs
        if flags & CloneFlags.CLONE_CHILD_CLEARTID != 0 { child.clearChildTID = childTID }
        if flags & CloneFlags.CLONE_CHILD_SETTID != 0 { try? parent.mm.write(childTID, UInt32(bitPattern: tid)) }
        if flags & CloneFlags.CLONE_PARENT_SETTID != 0 { try? parent.mm.write(parentTID, UInt32(bitPattern: tid)) }
        let joined = taskLock.withLock { () -> Bool in
            guard !group.exiting else { return false }
            group.tasks.append(child)
            return true
        }
        guard joined else { child.fdTable.dropUser(); throw Errno.EAGAIN }
        register(child, newGroup: false)
        child.startHostThread()
        return Int(tid)
    }

    /// execve in a multi-threaded process: every other thread ends first, as Linux does.
    func endOtherThreads(_ task: Task) {
        let others: [Task] = taskLock.withLock {
            let o = task.threadGroup.tasks.filter { $0 !== task }
            for t in o { t.exitRequested = true }
            return o
        }
        for t in others { t.wake() }
        while taskLock.withLock({ task.threadGroup.tasks.count > 1 }) { usleep(100) }
    }

    func readStringArray(_ task: Task, _ address: UInt64) throws(Errno) -> [String] {
        var out: [String] = []
        guard address != 0 else { return out }
        var total = 0
        while true {
            let p: UInt64 = try task.mm.read(address + UInt64(out.count * 8), as: UInt64.self)
            if p == 0 { break }
            let s = try task.mm.readString(p, max: ExecLoader.maxArgumentStringLength)
            total += s.utf8.count + 1
            guard total <= ExecLoader.maxArgumentBytes, out.count < 1 << 20 else { throw Errno.E2BIG }
            out.append(s)
        }
        return out
    }

    func execve(_ task: Task, pathAddress: UInt64, argv: UInt64, envp: UInt64, dirfd: Int32, flags: Int) throws(Errno) -> Int {
        guard flags & ~(AtFlags.AT_EMPTY_PATH | AtFlags.AT_SYMLINK_NOFOLLOW) == 0 else { throw Errno.EINVAL }
        var path = try task.mm.readString(pathAddress)
        let args = try readStringArray(task, argv)
        let env = try readStringArray(task, envp)
        if dirfd != AtFlags.AT_FDCWD && !path.hasPrefix("/") {
            let file = try task.fdTable.get(dirfd)
            guard let d = file.dentry else { throw Errno.EBADF }
            path = path.isEmpty && flags & AtFlags.AT_EMPTY_PATH != 0 ? d.path : d.path + "/" + path
        }
        guard !path.isEmpty else { throw Errno.ENOENT }
        endOtherThreads(task)
        let newMM = MemoryManager(file: memoryFile, minAddress: platform.minUserAddress, maxAddress: platform.maxUserAddress)
        let savedRegisters = task.registers
        do {
            try ExecLoader.load(task: task, path: path, argv: args.isEmpty ? [path] : args, envp: env, into: newMM)
        } catch {
            task.registers = savedRegisters
            throw error
        }
        do { try task.replaceMemory(newMM) } catch {
            log("execve: the platform could not switch address spaces: \(error)")
            task.exitGroup(.signaled(Signal.SIGKILL.rawValue, core: false))
            task.registersReplaced = true
            return 0
        }
        task.fdTable.closeOnExec()
        task.threadGroup.handlers.resetForExec()
        task.savedFPStates = []
        task.clearChildTID = 0
        if let vp = task.vforkParent { task.vforkParent = nil; vp.vforkDone = true; vp.waiter.notify() }
        task.registersReplaced = true
        return 0
    }

    private func matches(_ child: ThreadGroup, selector pid: Int32, parent: ThreadGroup) -> Bool {
        if pid > 0 { return child.pid == pid }
        if pid == -1 { return true }
        if pid == 0 { return child.processGroupID == parent.processGroupID }
        return child.processGroupID == -pid
    }

    /// Finds a child that has exited, reaping it unless `keep`. nil + no error: children exist, none ready.
    private func findExited(_ task: Task, selector: (ThreadGroup) -> Bool, keep: Bool) throws(Errno) -> ThreadGroup? {
        try taskLock.withLock { () throws(Errno) -> ThreadGroup? in
            let candidates = task.threadGroup.children.values.filter(selector)
            guard !candidates.isEmpty else { throw Errno.ECHILD }
            guard let z = candidates.sorted(by: { $0.pid < $1.pid }).first(where: { $0.zombieStatus != nil }) else { return nil }
            return z
        }
    }

    func wait4(_ task: Task, pid: Int32, statusAddress: UInt64, options: Int, rusage: UInt64) throws(Errno) -> Int {
        let known = WaitFlags.WNOHANG | WaitFlags.WUNTRACED | WaitFlags.WCONTINUED | WaitFlags.__WNOTHREAD | WaitFlags.__WALL | WaitFlags.__WCLONE
        guard options & ~known == 0 else { throw Errno.EINVAL }
        let parent = task.threadGroup
        var found: ThreadGroup?
        try task.block(on: [parent.childEvents]) { () throws(Errno) -> Bool in
            found = try findExited(task, selector: { self.matches($0, selector: pid, parent: parent) }, keep: false)
            return found != nil || options & WaitFlags.WNOHANG != 0
        }
        guard let child = found, let status = child.zombieStatus else { return 0 }
        if statusAddress != 0 { try task.mm.write(statusAddress, status.raw) }
        if rusage != 0 { try task.mm.copyOut(rusage, [UInt8](repeating: 0, count: 144)) }
        reap(child)
        return Int(child.pid)
    }

    func waitid(_ task: Task, idType: Int, id: Int32, infop: UInt64, options: Int) throws(Errno) -> Int {
        guard options & (WaitFlags.WEXITED | WaitFlags.WSTOPPED | WaitFlags.WCONTINUED) != 0 else { throw Errno.EINVAL }
        let parent = task.threadGroup
        let selector: (ThreadGroup) -> Bool
        switch idType {
        case WaitFlags.P_ALL: selector = { _ in true }
        case WaitFlags.P_PID: selector = { $0.pid == id }
        case WaitFlags.P_PGID: let pg = id == 0 ? parent.processGroupID : id; selector = { $0.processGroupID == pg }
        default: throw Errno.EINVAL
        }
        var found: ThreadGroup?
        try task.block(on: [parent.childEvents]) { () throws(Errno) -> Bool in
            found = options & WaitFlags.WEXITED != 0 ? try findExited(task, selector: selector, keep: true) : nil
            return found != nil || options & WaitFlags.WNOHANG != 0
        }
        guard let child = found, let status = child.zombieStatus else {
            if infop != 0 { try task.mm.copyOut(infop, [UInt8](repeating: 0, count: 128)) }
            return 0
        }
        if infop != 0 {
            let exited = status.raw & 0x7f == 0
            let info = PendingSignal(signal: Signal.SIGCHLD.rawValue,
                                     code: exited ? 1 : (status.raw & 0x80 != 0 ? 3 : 2),
                                     senderPID: child.pid, senderUID: 0,
                                     status: exited ? (status.raw >> 8) & 0xff : status.raw & 0x7f)
            try task.mm.copyOut(infop, info.encode())
        }
        if options & WaitFlags.WNOWAIT == 0 { reap(child) }
        return 0
    }
}
