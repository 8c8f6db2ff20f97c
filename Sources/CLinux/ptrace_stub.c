// Machine code of the ptrace platform's stub process, and the raw fork that starts it.
// See PtraceStub.h for the contract and Sources/PlatformPtrace/StubRegion.swift for how it is used.
#define _GNU_SOURCE
#include "PtraceStub.h"
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

// The stub. It runs in a fork of the Sentry, so until step 7 everything of the Sentry is still mapped, but
// it uses no stack and no libc: only raw syscalls and registers, and reads memory only at rbx (step 4) and
// in its own page. Inputs: r12 = region start, r13 = region end, r14 = memfd, r15 = the Sentry's pid,
// rbx = the address (in the parent's stack copy) of {rseq area, length, signature}, or 0. rbp holds the
// number of the step in progress so the tracer can say which one failed (ud2 -> SIGILL with rax = -errno).
// Nothing here may reference a global symbol: the code is copied to another address.
__asm__(
    ".text\n"
    ".globl ptrace_stub_code_start\n"
    ".globl ptrace_stub_code_end\n"
    ".globl ptrace_stub_syscall_site\n"
    ".p2align 4\n"
    "ptrace_stub_code_start:\n"
    // 1: die with the Sentry's thread that created us (ptrace's EXITKILL only takes effect later).
    "    mov $1, %ebp\n"
    "    mov $157, %eax\n"          // prctl
    "    mov $1, %edi\n"            // PR_SET_PDEATHSIG
    "    mov $9, %esi\n"            // SIGKILL
    "    xor %edx, %edx\n"
    "    xor %r10d, %r10d\n"
    "    xor %r8d, %r8d\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    // 2: if the Sentry already died before step 1, nobody would ever kill us.
    "    mov $2, %ebp\n"
    "    mov $110, %eax\n"          // getppid
    "    syscall\n"
    "    cmp %r15, %rax\n"
    "    mov $-3, %rax\n"           // -ESRCH for the report; mov leaves the flags alone
    "    jne 9f\n"
    // 3: the creating thread becomes our tracer.
    "    mov $3, %ebp\n"
    "    mov $101, %eax\n"          // ptrace
    "    xor %edi, %edi\n"          // PTRACE_TRACEME
    "    xor %esi, %esi\n"
    "    xor %edx, %edx\n"
    "    xor %r10d, %r10d\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    // 4: forget the Sentry thread's rseq area (inherited by fork): once it is unmapped, the kernel's rseq
    // update on the next return to user mode would fail and force a SIGSEGV on the stub.
    "    mov $4, %ebp\n"
    "    test %rbx, %rbx\n"
    "    jz 2f\n"
    "    mov $334, %eax\n"          // rseq(area, length, RSEQ_FLAG_UNREGISTER, signature)
    "    mov (%rbx), %rdi\n"
    "    mov 8(%rbx), %rsi\n"
    "    mov $1, %edx\n"
    "    mov 16(%rbx), %r10\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    "2:\n"
    // 5, 6: keep only the MemoryFile: a stub must not hold the Sentry's sockets or files open.
    "    mov $5, %ebp\n"
    "    test %r14, %r14\n"
    "    jz 1f\n"
    "    mov $436, %eax\n"          // close_range(0, memfd - 1, 0)
    "    xor %edi, %edi\n"
    "    lea -1(%r14), %rsi\n"
    "    xor %edx, %edx\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    "1:  mov $6, %ebp\n"
    "    mov $436, %eax\n"          // close_range(memfd + 1, ~0U, 0)
    "    lea 1(%r14), %rdi\n"
    "    mov $0xffffffff, %esi\n"
    "    xor %edx, %edx\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    // 7, 8: drop every mapping of the Sentry (code, heap, stacks, vdso) except the stub region.
    "    mov $7, %ebp\n"
    "    mov $11, %eax\n"           // munmap(0, region start)
    "    xor %edi, %edi\n"
    "    mov %r12, %rsi\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    "    mov $8, %ebp\n"
    "    mov $11, %eax\n"           // munmap(region end, TASK_SIZE - region end)
    "    mov %r13, %rdi\n"
    "    movabs $0x7ffffffff000, %rsi\n"
    "    sub %r13, %rsi\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    // 9, 10: defense in depth: should app code ever run without SYSEMU, it can only mmap/munmap/mprotect.
    "    mov $9, %ebp\n"
    "    mov $157, %eax\n"          // prctl
    "    mov $38, %edi\n"           // PR_SET_NO_NEW_PRIVS
    "    mov $1, %esi\n"
    "    xor %edx, %edx\n"
    "    xor %r10d, %r10d\n"
    "    xor %r8d, %r8d\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    "    mov $10, %ebp\n"
    "    mov $317, %eax\n"          // seccomp
    "    mov $1, %edi\n"            // SECCOMP_SET_MODE_FILTER
    "    xor %esi, %esi\n"
    "    lea 0x800(%r12), %rdx\n"   // PTRACE_STUB_FPROG_OFFSET
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 9f\n"
    // Ready: the tracer sees SIGTRAP with rip == ptrace_stub_syscall_site.
    "    xor %ebp, %ebp\n"
    "    int3\n"
    "ptrace_stub_syscall_site:\n"
    ".Lptrace_stub_site:\n"         // a local label: a jump to a global one could be relocated
    "    syscall\n"
    "    int3\n"
    "    jmp .Lptrace_stub_site\n"
    "9:  ud2\n"
    "    jmp 9b\n"
    "ptrace_stub_code_end:\n"

    // long ptrace_stub_clone_raw(entry, region_start, region_end, memfd, parent_pid, rseq)
    ".globl ptrace_stub_clone_raw\n"
    ".hidden ptrace_stub_clone_raw\n"
    ".type ptrace_stub_clone_raw, @function\n"
    "ptrace_stub_clone_raw:\n"
    "    push %rbx\n"
    "    push %rbp\n"
    "    push %r12\n"
    "    push %r13\n"
    "    push %r14\n"
    "    push %r15\n"
    "    mov %rdi, %rbp\n"
    "    mov %rsi, %r12\n"
    "    mov %rdx, %r13\n"
    "    mov %rcx, %r14\n"
    "    mov %r8, %r15\n"
    "    mov %r9, %rbx\n"
    "    mov $56, %eax\n"           // clone(flags 0: a fork with no exit signal)
    "    xor %edi, %edi\n"
    "    xor %esi, %esi\n"
    "    xor %edx, %edx\n"
    "    xor %r10d, %r10d\n"
    "    xor %r8d, %r8d\n"
    "    syscall\n"
    "    test %rax, %rax\n"
    "    jnz 1f\n"
    "    jmp *%rbp\n"               // the child: into the stub page, never back
    "1:  pop %r15\n"
    "    pop %r14\n"
    "    pop %r13\n"
    "    pop %r12\n"
    "    pop %rbp\n"
    "    pop %rbx\n"
    "    ret\n"
    ".size ptrace_stub_clone_raw, .-ptrace_stub_clone_raw\n");

