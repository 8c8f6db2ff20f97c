/* setitimer/getitimer/alarm: ITIMER_REAL signals the process, ITIMER_VIRTUAL/PROF count its CPU time. */
#include "timecheck.h"
#include <sys/time.h>

static volatile int alarms, vtalarms, profs, lastcode;
static void on_alarm(int sig, siginfo_t *si, void *uc) { (void)uc; lastcode = si->si_code;
    if (sig == SIGALRM) alarms++; else if (sig == SIGVTALRM) vtalarms++; else profs++; }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "after-exec") == 0) {
        struct itimerval cur;
        getitimer(ITIMER_REAL, &cur);
        CHECK(cur.it_value.tv_sec > 0 && cur.it_value.tv_sec <= 100, "itimer-real-survives-exec", "left %ld", (long)cur.it_value.tv_sec);
        return 0;
    }
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_alarm; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, 0); sigaction(SIGVTALRM, &sa, 0); sigaction(SIGPROF, &sa, 0);

    struct itimerval it = { { 0, 20000 }, { 0, 50000 } }, cur, old;
    long long t0 = now_ns();
    CHECK(setitimer(ITIMER_REAL, &it, 0) == 0, "setitimer-real", "setitimer");
    getitimer(ITIMER_REAL, &cur);
    CHECK(cur.it_interval.tv_usec == 20000 && cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 0 &&
          cur.it_value.tv_usec <= 50000, "getitimer-armed", "value %ld interval %ld", (long)cur.it_value.tv_usec, (long)cur.it_interval.tv_usec);
    while (alarms < 3 && now_ns() - t0 < 5000000000LL) pause();
    long long el = (now_ns() - t0) / 1000000;
    CHECK(alarms >= 3 && el >= 85, "real-periodic", "alarms %d after %lld ms", alarms, el);
    CHECK(lastcode == SI_KERNEL, "real-si-code", "si_code %d", lastcode);
    struct itimerval zero = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &zero, &old);
    CHECK(old.it_interval.tv_usec == 20000, "setitimer-old-value", "old interval %ld", (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &cur);
    CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0, "disarmed", "value %ld", (long)cur.it_value.tv_usec);
    int before = alarms; sleep_ms(60);
    CHECK(alarms == before, "no-alarm-after-disarm", "alarms %d -> %d", before, alarms);

    struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
    CHECK(setitimer(ITIMER_REAL, &bad, 0) == -1 && errno == EINVAL, "setitimer-bad-usec", "no EINVAL");
    CHECK(setitimer(7, &it, 0) == -1 && errno == EINVAL, "setitimer-bad-which", "no EINVAL");

    CHECK(alarm(5) == 0, "alarm-first", "nonzero");
    CHECK(alarm(0) == 5, "alarm-remaining", "not 5");
    before = alarms; t0 = now_ns();
    alarm(1);
    while (alarms == before && now_ns() - t0 < 5000000000LL) pause();
    el = (now_ns() - t0) / 1000000;
    CHECK(alarms == before + 1 && el >= 950, "alarm-fires", "after %lld ms", el);

    /* ITIMER_VIRTUAL counts user CPU time only: it must not fire while the process sleeps. The loops below
       read the clock rarely: without a vDSO every clock read is a syscall, which is system time. */
    struct itimerval v = { { 0, 0 }, { 0, 100000 } };
    setitimer(ITIMER_VIRTUAL, &v, 0);
    sleep_ms(250);
    CHECK(vtalarms == 0, "virtual-not-while-sleeping", "fired during sleep");
    long long c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    t0 = now_ns();
    volatile unsigned long x = 0;
    while (!vtalarms && now_ns() - t0 < 10000000000LL) for (int i = 0; i < 1000000 && !vtalarms; i++) x++;
    long long cpu = (ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1000000;
    CHECK(vtalarms == 1 && cpu >= 70, "virtual-fires-on-cpu-time", "fired %d after %lld ms cpu", vtalarms, cpu);

    struct itimerval p = { { 0, 30000 }, { 0, 30000 } };
    setitimer(ITIMER_PROF, &p, 0);
    t0 = now_ns();
    while (profs < 2 && now_ns() - t0 < 10000000000LL) for (int i = 0; i < 1000000 && profs < 2; i++) x++;
    setitimer(ITIMER_PROF, &zero, 0);
    CHECK(profs >= 2, "prof-periodic", "fired %d", profs);

    /* Interval timers survive execve. */
    struct itimerval longer = { { 0, 0 }, { 100, 0 } };
    setitimer(ITIMER_REAL, &longer, 0);
    fflush(stdout);
    execl(argv[0], argv[0], "after-exec", (char *)0);
    printf("FAIL exec: %d\n", errno);
    return 1;
}
