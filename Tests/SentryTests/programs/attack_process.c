// Attack 4: processes. Descriptor leaks, a bounded fork storm, signals at host pids, ptrace and
// process_vm_* at other processes, namespace and mount tricks to climb out, writes to host kernel knobs.
// Usage: attack_process native|sandbox HELPER_PID RUNNER_PID CANARY_DIR
// "native" never writes to kernel knobs or mounts anything (it runs as root on the host): it only shows that
// the targets exist and the operations work there. Prints "name=result" lines (ok or the errno name).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long r) {
    if (r == -1) printf("%s=%s\n", name, strerrorname_np(errno));
    else printf("%s=ok\n", name);
}

static void fds(void) {
    printf("open-fds=");
    for (int fd = 0, first = 1; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) { printf(first ? "%d" : ",%d", fd); first = 0; }
    printf("\n");
}

// 300 children alive at once (they wait on a pipe), then all released and reaped.
static void fork_storm(void) {
    int p[2];
    pipe(p);
    int forked = 0, reaped = 0, failed = 0;
    for (int i = 0; i < 300; i++) {
        pid_t c = fork();
        if (c == 0) { char b; close(p[1]); read(p[0], &b, 1); _exit(i & 0x7f); }
        if (c > 0) forked++; else failed++;
    }
    close(p[1]);
    int st;
    while (wait(&st) > 0) reaped++;
    int echild = errno == ECHILD;
    close(p[0]);
    printf("storm forked=%d failed=%d reaped=%d echild=%d\n", forked, failed, reaped, echild);
}

static void signals(pid_t helper, pid_t runner) {
    report("kill-runner-0", kill(runner, 0));
    report("kill-helper-0", kill(helper, 0));
    report("kill-helper-KILL", kill(helper, SIGKILL));
    report("sigqueue-helper", sigqueue(helper, SIGKILL, (union sigval){0}));
    report("tgkill-helper", syscall(SYS_tgkill, helper, helper, SIGKILL));
    report("pidfd-open-helper", syscall(SYS_pidfd_open, helper, 0));
}

static void tracing(void) {
    pid_t c = fork();
    if (c == 0) { pause(); _exit(0); }
    char mine[8] = "mine", theirs[8] = {0};
    struct iovec local = {theirs, 4}, remote = {mine, 4};
    report("process_vm_readv-child", process_vm_readv(c, &local, 1, &remote, 1, 0) == 4 ? 0 : -1);
    report("process_vm_writev-child", process_vm_writev(c, &local, 1, &remote, 1, 0) == 4 ? 0 : -1);
    report("ptrace-attach-child", ptrace(PTRACE_ATTACH, c, 0, 0));
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    if (getpid() != 1) return;  // pid 1 only means "the sandbox's init" inside the sandbox
    report("ptrace-attach-1", ptrace(PTRACE_ATTACH, 1, 0, 0));
    report("process_vm_readv-1", process_vm_readv(1, &local, 1, &remote, 1, 0) == 4 ? 0 : -1);
}

static int canary_reachable(const char *dir) {
    char p[4096];
    snprintf(p, sizeof p, "%s/canary", dir);
    int fd = open(p, O_RDONLY);
    if (fd >= 0) close(fd);
    return fd >= 0;
}

static void climbing(int native, const char *dir) {
    // In a child: these change the process they run in.
    pid_t c = fork();
    if (c == 0) {
        report("unshare-mnt", unshare(CLONE_NEWNS));
        report("unshare-user", unshare(CLONE_NEWUSER));
        report("chroot", chroot("/tmp"));
        if (!native) {
            int fd = open("/proc/self/ns/mnt", O_RDONLY);
            report("setns", fd < 0 ? -1 : setns(fd, 0));
            report("mount-tmpfs", mount("none", "/tmp", "tmpfs", 0, 0));
            report("mount-bind-root", mount("/", "/tmp", 0, MS_BIND, 0));
            report("pivot_root", syscall(SYS_pivot_root, "/", "/tmp"));
            report("open-by-handle", syscall(SYS_open_by_handle_at, AT_FDCWD, "\x08\0\0\0\x01\0\0\0\x02\0\0\0\0\0\0\0", O_RDONLY));
        }
        printf("canary-after-climbing=%d\n", canary_reachable(dir));
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void knobs(int native) {
    const char *paths[] = {"/proc/sysrq-trigger", "/sys/kernel/uevent_helper", "/dev/mem", "/dev/kmem", "/dev/port",
                           "/proc/kcore", "/sys/fs/cgroup/cgroup.procs", "/proc/sys/kernel/core_pattern"};
    char name[128];
    for (unsigned i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct stat st;
        snprintf(name, sizeof name, "exists%s", paths[i]);
        if (native) { report(name, stat(paths[i], &st)); continue; }
        // Inside: open for writing and write a harmless byte ('h' is sysrq's help).
        int fd = open(paths[i], O_WRONLY);
        snprintf(name, sizeof name, "write%s", paths[i]);
        report(name, fd < 0 ? -1 : write(fd, "h", 1));
        if (fd >= 0) close(fd);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    int native = strcmp(argv[1], "native") == 0;
    fds();
    fork_storm();
    signals(atoi(argv[2]), atoi(argv[3]));
    tracing();
    climbing(native, argv[4]);
    knobs(native);
    printf("canary-reachable=%d\n", canary_reachable(argv[4]));
    printf("done\n");
    return 0;
}
