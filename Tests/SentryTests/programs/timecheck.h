/* Shared helpers of the time and System V IPC test programs: each check prints "ok NAME" or
   "FAIL NAME: details", so a test compares the whole output. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define CHECK(cond, name, ...) do { \
    if (cond) printf("ok %s\n", name); \
    else { printf("FAIL %s: ", name); printf(__VA_ARGS__); printf(" (errno %d)\n", errno); } \
    fflush(stdout); } while (0)

static inline long long ns_of(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static inline long long now_ns(void) { return ns_of(CLOCK_MONOTONIC); }
static inline void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}
/* Burns CPU in user space for about `ms` milliseconds of process CPU time (bounded by 10 s of wall time). */
static inline void spin_cpu_ms(long ms) {
    long long start = ns_of(CLOCK_PROCESS_CPUTIME_ID), wall = now_ns();
    volatile unsigned long x = 0;
    while (ns_of(CLOCK_PROCESS_CPUTIME_ID) - start < ms * 1000000LL && now_ns() - wall < 10000000000LL)
        for (int i = 0; i < 100000; i++) x += i;
}
/* Burns CPU for `ms` milliseconds of wall time, mostly in user space (a clock read is a syscall). */
static inline void spin_wall_ms(long ms) {
    long long wall = now_ns();
    volatile unsigned long x = 0;
    while (now_ns() - wall < ms * 1000000LL)
        for (int i = 0; i < 1000000; i++) x += i;
}
