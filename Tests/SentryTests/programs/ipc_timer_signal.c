/* timerfd ticking (relative, absolute, intervals) and signalfd reading pending signals. */
#include "ipc_common.h"
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static void timers(void) {
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(tfd >= 0, "timerfd_create");
    struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } }, cur;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0, "settime 20ms interval");
    uint64_t ticks = 0, v;
    long long t0 = now_ms();
    for (int i = 0; i < 3; i++) { if (read(tfd, &v, 8) == 8) ticks += v; }
    long long took = now_ms() - t0;
    CHECK(ticks >= 3 && took >= 55, "three blocking reads see the interval ticks");
    CHECK(timerfd_gettime(tfd, &cur) == 0 && cur.it_interval.tv_nsec == 20000000 && cur.it_value.tv_sec == 0
          && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000, "gettime");
    sleep_ms(70);
    CHECK(read(tfd, &v, 8) == 8 && v >= 3, "missed ticks are counted");
    struct itimerspec off = { 0 }, old;
    CHECK(timerfd_settime(tfd, 0, &off, &old) == 0 && old.it_interval.tv_nsec == 20000000, "disarm returns old");
    CHECK(timerfd_gettime(tfd, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "disarmed");

    int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    CHECK(read(nb, &v, 8) < 0 && errno == EAGAIN, "unarmed nonblocking read EAGAIN");
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = { .it_value = { now.tv_sec, now.tv_nsec } };
    abs.it_value.tv_nsec += 30000000;
    if (abs.it_value.tv_nsec >= 1000000000) { abs.it_value.tv_sec++; abs.it_value.tv_nsec -= 1000000000; }
    CHECK(timerfd_settime(nb, TFD_TIMER_ABSTIME, &abs, NULL) == 0, "absolute realtime timer");
    struct pollfd pfd = { .fd = nb, .events = POLLIN };
    CHECK(poll(&pfd, 1, 0) == 0, "not expired yet");
    CHECK(poll(&pfd, 1, 2000) == 1 && pfd.revents == POLLIN, "poll woken by expiry");
    CHECK(read(nb, &v, 8) == 8 && v == 1, "one-shot expired once");

    int boot = timerfd_create(CLOCK_BOOTTIME, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 9 }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, boot, &ev);
    struct itimerspec soon = { .it_value = { 0, 10000000 } };
    timerfd_settime(boot, 0, &soon, NULL);
    CHECK(epoll_wait(ep, &out, 1, 2000) == 1 && out.data.u32 == 9, "epoll woken by boottime timer");
    CHECK(timerfd_create(99, 0) < 0 && errno == EINVAL, "bad clock EINVAL");
    struct itimerspec bad = { .it_value = { 0, 1000000000 } };
    CHECK(timerfd_settime(boot, 0, &bad, NULL) < 0 && errno == EINVAL, "bad nsec EINVAL");
    CHECK(timerfd_settime(ep, 0, &soon, NULL) < 0 && errno == EINVAL, "settime on non-timerfd EINVAL");
}

static void signals(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    CHECK(sfd >= 0, "signalfd");
    struct signalfd_siginfo si;
    CHECK(read(sfd, &si, sizeof si) < 0 && errno == EAGAIN, "no signal EAGAIN");
    CHECK(read(sfd, &si, 16) < 0 && errno == EINVAL, "short buffer EINVAL");
    kill(getpid(), SIGUSR1);
    CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1 && si.ssi_pid == (uint32_t)getpid(), "read own SIGUSR1");
    sigset_t pending;
    sigpending(&pending);
    CHECK(!sigismember(&pending, SIGUSR1), "signal consumed");

    /* A signal from another process wakes epoll_wait on the signalfd. */
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = sfd }, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    pid_t pid = fork();
    if (pid == 0) { sleep_ms(30); kill(getppid(), SIGUSR2); _exit(0); }
    CHECK(epoll_wait(ep, &out, 1, 3000) == 1 && out.data.fd == sfd, "epoll on signalfd woken by kill from child");
    CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR2 && si.ssi_pid == (uint32_t)pid, "read child's SIGUSR2");
    reap(pid, "signal child exited");
    /* Changing the mask of an existing signalfd. */
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    CHECK(signalfd(sfd, &only1, 0) == sfd, "update mask");
    kill(getpid(), SIGUSR2);
    CHECK(read(sfd, &si, sizeof si) < 0 && errno == EAGAIN, "SIGUSR2 no longer read");
    CHECK(signalfd(ep, &only1, 0) < 0 && errno == EINVAL, "signalfd on non-signalfd EINVAL");
    struct pollfd pfd = { .fd = sfd, .events = POLLIN };
    kill(getpid(), SIGUSR1);
    CHECK(poll(&pfd, 1, 1000) == 1 && pfd.revents == POLLIN, "poll on signalfd");
    /* A blocking read from a forked child reads the child's own signals. */
    pid = fork();
    if (pid == 0) {
        int fd = signalfd(-1, &mask, 0);
        struct signalfd_siginfo s2;
        _exit(read(fd, &s2, sizeof s2) == sizeof s2 && s2.ssi_signo == SIGUSR1 ? 0 : 1);
    }
    sleep_ms(30);
    kill(pid, SIGUSR1);
    reap(pid, "child's blocking signalfd read");
}

int main(void) {
    setup();
    timers();
    /* The checks run below init: a pid namespace's init does not get signals it has no handler for. */
    pid_t pid = fork();
    if (pid == 0) { signals(); _exit(failures); }
    int status = 0;
    waitpid(pid, &status, 0);
    failures += WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    printf("failures %d\n", failures);
    return failures;
}
