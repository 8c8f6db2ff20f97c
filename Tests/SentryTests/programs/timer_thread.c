/* SIGEV_THREAD_ID: a timer signals one chosen thread. */
#include "timecheck.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static atomic_int handled_by, worker_tid, stop;
static void handler(int sig) { (void)sig; handled_by = syscall(SYS_gettid); }

static void *worker(void *arg) {
    (void)arg;
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    worker_tid = syscall(SYS_gettid);
    while (!stop) sleep_ms(5);
    return 0;
}

int main(void) {
    signal(SIGUSR1, handler);
    /* The main thread blocks the signal: only the worker may take it. */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, 0);
    pthread_t th;
    pthread_create(&th, 0, worker, 0);
    while (!worker_tid) sleep_ms(1);
    struct sigevent ev = { 0 };
    ev.sigev_notify = SIGEV_THREAD_ID; ev.sigev_signo = SIGUSR1; ev.sigev_notify_thread_id = worker_tid;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "create-thread-id", "create");
    struct itimerspec its = { { 0, 0 }, { 0, 20000000 } };
    timer_settime(t, 0, &its, 0);
    long long t0 = now_ns();
    while (!handled_by && now_ns() - t0 < 5000000000LL) sleep_ms(5);
    CHECK(handled_by == worker_tid, "signal-went-to-thread", "handled by %d, worker %d", (int)handled_by, (int)worker_tid);
    ev.sigev_notify_thread_id = 999999;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == -1 && errno == EINVAL, "thread-id-must-exist", "no EINVAL");
    stop = 1;
    pthread_join(th, 0);
    return 0;
}
