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
        register(SyscallNumber.setresuid) { (t, a) throws(Errno) -> Int in try t.setResIDs(a.int0, a.int1, a.int2, group: false); return 0 }
        register(SyscallNumber.setresgid) { (t, a) throws(Errno) -> Int in try t.setResIDs(a.int0, a.int1, a.int2, group: true); return 0 }
        register(SyscallNumber.setreuid) { (t, a) throws(Errno) -> Int in
            // setreuid(r, e): a real change (or an effective one differing from the real id) also sets the saved id.
            let c = t.credentials
            let saved: Int32 = (a.int0 != -1 || (a.int1 != -1 && UInt32(bitPattern: a.int1) != c.uid)) ? (a.int1 != -1 ? a.int1 : Int32(bitPattern: c.euid)) : -1
            try t.setResIDs(a.int0, a.int1, saved, group: false); return 0
        }
        register(SyscallNumber.setregid) { (t, a) throws(Errno) -> Int in
            let c = t.credentials
            let saved: Int32 = (a.int0 != -1 || (a.int1 != -1 && UInt32(bitPattern: a.int1) != c.gid)) ? (a.int1 != -1 ? a.int1 : Int32(bitPattern: c.egid)) : -1
            try t.setResIDs(a.int0, a.int1, saved, group: true); return 0
        }
        register(SyscallNumber.setfsuid) { (t, a) throws(Errno) -> Int in
            let old = t.credentials.fsuid
            let u = UInt32(truncatingIfNeeded: a.a0)
            let c = t.credentials
            if t.hasCapability(Capability.CAP_SETUID) || [c.uid, c.euid, c.suid, c.fsuid].contains(u) {
                t.credentials.fsuid = u
                t.capabilities.fileSystemUIDChanged(from: old, to: u)
            }
            return Int(old)
        }
        register(SyscallNumber.setfsgid) { (t, a) throws(Errno) -> Int in
            let old = t.credentials.fsgid
            let g = UInt32(truncatingIfNeeded: a.a0)
            let c = t.credentials
            if t.hasCapability(Capability.CAP_SETGID) || [c.gid, c.egid, c.sgid, c.fsgid].contains(g) { t.credentials.fsgid = g }
            return Int(old)
        }
        register(SyscallNumber.setgid) { (t, a) throws(Errno) -> Int in try t.setIDs(gid: a.int0); return 0 }
        register(SyscallNumber.setgroups) { (t, a) throws(Errno) -> Int in
            guard t.hasCapability(Capability.CAP_SETGID) else { throw Errno.EPERM }
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
            let b = try t.mm.copyIn(a.a0, a.a1 >= 88 ? 88 : 64)
            func f(_ i: Int) -> UInt64 { b.withUnsafeBytes { $0.load(fromByteOffset: i * 8, as: UInt64.self) } }
            // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, ...
            let flags = f(0), exitSignal = f(4), stack = f(5), stackSize = f(6)
            guard exitSignal <= 64, flags & CloneFlags.CSIGNAL == 0 else { throw Errno.EINVAL }
            return try t.kernel.clone(t, flags: flags | exitSignal, stack: stack == 0 ? 0 : stack + stackSize,
                                      parentTID: f(3), childTID: f(2), tls: f(7))
        }
        register(SyscallNumber.execve) { (t, a) throws(Errno) -> Int in try t.kernel.execve(t, pathAddress: a.a0, argv: a.a1, envp: a.a2, dirfd: AtFlags.AT_FDCWD, flags: 0) }
        register(SyscallNumber.execveat) { (t, a) throws(Errno) -> Int in try t.kernel.execve(t, pathAddress: a.a1, argv: a.a2, envp: a.a3, dirfd: a.int0, flags: Int(Int32(truncatingIfNeeded: a.a4))) }
        register(SyscallNumber.wait4) { (t, a) throws(Errno) -> Int in try t.kernel.wait4(t, pid: a.int0, statusAddress: a.a1, options: Int(a.int2), rusage: a.a3) }
        register(SyscallNumber.waitid) { (t, a) throws(Errno) -> Int in try t.kernel.waitid(t, idType: Int(a.int0), id: a.int1, infop: a.a2, options: Int(a.int3)) }

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
            switch Int(a.int0) {
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
            guard t.hasCapability(Capability.CAP_SYS_ADMIN) else { throw Errno.EPERM }
            guard a.a1 <= 64 else { throw Errno.EINVAL }
            let bytes = try t.mm.copyIn(a.a0, Int(a.int1))
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
            // seccomp, no_new_privs and capability options: Syscalls/SeccompSyscalls.swift, Kernel/Capabilities.swift.
            if let r = try SyscallTable.securityPrctl(t, a) { return r }
            switch Int(a.int0) {
            case 15:  // PR_SET_NAME
                let bytes = try t.mm.readCString(a.a1, max: 16)
                t.name = String(decoding: bytes.prefix(15), as: UTF8.self); return 0
            case 16:  // PR_GET_NAME
                var b = Array(t.name.utf8.prefix(15)); b.append(0)
                try t.mm.copyOut(a.a1, b); return 0
            case 1:  // PR_SET_PDEATHSIG
                guard a.a1 <= 64 else { throw Errno.EINVAL }
                t.parentDeathSignal = Int32(a.a1); return 0
            case 2:  // PR_GET_PDEATHSIG
                try t.mm.write(a.a1, t.parentDeathSignal); return 0
            case 36, 37: return 0 // PR_SET/GET_CHILD_SUBREAPER
            case 3: return 0     // PR_GET_DUMPABLE
            case 4: return 0     // PR_SET_DUMPABLE
            default: throw Errno.EINVAL
            }
        }
        register(SyscallNumber.getrlimit) { (t, a) throws(Errno) -> Int in try t.kernel.writeRlimit(t, t.threadGroup, resource: Int(a.int0), address: a.a1); return 0 }
        register(SyscallNumber.setrlimit) { (t, a) throws(Errno) -> Int in
            try t.kernel.setRlimit(t, t.threadGroup, resource: Int(a.int0), address: a.a1); return 0
        }
        register(SyscallNumber.prlimit64) { (t, a) throws(Errno) -> Int in
            let target = a.int0 == 0 ? t.threadGroup : t.kernel.group(a.int0)
            guard let g = target, g.zombieStatus == nil else { throw Errno.ESRCH }
            guard a.a1 < 16 else { throw Errno.EINVAL }
            let oldValues = a.a3 != 0 ? t.kernel.rlimit(g, Int(a.int1)) : nil
            if a.a2 != 0 { try t.kernel.setRlimit(t, g, resource: Int(a.int1), address: a.a2) }
            if let (cur, max) = oldValues { try t.mm.write(a.a3, cur); try t.mm.write(a.a3 + 8, max) }
            return 0
        }
        register(SyscallNumber.capget) { (t, a) throws(Errno) -> Int in
            // struct __user_cap_header_struct { u32 version; int pid }; versions 1 (one set), 2 and 3 (two).
            let version: UInt32 = try t.mm.read(a.a0, as: UInt32.self)
            let pid: Int32 = try t.mm.read(a.a0 + 4, as: Int32.self)
            let words: Int
            switch version {
            case 0x1998_0330: words = 1
            case 0x2007_1026, 0x2008_0522: words = 2
            default: try t.mm.write(a.a0, UInt32(0x2008_0522)); throw a.a1 == 0 ? Errno.EINVAL : Errno.EINVAL
            }
            guard pid >= 0 else { throw Errno.EINVAL }
            guard pid == 0 || t.kernel.task(pid) != nil else { throw Errno.ESRCH }
            guard a.a1 != 0 else { return 0 }
            let caps = pid == 0 ? t.capabilities : t.kernel.task(pid)?.capabilities ?? t.capabilities
            var out = [UInt8](repeating: 0, count: 12 * words)
            out.withUnsafeMutableBytes { b in
                for w in 0..<words {
                    let shift = UInt64(32 * w)
                    b.storeBytes(of: UInt32(truncatingIfNeeded: caps.effective >> shift), toByteOffset: w * 12, as: UInt32.self)
                    b.storeBytes(of: UInt32(truncatingIfNeeded: caps.permitted >> shift), toByteOffset: w * 12 + 4, as: UInt32.self)
                    b.storeBytes(of: UInt32(truncatingIfNeeded: caps.inheritable >> shift), toByteOffset: w * 12 + 8, as: UInt32.self)
                }
            }
            try t.mm.copyOut(a.a1, out)
            return 0
        }
        register(SyscallNumber.capset) { (t, a) throws(Errno) -> Int in
            let version: UInt32 = try t.mm.read(a.a0, as: UInt32.self)
            let pid: Int32 = try t.mm.read(a.a0 + 4, as: Int32.self)
            guard version == 0x2008_0522 || version == 0x2007_1026 || version == 0x1998_0330 else { throw Errno.EINVAL }
            guard pid == 0 || pid == t.tid else { throw Errno.EPERM }
            let words = version == 0x1998_0330 ? 1 : 2
            let raw = try t.mm.copyIn(a.a1, 12 * words)
            var e: UInt64 = 0, p: UInt64 = 0, i: UInt64 = 0
            raw.withUnsafeBytes { b in
                for w in 0..<words {
                    let shift = UInt64(32 * w)
                    e |= UInt64(b.load(fromByteOffset: w * 12, as: UInt32.self)) << shift
                    p |= UInt64(b.load(fromByteOffset: w * 12 + 4, as: UInt32.self)) << shift
                    i |= UInt64(b.load(fromByteOffset: w * 12 + 8, as: UInt32.self)) << shift
                }
            }
            try SyscallTable.capset(t, effective: e, permitted: p, inheritable: i)
            return 0
        }
        register(SyscallNumber.getpriority) { (t, a) throws(Errno) -> Int in
            guard a.a0 <= 2 else { throw Errno.EINVAL }
            if a.a0 == 0 && a.int1 != 0 && t.kernel.group(a.int1) == nil { throw Errno.ESRCH }
            return 20 - Int(t.threadGroup.nice)  // the kernel's encoding: 40..1 for nice -20..19
        }
        register(SyscallNumber.setpriority) { (t, a) throws(Errno) -> Int in
            guard a.a0 <= 2 else { throw Errno.EINVAL }
            let target = a.a0 == 0 && a.int1 != 0 ? t.kernel.group(a.int1) : t.threadGroup
            guard let g = target else { throw Errno.ESRCH }
            let nice = max(-20, min(19, a.int2))
            if nice < g.nice && t.capabilities.effective & (1 << 23) == 0 { throw Errno.EACCES }  // CAP_SYS_NICE
            g.nice = nice
            return 0
        }
        register(SyscallNumber.sched_getscheduler) { (t, a) throws(Errno) -> Int in
            guard a.int0 >= 0 else { throw Errno.EINVAL }
            guard a.int0 == 0 || t.kernel.task(a.int0) != nil else { throw Errno.ESRCH }
            return 0  // SCHED_OTHER
        }
        register(SyscallNumber.sched_getparam) { (t, a) throws(Errno) -> Int in
            guard a.int0 >= 0, a.a1 != 0 else { throw Errno.EINVAL }
            guard a.int0 == 0 || t.kernel.task(a.int0) != nil else { throw Errno.ESRCH }
            try t.mm.write(a.a1, Int32(0)); return 0
        }
        register(SyscallNumber.sched_setscheduler) { (t, a) throws(Errno) -> Int in
            guard a.int0 >= 0 else { throw Errno.EINVAL }
            guard a.int0 == 0 || t.kernel.task(a.int0) != nil else { throw Errno.ESRCH }
            let policy = a.int1 & ~0x4000_0000  // SCHED_RESET_ON_FORK
            guard [0, 3, 5].contains(policy) else { throw Errno.EPERM }  // OTHER, BATCH, IDLE; real-time needs privilege we do not grant
            return 0
        }
        register(SyscallNumber.sched_setparam) { (t, a) throws(Errno) -> Int in
            guard a.int0 >= 0, a.a1 != 0 else { throw Errno.EINVAL }
            guard a.int0 == 0 || t.kernel.task(a.int0) != nil else { throw Errno.ESRCH }
            let prio: Int32 = try t.mm.read(a.a1, as: Int32.self)
            guard prio == 0 else { throw Errno.EINVAL }
            return 0
        }
        register(SyscallNumber.sched_get_priority_max) { (_, a) throws(Errno) -> Int in
            switch a.int0 { case 1, 2: return 99; case 0, 3, 5: return 0; default: throw Errno.EINVAL }
        }
        register(SyscallNumber.sched_get_priority_min) { (_, a) throws(Errno) -> Int in
            switch a.int0 { case 1, 2: return 1; case 0, 3, 5: return 0; default: throw Errno.EINVAL }
        }
        register(SyscallNumber.sched_rr_get_interval) { (t, a) throws(Errno) -> Int in
            try t.kernel.writeTimespec(t, a.a1, 100_000_000); return 0
        }
        // getrusage and times: TimerSyscalls.swift.
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
    /// setresuid/setresgid: -1 keeps a value; without privilege each new id must be one of the current three.
    func setResIDs(_ r: Int32, _ e: Int32, _ s: Int32, group: Bool) throws(Errno) {
        var c = credentials
        let current = group ? [c.gid, c.egid, c.sgid] : [c.uid, c.euid, c.suid]
        let privileged = hasCapability(group ? Capability.CAP_SETGID : Capability.CAP_SETUID)
        for v in [r, e, s] where v != -1 {
            guard privileged || current.contains(UInt32(bitPattern: v)) else { throw Errno.EPERM }
        }
        if group {
            if r != -1 { c.gid = UInt32(bitPattern: r) }
            if e != -1 { c.egid = UInt32(bitPattern: e) }
            if s != -1 { c.sgid = UInt32(bitPattern: s) }
            c.fsgid = c.egid
        } else {
            let wasRoot = c.euid == 0
            if r != -1 { c.uid = UInt32(bitPattern: r) }
            if e != -1 { c.euid = UInt32(bitPattern: e) }
            if s != -1 { c.suid = UInt32(bitPattern: s) }
            c.fsuid = c.euid
            // Leaving uid 0 everywhere drops the capabilities, as Linux does without SECBIT_KEEP_CAPS.
            if wasRoot && c.uid != 0 && c.euid != 0 && c.suid != 0 {
                capabilities.effective = 0; capabilities.permitted = 0; capabilities.ambient = 0
            }
            else if wasRoot && c.euid != 0 { capabilities.effective = 0 }
            else if !wasRoot && c.euid == 0 { capabilities.effective = capabilities.permitted }
        }
        credentials = c
    }

    /// setuid/setgid: a privileged caller sets all three ids; others only the effective one, to a value they hold.
    func setIDs(uid: Int32? = nil, gid: Int32? = nil) throws(Errno) {
        if let uid {
            let privileged = hasCapability(Capability.CAP_SETUID)
            try setResIDs(privileged ? uid : -1, uid, privileged ? uid : -1, group: false)
        }
        if let gid {
            let privileged = hasCapability(Capability.CAP_SETGID)
            try setResIDs(privileged ? gid : -1, gid, privileged ? gid : -1, group: true)
        }
    }
}

