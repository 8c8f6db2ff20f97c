/* timer_create/settime/gettime/getoverrun/delete: siginfo payload, overruns, clocks, SIGEV_NONE,
   and timers ending with exec and fork. */
#include "timecheck.h"
#include <stdint.h>
#include <sys/syscall.h>

static volatile int got, got_code, got_overrun, got_value, got_timerid;
static void handler(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    got++; got_code = si->si_code; got_overrun = si->si_overrun; got_value = si->si_value.sival_int;
    got_timerid = si->si_timerid;
}
/* The kernel's timer id behind a glibc timer_t (glibc stores it as the pointer value for SIGEV_SIGNAL). */
static int kid(timer_t t) { return (int)(intptr_t)t; }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        struct itimerspec cur;
        CHECK(syscall(SYS_timer_gettime, 0, &cur) == -1 && errno == EINVAL, "timer-gone-after-exec", "still there");
        return 0;
    }
    struct sigaction sa = { 0 };
    sa.sa_sigaction = handler; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN, &sa, 0); sigaction(SIGALRM, &sa, 0);

    struct sigevent ev = { 0 };
    ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGRTMIN; ev.sigev_value.sival_int = 42;
    timer_t t;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0, "create-monotonic", "create");
    struct itimerspec its = { { 0, 0 }, { 0, 20000000 } }, cur;
    long long t0 = now_ns();
    timer_settime(t, 0, &its, 0);
    timer_gettime(t, &cur);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000, "gettime-armed",
          "left %ld", cur.it_value.tv_nsec);
    while (!got && now_ns() - t0 < 5000000000LL) pause();
    long long el = (now_ns() - t0) / 1000000;
    CHECK(got == 1 && el >= 18, "one-shot-fires", "got %d after %lld ms", got, el);
    CHECK(got_code == SI_TIMER && got_value == 42 && got_timerid == kid(t) && got_overrun == 0, "siginfo-payload",
          "code %d value %d timerid %d/%d overrun %d", got_code, got_value, got_timerid, kid(t), got_overrun);
    timer_gettime(t, &cur);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0, "one-shot-disarmed", "left %ld", cur.it_value.tv_nsec);

    /* Overruns: a periodic timer whose signal stays blocked counts expirations on the pending signal. */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, 0);
    struct itimerspec periodic = { { 0, 5000000 }, { 0, 5000000 } };
    got = 0;
    timer_settime(t, 0, &periodic, 0);
    sleep_ms(120);
    sigprocmask(SIG_UNBLOCK, &set, 0);
    int ov = timer_getoverrun(t);
    struct itimerspec stop = { { 0, 0 }, { 0, 0 } };
    timer_settime(t, 0, &stop, 0);
    CHECK(got == 1 && got_overrun >= 8, "overrun-in-siginfo", "got %d overrun %d", got, got_overrun);
    CHECK(ov == got_overrun, "getoverrun-matches", "%d vs %d", ov, got_overrun);

    /* TIMER_ABSTIME on CLOCK_REALTIME. */
    timer_t rt;
    ev.sigev_value.sival_int = 7;
    timer_create(CLOCK_REALTIME, &ev, &rt);
    struct timespec now; clock_gettime(CLOCK_REALTIME, &now);
    struct itimerspec abs = { { 0, 0 }, now };
    abs.it_value.tv_nsec += 30000000;
    if (abs.it_value.tv_nsec >= 1000000000) { abs.it_value.tv_sec++; abs.it_value.tv_nsec -= 1000000000; }
    got = 0; t0 = now_ns();
    timer_settime(rt, TIMER_ABSTIME, &abs, 0);
    while (!got && now_ns() - t0 < 5000000000LL) pause();
    el = (now_ns() - t0) / 1000000;
    CHECK(got == 1 && got_value == 7 && el >= 25, "abstime-realtime", "got %d value %d after %lld ms", got, got_value, el);
    /* An absolute time in the past expires at once. */
    got = 0;
    struct itimerspec past = { { 0, 0 }, { 1, 0 } };
    timer_settime(rt, TIMER_ABSTIME, &past, 0);
    t0 = now_ns();
    while (!got && now_ns() - t0 < 5000000000LL) pause();
    CHECK(got == 1, "abstime-past", "got %d", got);

    /* SIGEV_NONE: never signals, but time still runs. */
    struct sigevent none = { 0 }; none.sigev_notify = SIGEV_NONE;
    timer_t nt;
    timer_create(CLOCK_MONOTONIC, &none, &nt);
    struct itimerspec fifty = { { 0, 0 }, { 0, 50000000 } };
    got = 0;
    timer_settime(nt, 0, &fifty, 0);
    timer_gettime(nt, &cur);
    int armed = cur.it_value.tv_nsec > 0;
    sleep_ms(80);
    timer_gettime(nt, &cur);
    CHECK(armed && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 && got == 0, "sigev-none", "armed %d left %ld got %d",
          armed, cur.it_value.tv_nsec, got);

    /* No sigevent (the raw syscall: the C library passes its own): SIGALRM with the timer id as value. */
    int dt = -1;
    syscall(SYS_timer_create, CLOCK_MONOTONIC, 0, &dt);
    got = 0;
    syscall(SYS_timer_settime, dt, 0, &its, 0);
    t0 = now_ns();
    while (!got && now_ns() - t0 < 5000000000LL) pause();
    CHECK(got == 1 && got_value == dt && got_timerid == dt, "default-sigevent", "got %d value %d id %d", got, got_value, dt);

    /* CPU-time clocks: the timer fires after CPU time, not wall time. */
    timer_t ct;
    ev.sigev_value.sival_int = 99;
    CHECK(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &ct) == 0, "create-process-cputime", "create");
    struct itimerspec cpu50 = { { 0, 0 }, { 0, 50000000 } };
    got = 0;
    timer_settime(ct, 0, &cpu50, 0);
    sleep_ms(100);
    int during_sleep = got;
    long long c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    t0 = now_ns();
    volatile unsigned long x = 0;
    while (!got && now_ns() - t0 < 10000000000LL) for (int i = 0; i < 1000000 && !got; i++) x++;
    long long spent = (ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1000000;
    CHECK(during_sleep == 0 && got == 1 && got_value == 99 && spent >= 30, "process-cputime-timer",
          "sleep %d got %d cpu %lld ms", during_sleep, got, spent);
    timer_t tt;
    CHECK(timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &tt) == 0, "create-thread-cputime", "create");
    got = 0;
    timer_settime(tt, 0, &cpu50, 0);
    t0 = now_ns();
    while (!got && now_ns() - t0 < 10000000000LL) for (int i = 0; i < 1000000 && !got; i++) x++;
    CHECK(got == 1, "thread-cputime-timer", "got %d", got);

    /* Errors. */
    CHECK(timer_delete(tt) == 0, "delete", "delete");
    CHECK(syscall(SYS_timer_gettime, kid(tt), &cur) == -1 && errno == EINVAL, "deleted-is-einval", "still there");
    CHECK(syscall(SYS_timer_delete, 12345) == -1 && errno == EINVAL, "delete-unknown", "no EINVAL");
    int id;
    CHECK(syscall(SYS_timer_create, 42, 0, &id) == -1 && errno == EINVAL, "bad-clock", "no EINVAL");
    ev.sigev_signo = 99;
    CHECK(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) == -1 && errno == EINVAL, "bad-signal", "no EINVAL");
    struct itimerspec badts = { { 0, 0 }, { 0, 1000000000 } };
    CHECK(timer_settime(t, 0, &badts, 0) == -1 && errno == EINVAL, "bad-nsec", "no EINVAL");

    /* A forked child has no timers; exec ends them. */
    pid_t pid = fork();
    if (pid == 0) {
        CHECK(syscall(SYS_timer_gettime, kid(t), &cur) == -1 && errno == EINVAL, "fork-has-no-timers", "inherited");
        _exit(0);
    }
    waitpid(pid, 0, 0);
    timer_t first;
    timer_create(CLOCK_MONOTONIC, &ev, &first);  /* make sure id 0 is in use */
    fflush(stdout);
    execl(argv[0], argv[0], "after-exec", (char *)0);
    printf("FAIL exec %d\n", errno);
    return 1;
}
