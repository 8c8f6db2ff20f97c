/* epoll: an echo server and client over a socketpair across fork, and the ctl/wait semantics. */
#include "ipc_common.h"

static void server_client(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char buf[64];
        for (int i = 0; i < 5; i++) {
            sleep_ms(20);
            int n = snprintf(buf, sizeof buf, "ping %d", i);
            if (write(sv[1], buf, n) != n) _exit(1);
            n = read(sv[1], buf, sizeof buf - 1);
            if (n <= 0) _exit(2);
            buf[n] = 0;
            char want[64];
            snprintf(want, sizeof want, "pong %d", i);
            if (strcmp(buf, want) != 0) _exit(3);
        }
        _exit(0);  /* closing the socket: the server sees EPOLLRDHUP/EPOLLHUP */
    }
    close(sv[1]);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0, "epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = 0x1122334455667788ULL };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "epoll_ctl add");
    int pings = 0, hup = 0, dataok = 1;
    for (int rounds = 0; rounds < 20 && !hup; rounds++) {
        struct epoll_event out[4];
        int n = epoll_wait(ep, out, 4, 5000);
        if (n <= 0) break;
        if (out[0].data.u64 != 0x1122334455667788ULL) dataok = 0;
        if (out[0].events & EPOLLIN) {
            char buf[64];
            int r = read(sv[0], buf, sizeof buf - 1);
            if (r > 0) {
                buf[r] = 0;
                int i;
                if (sscanf(buf, "ping %d", &i) == 1) {
                    pings++;
                    int m = snprintf(buf, sizeof buf, "pong %d", i);
                    write(sv[0], buf, m);
                }
            }
        }
        if (out[0].events & (EPOLLRDHUP | EPOLLHUP)) {
            char c;
            if (read(sv[0], &c, 1) == 0) hup = 1;
        }
    }
    CHECK(pings == 5, "epoll server answered 5 pings");
    CHECK(dataok, "epoll data round trip");
    CHECK(hup, "epoll reports peer close (RDHUP)");
    reap(pid, "epoll client exited cleanly");
    close(ep);
    close(sv[0]);
}

