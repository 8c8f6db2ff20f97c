// The ptrace platform's stub: position-independent machine code that becomes an app address space.
// The Sentry copies [ptrace_stub_code_start, ptrace_stub_code_end) to a page at a fixed address and forks a
// child that jumps there. No logic of the platform lives here: only the code bytes and the raw clone.
#ifndef CLINUX_PTRACE_STUB_H
#define CLINUX_PTRACE_STUB_H

#include <stdint.h>
#include <sys/types.h>

/// First byte of the stub code (also its entry point).
extern const unsigned char ptrace_stub_code_start[];
/// One past the last byte of the stub code.
extern const unsigned char ptrace_stub_code_end[];
/// The `syscall` instruction injections run (followed by `int3`). The stub stops (int3) just before it once
/// its setup is complete, so at the ready stop rip equals this address.
extern const unsigned char ptrace_stub_syscall_site[];

/// The same three addresses as integers, for callers that cannot see the arrays above (Swift reaches this
/// header only once CLinux.h includes it; until then PlatformPtrace binds these by symbol name).
uint64_t ptrace_stub_code_address(void);
uint64_t ptrace_stub_code_length(void);
uint64_t ptrace_stub_site_offset(void);

/// Offset in the stub page of the `struct sock_fprog` the stub passes to seccomp(2). The Sentry writes it
/// (and the filter it points to, right after it) before the page becomes read-only.
#define PTRACE_STUB_FPROG_OFFSET 0x800

/// Forks the calling process (raw clone, no exit signal, all signals blocked in the child) and makes the
/// child jump to `entry` with r12 = stub region start, r13 = stub region end, r14 = `memfd`,
/// r15 = `parent_pid`, rbx = the calling thread's rseq registration (to undo). The child never returns into
/// C. Returns the child's pid, or -errno.
/// Setup steps of the stub (kept in rbp when it fails with ud2): 1 PR_SET_PDEATHSIG, 2 parent check,
/// 3 PTRACE_TRACEME, 4 rseq unregistration, 5-6 close_range, 7-8 munmap below/above the region,
/// 9 PR_SET_NO_NEW_PRIVS, 10 seccomp.
long ptrace_stub_spawn(uint64_t entry, uint64_t region_start, uint64_t region_end, int memfd,
                       pid_t parent_pid);

#endif
