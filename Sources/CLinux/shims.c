#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/random.h>

long clinux_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
    return syscall(nr, a1, a2, a3, a4, a5, a6);
}

long clinux_ptrace(long request, pid_t pid, uintptr_t addr, uintptr_t data) {
    return syscall(SYS_ptrace, request, pid, addr, data);
}

int clinux_ioctl(int fd, unsigned long request, uintptr_t arg) { return ioctl(fd, request, arg); }

int clinux_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) {
    return prctl(option, a2, a3, a4, a5);
}

int clinux_fcntl(int fd, int cmd, long arg) { return fcntl(fd, cmd, arg); }

int clinux_openat(int dirfd, const char *path, int flags, unsigned int mode) {
    return openat(dirfd, path, flags, mode);
}

int clinux_errno(void) { return errno; }
void clinux_set_errno(int value) { errno = value; }
long clinux_getrandom(void *buf, unsigned long len, unsigned int flags) { return getrandom(buf, len, flags); }
unsigned long clinux_getauxval(unsigned long type) { return getauxval(type); }
int clinux_fallocate(int fd, int mode, long offset, long len) { return fallocate(fd, mode, offset, len); }
uint32_t clinux_cas_u32(uint32_t *word, uint32_t expected, uint32_t desired) {
    __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return expected;
}
pid_t clinux_gettid(void) { return (pid_t)syscall(SYS_gettid); }

static void child_fail(const char *what) {
    // Only async-signal-safe calls here: we are a fork of a possibly multi-threaded process.
    const char *msg = strerror(errno);
    (void)!write(2, "runsc: spawn: ", 14);
    (void)!write(2, what, strlen(what));
    (void)!write(2, ": ", 2);
    (void)!write(2, msg, strlen(msg));
    (void)!write(2, "\n", 1);
    syscall(SYS_exit_group, 127);
}

pid_t clinux_spawn(const char *path, char *const argv[], char *const envp[], unsigned long clone_flags,
                   const int *fd_map, int fd_map_pairs, int sync_fd, int new_session, int death_signal) {
    long pid = syscall(SYS_clone, clone_flags | SIGCHLD, 0, 0, 0, 0);
    if (pid != 0) return (pid_t)pid;

    if (death_signal != 0 && prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0) child_fail("prctl");
    if (sync_fd >= 0) {
        char byte;
        ssize_t n;
        do { n = read(sync_fd, &byte, 1); } while (n < 0 && errno == EINTR);
        if (n != 1) { errno = EPIPE; child_fail("waiting for parent"); }
    }
    // Move every source above the highest target first so that no dup2 overwrites a pending source.
    int high = 3;
    for (int i = 0; i < fd_map_pairs; i++) {
        if (fd_map[2 * i] >= high) high = fd_map[2 * i] + 1;
        if (fd_map[2 * i + 1] >= high) high = fd_map[2 * i + 1] + 1;
    }
    int moved[256];
    if (fd_map_pairs > 256) { errno = EINVAL; child_fail("fd map"); }
    for (int i = 0; i < fd_map_pairs; i++) {
        moved[i] = fcntl(fd_map[2 * i], F_DUPFD_CLOEXEC, high);
        if (moved[i] < 0) child_fail("dup");
        if (moved[i] >= high) high = moved[i] + 1;
    }
    for (int i = 0; i < fd_map_pairs; i++) {
        if (dup2(moved[i], fd_map[2 * i + 1]) < 0) child_fail("dup2");
    }
    // Close everything above stderr that is not a target.
    int top_target = 2;
    for (int i = 0; i < fd_map_pairs; i++) if (fd_map[2 * i + 1] > top_target) top_target = fd_map[2 * i + 1];
    for (int fd = 3; fd <= top_target; fd++) {
        int keep = 0;
        for (int i = 0; i < fd_map_pairs; i++) if (fd_map[2 * i + 1] == fd) keep = 1;
        if (!keep) close(fd);
    }
    syscall(SYS_close_range, top_target + 1, ~0U, 0);
    if (new_session) setsid();
    execve(path, argv, envp);
    child_fail(path);
    return -1;
}