long ptrace_stub_clone_raw(uint64_t entry, uint64_t region_start, uint64_t region_end, uint64_t memfd,
                           uint64_t parent_pid, const uint64_t *rseq);

// glibc (2.35+) registers an rseq area per thread and publishes where it is; weak, so that a libc without
// rseq support (or a static musl build) simply has nothing to unregister.
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
#define PTRACE_STUB_RSEQ_SIG 0x53053053u   // glibc's RSEQ_SIG on x86
#define PTRACE_STUB_RSEQ_MIN_LENGTH 32u    // glibc registers at least the original 32-byte struct rseq

long ptrace_stub_spawn(uint64_t entry, uint64_t region_start, uint64_t region_end, int memfd,
                       pid_t parent_pid) {
    // The calling thread's rseq registration, as the child will inherit it: {area, length, signature}.
    uint64_t rseq[3] = {0, 0, PTRACE_STUB_RSEQ_SIG};
    const uint64_t *rseq_arg = 0;
    if (&__rseq_size != 0 && &__rseq_offset != 0 && __rseq_size != 0) {
        char *area = (char *)__builtin_thread_pointer() + __rseq_offset;
        // cpu_id (offset 4) is negative when glibc's registration was skipped or failed.
        if (*(volatile int32_t *)(area + 4) >= 0) {
            rseq[0] = (uint64_t)(uintptr_t)area;
            rseq[1] = __rseq_size > PTRACE_STUB_RSEQ_MIN_LENGTH ? __rseq_size : PTRACE_STUB_RSEQ_MIN_LENGTH;
            rseq_arg = rseq;
        }
    }
    // The child starts with every signal blocked and keeps it that way: no handler of the Sentry may run
    // in it, and faults are forced through anyway. Raw rt_sigprocmask, because glibc's wrapper refuses to
    // block its internal signals; they are blocked here only for the duration of one clone.
    uint64_t all = ~(uint64_t)0, old = 0;
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all)) != 0) return -errno;
    long pid = ptrace_stub_clone_raw(entry, region_start, region_end, (uint64_t)memfd, (uint64_t)parent_pid,
                                     rseq_arg);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, (void *)0, sizeof(old));
    return pid;
}

uint64_t ptrace_stub_code_address(void) { return (uint64_t)(uintptr_t)ptrace_stub_code_start; }
uint64_t ptrace_stub_code_length(void) { return (uint64_t)(ptrace_stub_code_end - ptrace_stub_code_start); }
uint64_t ptrace_stub_site_offset(void) { return (uint64_t)(ptrace_stub_syscall_site - ptrace_stub_code_start); }
