// Tiny C shims for calls Swift cannot make directly (variadic or raw syscalls). No logic lives here:
// each function forwards to exactly one system call or a fixed, async-signal-safe sequence of them.
#ifndef CLINUX_H
#define CLINUX_H

#include <stdint.h>
#include <sys/types.h>

/// Raw syscall with six arguments. Returns the kernel's value; -1 with errno on failure.
long clinux_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
/// ptrace(2) with the four fixed arguments.
long clinux_ptrace(long request, pid_t pid, uintptr_t addr, uintptr_t data);
/// ioctl(2) with a pointer or integer argument.
int clinux_ioctl(int fd, unsigned long request, uintptr_t arg);
/// prctl(2) with all five arguments.
int clinux_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
/// fcntl(2) with an integer argument.
int clinux_fcntl(int fd, int cmd, long arg);
/// open(2)/openat(2) with a mode.
int clinux_openat(int dirfd, const char *path, int flags, unsigned int mode);
/// The calling thread's errno.
int clinux_errno(void);
/// Sets errno (for tests and wrappers).
void clinux_set_errno(int value);
/// getrandom(2).
long clinux_getrandom(void *buf, unsigned long len, unsigned int flags);
/// getauxval(3) of the Sentry's own process.
unsigned long clinux_getauxval(unsigned long type);
/// fallocate(2).
int clinux_fallocate(int fd, int mode, long offset, long len);
/// Atomic compare-and-swap of a 32-bit word the app shares with the Sentry (PI futexes); returns the value
/// found (equal to `expected` when the swap happened).
uint32_t clinux_cas_u32(uint32_t *word, uint32_t expected, uint32_t desired);
/// gettid(2).
pid_t clinux_gettid(void);

/// Spawns `path` in a child created by clone(2) with `clone_flags` (CLONE_NEW* namespaces; SIGCHLD is added).
/// In the child, before execve: waits for one byte on `sync_fd` if it is >= 0 (so the parent can write
/// uid/gid maps first), makes fd `fd_map[2*i]` appear as `fd_map[2*i+1]` for every pair, closes every other
/// descriptor above 2 except the targets, calls setsid() if `new_session`, and sets PR_SET_PDEATHSIG to
/// `death_signal` if nonzero. Returns the child's pid (in the parent's pid namespace) or -1 with errno.
/// On a failure in the child it exits with status 127 after writing one line to stderr.
pid_t clinux_spawn(const char *path, char *const argv[], char *const envp[], unsigned long clone_flags,
                   const int *fd_map, int fd_map_pairs, int sync_fd, int new_session, int death_signal);

#include "PtraceStub.h"

#endif
