// Signal frames: what the app's stack holds while a handler runs, and rt_sigreturn that undoes it.
// The frame is the x86-64 rt_sigframe: return address, ucontext (with sigcontext), siginfo.
import LinuxABI
import Platform

final class SignalDelivery: @unchecked Sendable {
    static let ucontextSize = 304
    static let siginfoSize = 128
    static let frameSize = 8 + ucontextSize + siginfoSize
    /// Frames deeper than this are treated as a runaway (each keeps saved FP state in the Sentry).
    static let maxNesting = 64

    /// Pushes a frame for `signal` and points the task at its handler. False if the stack is unusable.
    func setupFrame(_ task: Task, _ signal: PendingSignal, _ action: SignalAction) -> Bool {
        var regs = task.registers
        // SA_ONSTACK: switch to the alternate stack unless already on it.
        let (altBase, altSize) = task.altStack
        let onAltStack = altBase != 0 && regs.rsp > altBase && regs.rsp <= altBase + altSize
        // Leave the 128-byte red zone of the interrupted code alone (not needed on a fresh alternate stack).
        var sp = regs.rsp &- 128
        if action.flags & SignalConstants.SA_ONSTACK != 0 && altBase != 0 && !onAltStack { sp = altBase + altSize }
        sp = (sp &- UInt64(SignalDelivery.frameSize)) & ~15
        sp &-= 8  // as if "call"ed: (rsp + 8) is 16-byte aligned at handler entry
        let ucAddr = sp + 8
        let infoAddr = ucAddr + UInt64(SignalDelivery.ucontextSize)

        var uc = [UInt8](repeating: 0, count: SignalDelivery.ucontextSize)
        uc.withUnsafeMutableBytes { p in
            // uc_flags, uc_link, uc_stack (ss_sp, ss_flags, ss_size).
            p.storeBytes(of: altBase, toByteOffset: 16, as: UInt64.self)
            p.storeBytes(of: UInt32(altBase == 0 ? 2 : (onAltStack ? 1 : 0)), toByteOffset: 24, as: UInt32.self)  // SS_DISABLE / SS_ONSTACK
            p.storeBytes(of: altSize, toByteOffset: 32, as: UInt64.self)
            let m = 40  // sigcontext
            let gp: [UInt64] = [regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15,
                                regs.rdi, regs.rsi, regs.rbp, regs.rbx, regs.rdx, regs.rax, regs.rcx, regs.rsp,
                                regs.rip, regs.eflags]
            for (i, v) in gp.enumerated() { p.storeBytes(of: v, toByteOffset: m + i * 8, as: UInt64.self) }
            p.storeBytes(of: UInt16(truncatingIfNeeded: regs.cs), toByteOffset: m + 144, as: UInt16.self)
            p.storeBytes(of: UInt16(truncatingIfNeeded: regs.ss), toByteOffset: m + 150, as: UInt16.self)
            p.storeBytes(of: signal.signal == 11 ? signal.address : 0, toByteOffset: m + 184, as: UInt64.self)  // cr2
            p.storeBytes(of: UInt64(0), toByteOffset: m + 192, as: UInt64.self)  // fpstate: kept by the Sentry
            p.storeBytes(of: (task.savedMaskForSuspend ?? task.signalMask).bits, toByteOffset: 296, as: UInt64.self)  // uc_sigmask
        }
        do {
            try task.mm.write(sp, action.restorer)
            try task.mm.copyOut(ucAddr, uc)
            try task.mm.copyOut(infoAddr, signal.encode())
        } catch {
            return false
        }
        guard task.savedFPStates.count < SignalDelivery.maxNesting else { return false }
        task.savedFPStates.append(task.kernel.platformFPState(task))

        regs.rsp = sp
        regs.rip = action.handler
        regs.rdi = UInt64(signal.signal)
        regs.rsi = infoAddr
        regs.rdx = ucAddr
        regs.rax = 0
        regs.eflags &= ~(1 << 10)  // DF clear, as the ABI requires at function entry
        task.registers = regs

        task.savedMaskForSuspend = nil
        var newMask = task.signalMask
        newMask.bits |= action.mask.bits
        if action.flags & SignalConstants.SA_NODEFER == 0 { newMask.insert(Signal(signal.signal)) }
        newMask.bits &= ~SignalSet.unblockable.bits
        task.signalMask = newMask
        if action.flags & SignalConstants.SA_RESETHAND != 0 {
            task.threadGroup.handlers.lock.withLock { task.threadGroup.handlers.actions[Int(signal.signal)] = SignalAction() }
        }
        return true
    }

    /// rt_sigreturn: restores registers and mask from the frame at the stack pointer.
    func sigreturn(_ task: Task) throws(Errno) {
        let ucAddr = task.registers.rsp  // the handler's "ret" popped the return address
        let uc = try task.mm.copyIn(ucAddr, SignalDelivery.ucontextSize)
        var regs = task.registers
        uc.withUnsafeBytes { p in
            let m = 40
            func g(_ i: Int) -> UInt64 { p.load(fromByteOffset: m + i * 8, as: UInt64.self) }
            regs.r8 = g(0); regs.r9 = g(1); regs.r10 = g(2); regs.r11 = g(3); regs.r12 = g(4); regs.r13 = g(5)
            regs.r14 = g(6); regs.r15 = g(7); regs.rdi = g(8); regs.rsi = g(9); regs.rbp = g(10); regs.rbx = g(11)
            regs.rdx = g(12); regs.rax = g(13); regs.rcx = g(14); regs.rsp = g(15); regs.rip = g(16)
            // Only the user-changeable flags (CF PF AF ZF SF TF DF OF, AC) come from the frame.
            let userFlags: UInt64 = 0x40dd5
            regs.eflags = (regs.eflags & ~userFlags) | (g(17) & userFlags)
            task.signalMask = SignalSet(bits: p.load(fromByteOffset: 296, as: UInt64.self) & ~SignalSet.unblockable.bits)
        }
        regs.origRax = UInt64.max  // no syscall restart after sigreturn
        task.registers = regs
        if let fp = task.savedFPStates.popLast() { task.kernel.restorePlatformFPState(task, fp) }
    }
}

extension Kernel {
    func platformFPState(_ task: Task) -> [UInt8] { task.context?.floatingPointState() ?? [] }
    func restorePlatformFPState(_ task: Task, _ state: [UInt8]) {
        if !state.isEmpty { task.context?.setFloatingPointState(state) }
    }
}
