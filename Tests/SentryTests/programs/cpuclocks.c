/* CPU-time clocks, getrusage and times: true to the CPU time the program really uses. */
#include "timecheck.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sys/times.h>

static long long tv_ms(struct timeval tv) { return tv.tv_sec * 1000LL + tv.tv_usec / 1000; }

int main(void) {
    long long p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID), th0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    sleep_ms(200);
    long long slept = (ns_of(CLOCK_PROCESS_CPUTIME_ID) - p0) / 1000000;
    CHECK(slept < 50, "no-cpu-while-sleeping", "%lld ms of CPU during a 200 ms sleep", slept);

    long long w0 = now_ns();
    spin_wall_ms(300);
    long long wall = (now_ns() - w0) / 1000000;
    long long p = (ns_of(CLOCK_PROCESS_CPUTIME_ID) - p0) / 1000000, th = (ns_of(CLOCK_THREAD_CPUTIME_ID) - th0) / 1000000;
    /* The machine may be shared: demand some CPU, and never more than the wall time allows. */
    CHECK(p >= 30 && p <= wall + 60, "process-cputime", "%lld ms CPU in %lld ms", p, wall);
    CHECK(th >= 30 && th <= wall + 60, "thread-cputime", "%lld ms CPU in %lld ms", th, wall);

    struct rusage ru, rt;
    getrusage(RUSAGE_SELF, &ru);
    getrusage(RUSAGE_THREAD, &rt);
    long long total = ns_of(CLOCK_PROCESS_CPUTIME_ID) / 1000000;
    /* User time dominates a compute loop; user + system is the process clock. */
    CHECK(tv_ms(ru.ru_utime) >= p / 2 && tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime) >= p - 5 &&
          tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime) <= total + 5, "rusage-self",
          "utime %lld stime %lld clock %lld", tv_ms(ru.ru_utime), tv_ms(ru.ru_stime), total);
    CHECK(tv_ms(rt.ru_utime) >= p / 2, "rusage-thread", "utime %lld", tv_ms(rt.ru_utime));
    CHECK(getrusage(5, &ru) == -1 && errno == EINVAL, "rusage-bad-who", "no EINVAL");

    clockid_t cid;
    CHECK(clock_getcpuclockid(getpid(), &cid) == 0, "getcpuclockid-self", "failed");
    long long a = ns_of(cid), b = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    CHECK(a > 0 && b >= a && b - a < 20000000, "pid-clock-is-process-clock", "%lld vs %lld", a, b);
    CHECK(pthread_getcpuclockid(pthread_self(), &cid) == 0 && ns_of(cid) > 0, "pthread-clock", "failed");
    CHECK(clock_getcpuclockid(999999, &cid) == ESRCH, "getcpuclockid-no-such-pid", "not ESRCH");
    long long prev = 0; int monotonic = 1;
    for (int i = 0; i < 1000; i++) { long long v = ns_of(CLOCK_PROCESS_CPUTIME_ID); if (v < prev) monotonic = 0; prev = v; }
    CHECK(monotonic, "cputime-monotonic", "went backwards");

    /* Children: their CPU time is counted when they are reaped. */
    int pipefd[2]; pipe(pipefd);
    pid_t pid = fork();
    if (pid == 0) {
        spin_cpu_ms(150);
        close(pipefd[1]);
        sleep_ms(300);
        _exit(0);
    }
    close(pipefd[1]);
    char c; read(pipefd[0], &c, 1);  /* the child has spun */
    CHECK(clock_getcpuclockid(pid, &cid) == 0 && ns_of(cid) >= 140000000LL, "child-pid-clock", "%lld", ns_of(cid));
    struct rusage before; getrusage(RUSAGE_CHILDREN, &before);
    CHECK(tv_ms(before.ru_utime) == 0, "children-before-reap", "utime %lld", tv_ms(before.ru_utime));
    struct rusage wru; int st;
    wait4(pid, &st, 0, &wru);
    CHECK(tv_ms(wru.ru_utime) + tv_ms(wru.ru_stime) >= 140, "wait4-rusage", "utime %lld stime %lld", tv_ms(wru.ru_utime), tv_ms(wru.ru_stime));
    struct rusage after; getrusage(RUSAGE_CHILDREN, &after);
    CHECK(tv_ms(after.ru_utime) + tv_ms(after.ru_stime) >= 140, "rusage-children", "utime %lld", tv_ms(after.ru_utime));
    struct tms tm;
    clock_t ticks = times(&tm);
    CHECK(ticks > 0 && tm.tms_utime >= 3 && tm.tms_cutime + tm.tms_cstime >= 14, "times", "utime %ld cutime %ld",
          (long)tm.tms_utime, (long)tm.tms_cutime);
    return 0;
}
