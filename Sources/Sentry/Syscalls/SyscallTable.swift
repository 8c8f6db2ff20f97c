// The syscall table: number → handler. A handler checks its arguments, calls into kernel objects and
// returns a value or throws an Errno; ERESTART* errnos ask the run loop to restart or fail with EINTR.
import LinuxABI
import Platform

/// The six raw arguments of a syscall.
struct SyscallArguments {
    var a0: UInt64, a1: UInt64, a2: UInt64, a3: UInt64, a4: UInt64, a5: UInt64
    var int0: Int32 { Int32(truncatingIfNeeded: a0) }
    var int1: Int32 { Int32(truncatingIfNeeded: a1) }
    var int2: Int32 { Int32(truncatingIfNeeded: a2) }
    var int3: Int32 { Int32(truncatingIfNeeded: a3) }
}

typealias SyscallHandler = (Task, SyscallArguments) throws(Errno) -> Int

final class SyscallTable: @unchecked Sendable {
    private(set) var handlers: [SyscallHandler?] = Array(repeating: nil, count: 512)

    init() {
        registerProcessSyscalls()
        registerFileSyscalls()
        registerIOSyscalls()
        registerMemorySyscalls()
        registerSignalSyscalls()
        registerTimeSyscalls()
        registerMiscSyscalls()
        registerTimerSyscalls()
        registerSysVSyscalls()
        registerIPCSyscalls()
        registerSocketSyscalls()
        registerSeccompSyscalls()
        registerSpliceSyscalls()
        registerInotifySyscalls()
        registerMountSyscalls()
    }

    func register(_ number: Int, _ handler: @escaping SyscallHandler) { handlers[number] = handler }

    /// Serves the syscall the task stopped at.
    func dispatch(_ task: Task) {
        let regs = task.registers
        let number = Int(truncatingIfNeeded: regs.origRax)
        let args = SyscallArguments(a0: regs.rdi, a1: regs.rsi, a2: regs.rdx, a3: regs.r10, a4: regs.r8, a5: regs.r9)
        let strace = task.kernel.config.strace
        let result: Int
        task.registersReplaced = false
        let compat = task.mm.peekUInt16(regs.rip &- 2) == 0x80cd
        // The app's seccomp filters see every syscall first (Kernel/AppSeccomp.swift); one load when none.
        if task.security.mode != 0, let verdict = task.seccompCheck(number: number, args: args, compat: compat) {
            if strace { task.kernel.log(Strace.format(task: task, number: number, args: args, result: verdict) + " (seccomp)") }
            task.registers.rax = UInt64(bitPattern: Int64(verdict))
            return
        }
        // `int $0x80` (bytes CD 80) asks for the 32-bit ABI, which the Sentry does not offer: ENOSYS, as gVisor
        // answers, rather than running a 64-bit syscall that happens to have the same number.
        if compat {
            task.registers.rax = UInt64(bitPattern: Int64(-Int(Errno.ENOSYS.rawValue)))
            if strace { task.kernel.log("[\(task.tid)] int $0x80 syscall \(number) (32-bit ABI) = -1 ENOSYS") }
            return
        }
        if number >= 0, number < handlers.count, let h = handlers[number] {
            do { result = try h(task, args) } catch { result = -Int(error.rawValue) }
        } else {
            task.kernel.reportUnimplemented(number)
            result = -Int(Errno.ENOSYS.rawValue)
        }
        if strace { task.kernel.log(Strace.format(task: task, number: number, args: args, result: result)) }
        if task.registersReplaced { return }
        task.registers.rax = UInt64(bitPattern: Int64(result))
        if result <= -512 && result >= -516 { task.restartCode = Int32(-result) }
    }
}

extension Task {
    /// Resolves a pending restart request when no handler frame is set up: the syscall runs again.
    func restartSyscallIfPending(handlerFlags: UInt64?) {
        guard let code = restartCode else { return }
        restartCode = nil
        let restart: Bool
        switch code {
        case Errno.ERESTARTNOINTR.rawValue: restart = true
        case Errno.ERESTARTSYS.rawValue: restart = handlerFlags == nil || handlerFlags! & SignalConstants.SA_RESTART != 0
        case Errno.ERESTARTNOHAND.rawValue, Errno.ERESTART_RESTARTBLOCK.rawValue: restart = handlerFlags == nil
        default: restart = false
        }
        if restart {
            if let m = savedMaskForSuspend { signalMask = m; savedMaskForSuspend = nil }
            registers.rax = registers.origRax
            registers.rip -= 2  // back onto the 2-byte `syscall` instruction
        } else {
            registers.rax = UInt64(bitPattern: Int64(-Int(Errno.EINTR.rawValue)))
        }
    }
}
