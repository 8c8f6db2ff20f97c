// Capability rules as the app sees them on the Sentry, started as root with CAP_SETGID, CAP_SETUID and
// CAP_SETPCAP (inheritable: CAP_SETUID) and nothing else; SeccompTests.testCapabilityRules checks the output.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
static struct __user_cap_data_struct d[2];

static void get(void) { syscall(SYS_capget, &hdr, d); }
static long set(void) { return syscall(SYS_capset, &hdr, d); }
static int e(long r) { return r < 0 ? errno : 0; }

static unsigned long long bounding(void) {
    unsigned long long m = 0;
    for (int c = 0; c <= 40; c++) if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) m |= 1ull << c;
    return m;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    get();
    printf("capget eff=%x prm=%x inh=%x\n", d[0].effective, d[0].permitted, d[0].inheritable);
    long bad = prctl(PR_CAPBSET_READ, 99, 0, 0, 0);
    printf("bset setuid=%d sys_admin=%d bad=%ld/%d\n", prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0),
           prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0), bad, e(bad));

    int ready[2], go[2];
    pipe(ready); pipe(go);
    pid_t other = fork();
    if (other == 0) {
        char line[200], c;
        long r = setuid(1000);
        get();
        snprintf(line, sizeof line, "child setuid(1000)%s: eff=%x prm=%x amb=%d bnd=%llx\n", r == 0 ? "" : " failed",
                 d[0].effective, d[0].permitted, prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0), bounding());
        write(ready[1], line, strlen(line));
        read(go[0], &c, 1);
        _exit(0);
    }
    char line[200] = {0};
    read(ready[0], line, sizeof line - 1);
    long r = kill(other, SIGTERM);
    printf("kill other uid without CAP_KILL=%ld/%d\n", r, e(r));
    write(go[1], "x", 1);
    waitpid(other, NULL, 0);
    pid_t mine = fork();
    if (mine == 0) { pause(); _exit(0); }
    r = kill(mine, SIGTERM);
    printf("kill own child=%ld/%d\n", r, e(r));
    waitpid(mine, NULL, 0);

    long r1 = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SETUID, 0, 0);
    int e1 = e(r1);
    long r2 = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
    int e2 = e(r2);
    printf("ambient raise setuid=%ld/%d raise kill=%ld/%d is_set=%d\n", r1, e1, r2, e2,
           prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0));

    get();
    d[0].permitted |= 1u << CAP_SYS_ADMIN;
    r = set();
    printf("capset raise permitted=%ld/%d\n", r, e(r));

    r = prctl(PR_CAPBSET_DROP, CAP_SETGID, 0, 0, 0);
    printf("bset drop setgid=%ld/%d then read=%d\n", r, e(r), prctl(PR_CAPBSET_READ, CAP_SETGID, 0, 0, 0));

    get();
    d[0].effective &= ~(1u << CAP_SETPCAP);
    set();
    r = prctl(PR_CAPBSET_DROP, CAP_SETUID, 0, 0, 0);
    printf("drop setpcap then bset drop=%ld/%d\n", r, e(r));

    get();
    d[0].effective &= ~(1u << CAP_SETUID);
    set();
    r = setuid(2000);
    printf("setuid(2000) without CAP_SETUID=%ld/%d\n", r, e(r));
    fputs(line, stdout);
    return 0;
}
