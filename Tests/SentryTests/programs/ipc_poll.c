/* poll/select/ppoll/pselect on Sentry files: woken by a writer in another process, POLLHUP, POLLNVAL,
 * timeouts and signals. */
#include "ipc_common.h"
#include <sys/select.h>

static void on_usr1(int sig) { (void)sig; }

int main(void) {
    setup();
    int p[2];
    pipe(p);
    /* A writer in another process wakes the poller. */
    pid_t pid = fork();
    if (pid == 0) { sleep_ms(50); write(p[1], "x", 1); sleep_ms(50); _exit(0); }
    struct pollfd pfd = { .fd = p[0], .events = POLLIN };
    long long t0 = now_ms();
    int n = poll(&pfd, 1, 5000);
    long long waited = now_ms() - t0;
    CHECK(n == 1 && pfd.revents == POLLIN, "poll woken by writer in another process");
    CHECK(waited >= 40 && waited < 4000, "poll slept until the write");
    printf("info poll wake after %lld ms\n", waited);
    char c;
    read(p[0], &c, 1);
    reap(pid, "writer exited");
    close(p[1]);
    pfd.revents = 0;
    CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLHUP), "POLLHUP when the last writer closes");

    int q[2];
    pipe(q);
    struct pollfd several[3] = { { .fd = q[0], .events = POLLIN }, { .fd = 555, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
    CHECK(poll(several, 3, 0) == 1 && several[1].revents == POLLNVAL && several[0].revents == 0 && several[2].revents == 0,
          "POLLNVAL for a closed fd, negative fd ignored");
    struct pollfd w = { .fd = q[1], .events = POLLOUT | POLLIN };
    CHECK(poll(&w, 1, 0) == 1 && w.revents == POLLOUT, "write end POLLOUT only");
    t0 = now_ms();
    struct pollfd r = { .fd = q[0], .events = POLLIN };
    CHECK(poll(&r, 1, 60) == 0 && now_ms() - t0 >= 55, "poll timeout");
    close(q[0]);
    w.revents = 0;
    CHECK(poll(&w, 1, 0) == 1 && (w.revents & POLLERR), "POLLERR on write end without readers");

    /* A signal with a handler interrupts poll: EINTR. */
    struct sigaction sa = { .sa_handler = on_usr1 };
    sigaction(SIGUSR1, &sa, NULL);
    int s[2];
    pipe(s);
    pid_t parent = getpid();
    pid = fork();
    if (pid == 0) { sleep_ms(50); kill(parent, SIGUSR1); _exit(0); }
    struct pollfd sp = { .fd = s[0], .events = POLLIN };
    CHECK(poll(&sp, 1, 5000) < 0 && errno == EINTR, "poll EINTR on signal");
    reap(pid, "signal sender exited");

    /* ppoll with a mask that blocks the signal: it stays pending, the poll times out. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid = fork();
    if (pid == 0) { sleep_ms(20); kill(parent, SIGUSR1); _exit(0); }
    struct timespec ts = { 0, 200000000 };
    CHECK(ppoll(&sp, 1, &ts, &block) == 0, "ppoll mask blocks the signal");
    reap(pid, "second signal sender exited");
    sigset_t empty;
    sigemptyset(&empty);
    CHECK(ppoll(&sp, 1, &ts, &empty) < 0 && errno == EINTR, "ppoll mask unblocks the pending signal");
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* select on pipes, woken by another process. */
    int a[2];
    pipe(a);
    pid = fork();
    if (pid == 0) { sleep_ms(30); write(a[1], "y", 1); _exit(0); }
    fd_set rs, ws;
    FD_ZERO(&rs); FD_SET(a[0], &rs);
    struct timeval tv = { 5, 0 };
    CHECK(select(a[0] + 1, &rs, NULL, NULL, &tv) == 1 && FD_ISSET(a[0], &rs), "select woken by writer");
    reap(pid, "select writer exited");
    CHECK(tv.tv_sec == 4 && tv.tv_usec > 0, "select writes back the time left");
    struct timeval badtv = { 0, -1 };
    CHECK(select(1, NULL, NULL, NULL, &badtv) < 0 && errno == EINVAL, "select bad timeval EINVAL");
    struct timeval longusec = { 0, 1000000 + 20000 };
    t0 = now_ms();
    CHECK(select(0, NULL, NULL, NULL, &longusec) == 0 && now_ms() - t0 >= 1000, "select folds tv_usec into seconds");
    FD_ZERO(&rs); FD_SET(a[0], &rs); FD_ZERO(&ws); FD_SET(a[1], &ws);
    struct timeval zero = { 0, 0 };
    CHECK(select(a[1] + 1, &rs, &ws, NULL, &zero) == 2 && FD_ISSET(a[0], &rs) && FD_ISSET(a[1], &ws), "select read and write");
    FD_ZERO(&rs); FD_SET(50, &rs);
    CHECK(select(51, &rs, NULL, NULL, &zero) < 0 && errno == EBADF, "select EBADF");
    struct timespec pts = { 0, 50000000 };
    read(a[0], &c, 1);
    FD_ZERO(&rs); FD_SET(a[0], &rs);
    CHECK(pselect(a[0] + 1, &rs, NULL, NULL, &pts, &block) == 0, "pselect timeout");
    /* Nonblocking empty pipe read. */
    fcntl(a[0], F_SETFL, O_NONBLOCK);
    CHECK(read(a[0], &c, 1) < 0 && errno == EAGAIN, "nonblocking pipe read EAGAIN");
    printf("failures %d\n", failures);
    return failures;
}
