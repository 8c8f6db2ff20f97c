/* POSIX message queues: attributes, priorities, EMSGSIZE, O_NONBLOCK, timeouts, names, fork, status read. */
#include "timecheck.h"
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/syscall.h>

static volatile int notified, notify_code, notify_value, notify_pid;
static void on_notify(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    notified++; notify_code = si->si_code; notify_value = si->si_value.sival_int; notify_pid = si->si_pid;
}

int main(void) {
    mq_unlink("/sentry-q");
    struct mq_attr attr = { 0 }; attr.mq_maxmsg = 4; attr.mq_msgsize = 64;
    mqd_t q = mq_open("/sentry-q", O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    CHECK(q >= 0, "mq-open-create", "open");
    struct mq_attr got;
    CHECK(mq_getattr(q, &got) == 0 && got.mq_maxmsg == 4 && got.mq_msgsize == 64 && got.mq_curmsgs == 0, "mq-getattr",
          "%ld %ld %ld", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
    mq_send(q, "a", 2, 1); mq_send(q, "b", 2, 5); mq_send(q, "c", 2, 1);
    char buf[64]; unsigned prio;
    mq_receive(q, buf, sizeof buf, &prio);
    int order = buf[0] == 'b' && prio == 5;
    mq_receive(q, buf, sizeof buf, &prio); order = order && buf[0] == 'a' && prio == 1;
    mq_receive(q, buf, sizeof buf, &prio); order = order && buf[0] == 'c';
    CHECK(order, "priority-order", "wrong order");
    CHECK(mq_receive(q, buf, 10, &prio) == -1 && errno == EMSGSIZE, "receive-small-buffer", "no EMSGSIZE");
    char big[100] = { 0 };
    CHECK(mq_send(q, big, 100, 0) == -1 && errno == EMSGSIZE, "send-too-big", "no EMSGSIZE");
    CHECK(mq_send(q, "x", 1, 40000) == -1 && errno == EINVAL, "send-bad-priority", "no EINVAL");

    /* Timeouts on an empty queue. */
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50000000; if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    long long t0 = now_ns();
    CHECK(mq_timedreceive(q, buf, sizeof buf, 0, &ts) == -1 && errno == ETIMEDOUT && now_ns() - t0 >= 40000000LL,
          "timedreceive-timeout", "after %lld ms", (now_ns() - t0) / 1000000);

    /* O_NONBLOCK through mq_setattr. */
    struct mq_attr nb = { 0 }, old; nb.mq_flags = O_NONBLOCK;
    mq_setattr(q, &nb, &old);
    CHECK(old.mq_flags == 0 && mq_receive(q, buf, sizeof buf, 0) == -1 && errno == EAGAIN, "nonblock-empty", "no EAGAIN");
    for (int i = 0; i < 4; i++) mq_send(q, "f", 1, 0);
    CHECK(mq_send(q, "f", 1, 0) == -1 && errno == EAGAIN, "nonblock-full", "no EAGAIN");
    mq_getattr(q, &got);
    CHECK(got.mq_curmsgs == 4 && got.mq_flags == O_NONBLOCK, "curmsgs", "%ld", got.mq_curmsgs);
    char status[128] = { 0 };
    CHECK(read(q, status, sizeof status - 1) > 0 && strncmp(status, "QSIZE:4", 7) == 0, "read-status", "%s", status);
    nb.mq_flags = 0; mq_setattr(q, &nb, 0);
    for (int i = 0; i < 4; i++) mq_receive(q, buf, sizeof buf, 0);

    /* Another process opens the queue by name; a blocked receive waits for it. */
    pid_t pid = fork();
    if (pid == 0) {
        mqd_t w = mq_open("/sentry-q", O_WRONLY);
        CHECK(mq_receive(w, buf, sizeof buf, 0) == -1 && errno == EBADF, "write-only-cannot-receive", "no EBADF");
        sleep_ms(50);
        mq_send(w, "from child", 11, 3);
        _exit(0);
    }
    t0 = now_ns();
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    CHECK(n == 11 && strcmp(buf, "from child") == 0 && prio == 3 && now_ns() - t0 >= 40000000LL, "receive-blocks", "%zd", n);
    waitpid(pid, 0, 0);

    /* mq_notify: one signal when a message arrives in the empty queue, carrying the value and the sender. */
    struct sigaction sa = { 0 }; sa.sa_sigaction = on_notify; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    struct sigevent ev = { 0 }; ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGUSR1; ev.sigev_value.sival_int = 77;
    CHECK(mq_notify(q, &ev) == 0, "notify-register", "register");
    pid = fork();
    if (pid == 0) {
        mqd_t w = mq_open("/sentry-q", O_WRONLY);
        CHECK(mq_notify(w, &ev) == -1 && errno == EBUSY, "notify-busy", "no EBUSY");
        mq_send(w, "n", 2, 0);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    t0 = now_ns();
    while (!notified && now_ns() - t0 < 5000000000LL) sleep_ms(5);
    CHECK(notified == 1 && notify_code == SI_MESGQ && notify_value == 77 && notify_pid == pid, "notify-signal",
          "notified %d code %d value %d pid %d", notified, notify_code, notify_value, notify_pid);
    mq_receive(q, buf, sizeof buf, 0);
    mq_send(q, "m", 2, 0);
    sleep_ms(20);
    CHECK(notified == 1, "notify-once", "notified %d", notified);
    mq_receive(q, buf, sizeof buf, 0);

    /* poll: readable once a message is there, woken by a sender. */
    struct pollfd pfd = { q, POLLIN, 0 };
    CHECK(poll(&pfd, 1, 0) == 0, "poll-empty", "readable");
    pid = fork();
    if (pid == 0) { sleep_ms(50); mqd_t w = mq_open("/sentry-q", O_WRONLY); mq_send(w, "p", 2, 0); _exit(0); }
    CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll-wakes", "revents %x", pfd.revents);
    waitpid(pid, 0, 0);
    mq_receive(q, buf, sizeof buf, 0);

    /* Names. */
    CHECK(mq_open("/sentry-q", O_CREAT | O_EXCL | O_RDWR, 0600, 0) == -1 && errno == EEXIST, "open-excl", "no EEXIST");
    CHECK(mq_open("/no-such-q", O_RDWR) == -1 && errno == ENOENT, "open-missing", "no ENOENT");
    CHECK(syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, 0) == -1 && errno == EACCES, "name-with-slash", "no EACCES");
    attr.mq_maxmsg = 0;
    CHECK(mq_open("/bad-attr", O_CREAT | O_RDWR, 0600, &attr) == -1 && errno == EINVAL, "bad-attr", "no EINVAL");
    CHECK(mq_unlink("/sentry-q") == 0, "unlink", "unlink");
    CHECK(mq_open("/sentry-q", O_RDWR) == -1 && errno == ENOENT, "unlinked-name-gone", "still there");
    CHECK(mq_send(q, "still", 6, 0) == 0 && mq_receive(q, buf, sizeof buf, 0) == 6, "unlinked-queue-usable", "not usable");
    CHECK(mq_unlink("/sentry-q") == -1 && errno == ENOENT, "unlink-twice", "no ENOENT");
    CHECK(mq_close(q) == 0, "close", "close");
    return 0;
}