extension Kernel {
    /// The (soft, hard) limit of `resource` for process `group`.
    func rlimit(_ group: ThreadGroup, _ resource: Int) -> (UInt64, UInt64) {
        if let set = taskLock.withLock({ group.rlimits[resource] }) { return set }
        return Kernel.defaultRlimits[resource] ?? (UInt64.max, UInt64.max)
    }

    static let defaultRlimits: [Int: (UInt64, UInt64)] = [
        3: (8 << 20, UInt64.max),   // RLIMIT_STACK
        7: (1024, 1_048_576),       // RLIMIT_NOFILE
        6: (32768, 32768),          // RLIMIT_NPROC
        8: (64 << 10, 64 << 10),    // RLIMIT_MEMLOCK
        4: (0, UInt64.max),         // RLIMIT_CORE
        13: (0, 0), 14: (0, 0),     // RLIMIT_NICE, RLIMIT_RTPRIO
    ]

    /// setrlimit/prlimit64: the soft limit may not exceed the hard one; raising the hard limit needs
    /// CAP_SYS_RESOURCE. RLIMIT_NOFILE is enforced by the descriptor table.
    func setRlimit(_ task: Task, _ group: ThreadGroup, resource: Int, address: UInt64) throws(Errno) {
        guard resource >= 0 && resource < 16 else { throw Errno.EINVAL }
        let cur: UInt64 = try task.mm.read(address, as: UInt64.self)
        let max: UInt64 = try task.mm.read(address + 8, as: UInt64.self)
        guard cur <= max else { throw Errno.EINVAL }
        let (_, oldMax) = rlimit(group, resource)
        if max > oldMax && task.capabilities.effective & (1 << 24) == 0 { throw Errno.EPERM }  // CAP_SYS_RESOURCE
        if resource == 7 && max > 1_048_576 { throw Errno.EPERM }  // nr_open
        taskLock.withLock { group.rlimits[resource] = (cur, max) }
        if resource == 7 {
            for t in taskLock.withLock({ group.tasks }) { t.fdTable.limit = Int32(clamping: cur) }
        }
    }