static void semantics(void) {
    int p[2];
    pipe2(p, O_NONBLOCK);
    int ep = epoll_create(1);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[8];
    CHECK(epoll_create(0) < 0 && errno == EINVAL, "epoll_create(0) EINVAL");
    CHECK(epoll_create1(42) < 0 && errno == EINVAL, "epoll_create1 bad flags EINVAL");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add pipe");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) < 0 && errno == EEXIST, "add twice EEXIST");
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev) < 0 && errno == ENOENT, "mod missing ENOENT");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) < 0 && errno == EINVAL, "add self EINVAL");
    CHECK(epoll_ctl(ep, 99, p[0], &ev) < 0 && errno == EINVAL, "bad op EINVAL");
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev) < 0 && errno == EBADF, "bad fd EBADF");
    CHECK(epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev) < 0 && errno == EINVAL, "not an epoll EINVAL");
    int reg = open("/proc/self/exe", O_RDONLY);
    if (reg < 0) reg = open("/bin/sh", O_RDONLY);
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev) < 0 && errno == EPERM, "regular file EPERM");
    CHECK(epoll_wait(ep, out, 0, 0) < 0 && errno == EINVAL, "maxevents 0 EINVAL");
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "nothing ready, timeout 0");
    long long t0 = now_ms();
    CHECK(epoll_wait(ep, out, 8, 50) == 0 && now_ms() - t0 >= 45, "timeout 50ms");

    /* Level-triggered: reported again while data remains. */
    write(p[1], "ab", 2);
    CHECK(epoll_wait(ep, out, 8, 0) == 1 && out[0].events == EPOLLIN && out[0].data.fd == p[0], "LT ready");
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "LT ready again");
    /* Edge-triggered: once per write. */
    ev.events = EPOLLIN | EPOLLET;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "mod to ET");
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "ET first report");
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "ET no second report");
    write(p[1], "c", 1);
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "ET new edge");
    /* One-shot: disabled after one report until MOD. */
    ev.events = EPOLLIN | EPOLLONESHOT;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0, "mod to ONESHOT");
    CHECK(epoll_wait(ep, out, 8, 0) == 1, "ONESHOT report");
    write(p[1], "d", 1);
    CHECK(epoll_wait(ep, out, 8, 0) == 0, "ONESHOT disabled");
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0 && epoll_wait(ep, out, 8, 0) == 1, "ONESHOT re-armed by MOD");
    /* EPOLLOUT on the write end, then full pipe. */
    struct epoll_event wev = { .events = EPOLLOUT, .data.fd = p[1] };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &wev) == 0, "add write end");
    char big[4096];
    memset(big, 'x', sizeof big);
    while (write(p[1], big, sizeof big) > 0) {}
    CHECK(errno == EAGAIN, "nonblocking pipe write EAGAIN when full");
    int n = epoll_wait(ep, out, 8, 0), outReady = 0;
    for (int i = 0; i < n; i++) if (out[i].data.fd == p[1]) outReady = 1;
    CHECK(!outReady, "full pipe not EPOLLOUT");
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0, "del read end");
    char sink[65536];
    while (read(p[0], sink, sizeof sink) > 0) {}
    n = epoll_wait(ep, out, 8, 0);
    CHECK(n == 1 && out[0].data.fd == p[1] && (out[0].events & EPOLLOUT), "drained pipe EPOLLOUT");
    /* Exclusive entries. */
    int q[2];
    pipe(q);
    struct epoll_event xev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &xev) == 0, "add EXCLUSIVE");
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &xev) < 0 && errno == EINVAL, "mod EXCLUSIVE EINVAL");
    xev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, q[1], &xev) < 0 && errno == EINVAL, "EXCLUSIVE with ONESHOT EINVAL");
    /* Closing the last descriptor removes the entry. */
    write(q[1], "z", 1);
    close(q[0]);
    n = epoll_wait(ep, out, 8, 0);
    CHECK(n == 1 && out[0].data.fd == p[1], "closed file left the interest list");
    /* Nested epoll: the inner one is readable when it has events. */
    int inner = epoll_create1(0), r2[2];
    pipe(r2);
    struct epoll_event iev = { .events = EPOLLIN, .data.fd = r2[0] };
    epoll_ctl(inner, EPOLL_CTL_ADD, r2[0], &iev);
    int outer = epoll_create1(0);
    struct epoll_event oev = { .events = EPOLLIN, .data.u32 = 77 };
    CHECK(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &oev) == 0, "nest epoll");
    CHECK(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &oev) < 0 && errno == ELOOP, "epoll loop ELOOP");
    CHECK(epoll_wait(outer, out, 8, 0) == 0, "nested not ready");
    write(r2[1], "n", 1);
    CHECK(epoll_wait(outer, out, 8, 1000) == 1 && out[0].data.u32 == 77, "nested ready");
    struct pollfd pfd = { .fd = inner, .events = POLLIN };
    CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "poll on epoll fd");
    /* epoll_pwait with a mask that blocks SIGUSR1 while waiting. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(epoll_pwait(outer, out, 8, 0, &mask) == 1, "epoll_pwait");
}

static void on_alarm(int sig) { (void)sig; }

static void interrupted(void) {
    int ep = epoll_create1(0), p[2];
    pipe(p);
    struct epoll_event ev = { .events = EPOLLIN }, out[1];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
    sigaction(SIGALRM, &sa, NULL);
    pid_t pid = fork();
    if (pid == 0) { sleep_ms(50); kill(getppid(), SIGALRM); _exit(0); }
    /* epoll_wait is never restarted, even with SA_RESTART. */
    CHECK(epoll_wait(ep, out, 1, 5000) < 0 && errno == EINTR, "epoll_wait EINTR on signal");
    reap(pid, "signal sender exited");
    pid = fork();
    if (pid == 0) { sleep_ms(50); write(p[1], "w", 1); _exit(0); }
    long long t0 = now_ms();
    CHECK(epoll_wait(ep, out, 1, 5000) == 1, "epoll_wait woken by another process");
    printf("info epoll wake after %lld ms\n", now_ms() - t0);
    reap(pid, "writer exited");
}

int main(void) {
    setup();
    server_client();
    semantics();
    interrupted();
    printf("failures %d\n", failures);
    return failures;
}
