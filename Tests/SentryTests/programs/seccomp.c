// seccomp(2) as the app sees it on the Sentry: each mode prints what it observed; SeccompTests checks it.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/capability.h>

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)

static long sc(long op, long flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }

// A filter: arch check, then `nr` → `action`, everything else allowed.
static int install(int nr, unsigned action, unsigned flags) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = {sizeof f / sizeof f[0], f};
    return sc(SECCOMP_SET_MODE_FILTER, flags, &p) == 0 ? 0 : -errno;
}

static void report(const char *what, long r) { printf("%s=%ld errno=%d\n", what, r, r < 0 ? errno : 0); }

static void on_sigsys(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    unsigned char *call = si->si_call_addr;
    printf("sigsys sig=%d code=%d errno=%d syscall=%d arch=%s after-syscall-insn=%d rax-is-nr=%d\n", sig, si->si_code,
           si->si_errno, si->si_syscall, si->si_arch == AUDIT_ARCH_X86_64 ? "x86_64" : "other",
           call[-2] == 0x0f && call[-1] == 0x05, uc->uc_mcontext.gregs[REG_RAX] == si->si_syscall);
    uc->uc_mcontext.gregs[REG_RAX] = 4242;  // what the interrupted syscall "returns"
}

static void status_of(const char *what, pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("%s: signaled %d core=%d\n", what, WTERMSIG(st), WCOREDUMP(st) ? 1 : 0);
    else printf("%s: exited %d\n", what, WEXITSTATUS(st));
}

static void status_line(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) if (strncmp(line, key, strlen(key)) == 0) fputs(line, stdout);
    if (f) fclose(f);
}