    func writeRlimit(_ task: Task, _ group: ThreadGroup, resource: Int, address: UInt64) throws(Errno) {
        guard resource >= 0 && resource < 16 else { throw Errno.EINVAL }
        let (cur, max) = rlimit(group, resource)
        try task.mm.write(address, cur)
        try task.mm.write(address + 8, max)
    }

    /// fork, vfork and clone (threads: cloneThread).
    func clone(_ parent: Task, flags: UInt64, stack: UInt64, parentTID: UInt64, childTID: UInt64, tls: UInt64) throws(Errno) -> Int {
        if flags & CloneFlags.CLONE_THREAD != 0 {
            return try cloneThread(parent, flags: flags, stack: stack, parentTID: parentTID, childTID: childTID, tls: tls)
        }
        if flags & (CloneFlags.CLONE_NEWUSER | CloneFlags.CLONE_NEWPID | CloneFlags.CLONE_NEWNET | CloneFlags.CLONE_NEWNS |
                    CloneFlags.CLONE_NEWIPC | CloneFlags.CLONE_NEWUTS | CloneFlags.CLONE_NEWCGROUP) != 0 {
            throw Errno.EPERM
        }
        if flags & CloneFlags.CLONE_SIGHAND != 0 && flags & CloneFlags.CLONE_VM == 0 { throw Errno.EINVAL }
        // RLIMIT_NPROC: processes of the caller's real uid, unless it may ignore resource limits.
        let (nproc, _) = rlimit(parent.threadGroup, 6)
        if nproc != UInt64.max && parent.capabilities.effective & ((1 << 24) | (1 << 21)) == 0 {  // CAP_SYS_RESOURCE/ADMIN
            let uid = parent.credentials.uid
            let count = taskLock.withLock { groups.values.filter { $0.zombieStatus == nil && $0.tasks.first?.credentials.uid == uid }.count }
            if UInt64(count) >= nproc { throw Errno.EAGAIN }
        }
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
        child.capabilities = parent.capabilities
        child.security = parent.security.copy()
        child.altStack = flags & CloneFlags.CLONE_VM != 0 ? (0, 0) : parent.altStack
        group.rlimits = parent.threadGroup.rlimits
        group.nice = parent.threadGroup.nice
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
        child.capabilities = parent.capabilities
        child.security = parent.security.copy()
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
        task.capabilities.applyExec(credentials: task.credentials)  // no file capabilities or set-id bits here
        timersOnExec(task)  // POSIX timers end with the old image (Time/ProcessTimers.swift)
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

    /// A job-control change of a child not yet reported: (child, stop signal, or nil for "continued").
    /// Clears the report unless `keep` (WNOWAIT).
    private func findStopOrContinue(_ task: Task, selector: (ThreadGroup) -> Bool, stopped: Bool, continued: Bool,
                                    keep: Bool) -> (ThreadGroup, Int32?)? {
        taskLock.withLock { () -> (ThreadGroup, Int32?)? in
            for c in task.threadGroup.children.values.filter(selector).sorted(by: { $0.pid < $1.pid }) where c.zombieStatus == nil {
                if stopped, c.unreportedStop, let sig = c.stopSignal {
                    if !keep { c.unreportedStop = false }
                    return (c, sig)
                }
                if continued, c.unreportedContinue {
                    if !keep { c.unreportedContinue = false }
                    return (c, nil)
                }
            }
            return nil
        }
    }

    func wait4(_ task: Task, pid: Int32, statusAddress: UInt64, options: Int, rusage: UInt64) throws(Errno) -> Int {
        let known = WaitFlags.WNOHANG | WaitFlags.WUNTRACED | WaitFlags.WCONTINUED | WaitFlags.__WNOTHREAD | WaitFlags.__WALL | WaitFlags.__WCLONE
        guard options & ~known == 0 else { throw Errno.EINVAL }
        let parent = task.threadGroup
        var found: ThreadGroup?
        var jobChange: (ThreadGroup, Int32?)?
        let selector = { (g: ThreadGroup) -> Bool in self.matches(g, selector: pid, parent: parent) }
        try task.block(on: [parent.childEvents]) { () throws(Errno) -> Bool in
            found = try findExited(task, selector: selector, keep: false)
            if found == nil {
                jobChange = findStopOrContinue(task, selector: selector, stopped: options & WaitFlags.WUNTRACED != 0,
                                               continued: options & WaitFlags.WCONTINUED != 0, keep: false)
            }
            return found != nil || jobChange != nil || options & WaitFlags.WNOHANG != 0
        }
        if let (child, stopSignal) = jobChange {
            // Stopped: 0x7f | sig << 8. Continued: 0xffff.
            let raw: Int32 = stopSignal.map { 0x7f | ($0 << 8) } ?? 0xffff
            if statusAddress != 0 { try task.mm.write(statusAddress, raw) }
            if rusage != 0 { try task.mm.copyOut(rusage, [UInt8](repeating: 0, count: 144)) }
            return Int(child.pid)
        }
        guard let child = found, let status = child.zombieStatus else { return 0 }
        if statusAddress != 0 { try task.mm.write(statusAddress, status.raw) }
        let usage = accountReapedChild(child, parent: parent)  // CPU times (Time/CPUClocks.swift)
        reap(child)
        if rusage != 0 { try task.mm.copyOut(rusage, usage) }
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
        var jobChange: (ThreadGroup, Int32?)?
        try task.block(on: [parent.childEvents]) { () throws(Errno) -> Bool in
            found = options & WaitFlags.WEXITED != 0 ? try findExited(task, selector: selector, keep: true) : nil
            if found == nil {
                // ECHILD when there are no children at all, as for WEXITED.
                if options & WaitFlags.WEXITED == 0 { _ = try findExited(task, selector: selector, keep: true) }
                jobChange = findStopOrContinue(task, selector: selector, stopped: options & WaitFlags.WSTOPPED != 0,
                                               continued: options & WaitFlags.WCONTINUED != 0,
                                               keep: options & WaitFlags.WNOWAIT != 0)
            }
            return found != nil || jobChange != nil || options & WaitFlags.WNOHANG != 0
        }
        if let (child, stopSignal) = jobChange {
            if infop != 0 {
                let info = PendingSignal(signal: Signal.SIGCHLD.rawValue, code: stopSignal == nil ? 6 : 5,  // CLD_CONTINUED / CLD_STOPPED
                                         senderPID: child.pid, senderUID: 0, status: stopSignal ?? Signal.SIGCONT.rawValue)
                try task.mm.copyOut(infop, info.encode())
            }
            return 0
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
        if options & WaitFlags.WNOWAIT == 0 { _ = accountReapedChild(child, parent: parent); reap(child) }
        return 0
    }
}