static void *thread_getppid(void *arg) {
    (void)arg;
    usleep(200000);  // until the main thread has synchronized the filter
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("thread getppid=%ld errno=%d\n", r, r < 0 ? errno : 0);
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    if (strcmp(mode, "errno") == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("install=%d\n", install(SYS_getpid, SECCOMP_RET_ERRNO | 77, 0));
        report("getpid", syscall(SYS_getpid));
        printf("install=%d\n", install(SYS_getppid, SECCOMP_RET_ERRNO | 5000, 0));
        report("getppid", syscall(SYS_getppid));  // data above 4095 is capped
        report("gettid>0", syscall(SYS_gettid) > 0);
        printf("PR_GET_SECCOMP=%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
        status_line("NoNewPrivs"); status_line("Seccomp");
    } else if (strcmp(mode, "trap") == 0) {
        struct sigaction sa = {0};
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, NULL);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("install=%d\n", install(SYS_getppid, SECCOMP_RET_TRAP | 42, 0));
        long r = syscall(SYS_getppid);
        printf("getppid returned %ld\n", r);
    } else if (strcmp(mode, "kill") == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        pid_t c = fork();
        if (c == 0) { install(SYS_getppid, SECCOMP_RET_KILL_PROCESS, 0); syscall(SYS_getppid); _exit(0); }
        status_of("kill_process", c);
        c = fork();
        if (c == 0) { install(SYS_getppid, SECCOMP_RET_KILL_THREAD, 0); syscall(SYS_getppid); _exit(0); }
        status_of("kill_thread", c);
        c = fork();
        if (c == 0) { install(SYS_getppid, 0x00010000, 0); syscall(SYS_getppid); _exit(0); }  // unknown action
        status_of("unknown_action", c);
        c = fork();
        if (c == 0) {  // even a handler or SIG_IGN for SIGSYS does not stop KILL_PROCESS
            signal(SIGSYS, SIG_IGN);
            install(SYS_getppid, SECCOMP_RET_KILL_PROCESS, 0); syscall(SYS_getppid); _exit(0);
        }
        status_of("kill_ignored", c);
    } else if (strcmp(mode, "stack") == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        install(SYS_getpid, SECCOMP_RET_ERRNO | 11, 0);
        install(SYS_getpid, SECCOMP_RET_ALLOW, 0);
        report("errno-under-allow", syscall(SYS_getpid));      // the older ERRNO outranks the newer ALLOW
        install(SYS_getpid, SECCOMP_RET_ERRNO | 22, 0);
        report("newest-errno-wins", syscall(SYS_getpid));      // same action: the newest filter's data
        install(SYS_getpid, SECCOMP_RET_TRACE | 5, 0);
        report("errno-over-trace", syscall(SYS_getpid));       // ERRNO outranks TRACE
        install(SYS_getppid, SECCOMP_RET_TRACE | 5, 0);
        report("trace-no-tracer", syscall(SYS_getppid));       // no tracer: ENOSYS
        install(SYS_gettid, SECCOMP_RET_USER_NOTIF, 0);
        report("notif-no-listener", syscall(SYS_gettid));      // no listener: ENOSYS
        install(SYS_getuid, SECCOMP_RET_LOG, 0);
        report("log-runs-uid", syscall(SYS_getuid));
        status_line("Seccomp");
    } else if (strcmp(mode, "inherit") == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        install(SYS_getpid, SECCOMP_RET_ERRNO | 33, 0);
        pid_t c = fork();
        if (c == 0) {
            report("child getpid", syscall(SYS_getpid));
            execl("/proc/self/exe", argv[0], "after-exec", (char *)NULL);
            _exit(99);
        }
        status_of("child", c);
    } else if (strcmp(mode, "after-exec") == 0) {
        report("exec getpid", syscall(SYS_getpid));
        printf("PR_GET_SECCOMP=%d PR_GET_NO_NEW_PRIVS=%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        status_line("Seccomp");
    } else if (strcmp(mode, "invalid") == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        struct sock_filter ok[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct { const char *name; struct sock_filter f[3]; int n; } bad[] = {
            {"byte-load", {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"misaligned", {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"past-data", {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"jump-out", {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"no-ret", {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0)}, 1},
            {"div-zero", {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"mem-unset", {BPF_STMT(BPF_LD | BPF_MEM, 3), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
            {"ind-load", {BPF_STMT(BPF_LD | BPF_W | BPF_IND, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)}, 2},
        };
        for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct sock_fprog p = {bad[i].n, bad[i].f};
            long r = sc(SECCOMP_SET_MODE_FILTER, 0, &p);
            printf("%s=%ld errno=%d\n", bad[i].name, r, r < 0 ? errno : 0);
        }
        struct sock_fprog empty = {0, ok};
        report("empty", sc(SECCOMP_SET_MODE_FILTER, 0, &empty));
        struct sock_filter *big = calloc(4097, sizeof *big);
        for (int i = 0; i < 4097; i++) big[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog huge = {4097, big};
        report("too-long", sc(SECCOMP_SET_MODE_FILTER, 0, &huge));
        struct sock_fprog one = {1, ok};
        report("bad-flags", sc(SECCOMP_SET_MODE_FILTER, 1 << 20, &one));
        report("new-listener", sc(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &one));
        report("bad-pointer", sc(SECCOMP_SET_MODE_FILTER, 0, (void *)8));
        report("bad-op", sc(99, 0, NULL));
        report("strict-with-args", sc(SECCOMP_SET_MODE_STRICT, 0, &one));
        unsigned act = SECCOMP_RET_LOG;
        report("avail-log", sc(SECCOMP_GET_ACTION_AVAIL, 0, &act));
        act = 0x12340000;
        report("avail-bogus", sc(SECCOMP_GET_ACTION_AVAIL, 0, &act));
        struct seccomp_notif_sizes sizes = {0};
        report("notif-sizes", sc(SECCOMP_GET_NOTIF_SIZES, 0, &sizes));
        printf("sizes %u %u %u\n", sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);
        // 4096 instructions: fine once; the path limit (32768 counting 4 per filter) stops the 8th.
        struct sock_fprog full = {4096, big};
        int n = 0;
        while (n < 20 && sc(SECCOMP_SET_MODE_FILTER, 0, &full) == 0) n++;
        printf("full-size filters=%d errno=%d\n", n, errno);
        report("strict-after-filter", sc(SECCOMP_SET_MODE_STRICT, 0, NULL));
    } else if (strcmp(mode, "nonnp") == 0) {
        // Drop CAP_SYS_ADMIN: now a filter needs no_new_privs.
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        syscall(SYS_capget, &h, d);
        d[0].effective &= ~(1u << CAP_SYS_ADMIN);
        d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
        report("capset", syscall(SYS_capset, &h, d));
        printf("PR_GET_NO_NEW_PRIVS=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
        printf("without-nnp=%d\n", install(SYS_getpid, SECCOMP_RET_ERRNO | 1, 0));
        report("set-nnp-bad-arg", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
        report("set-nnp", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        printf("with-nnp=%d\n", install(SYS_getpid, SECCOMP_RET_ERRNO | 1, 0));
        report("getpid", syscall(SYS_getpid));
    } else if (strcmp(mode, "strict") == 0) {
        pid_t c = fork();
        if (c == 0) {
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT);
            write(1, "in strict mode\n", 15);
            syscall(SYS_getpid);
            write(1, "not reached\n", 12);
            syscall(SYS_exit, 0);
        }
        status_of("strict getpid", c);
        c = fork();
        if (c == 0) {
            sc(SECCOMP_SET_MODE_STRICT, 0, NULL);
            syscall(SYS_exit, 7);
        }
        status_of("strict exit", c);
    } else if (strcmp(mode, "tsync") == 0) {
        pthread_t th;
        pthread_create(&th, NULL, thread_getppid, NULL);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("tsync=%d\n", install(SYS_getppid, SECCOMP_RET_ERRNO | 55, SECCOMP_FILTER_FLAG_TSYNC));
        pthread_join(th, NULL);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
