/* Shared helpers of the IPC test programs: each check prints "ok NAME" or "FAIL NAME ..."; the
 * program's exit status is the number of failures. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, name) do { \
        int saved_errno_ = errno; \
        if (cond) printf("ok %s\n", name); \
        else { printf("FAIL %s (line %d, errno %d: %s)\n", name, __LINE__, saved_errno_, strerror(saved_errno_)); failures++; } \
    } while (0)

__attribute__((unused)) static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

__attribute__((unused)) static void sleep_ms(int ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits for a child and checks it exited with 0. */
__attribute__((unused)) static void reap(pid_t pid, const char *name) {
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, name);
}

static void setup(void) { setvbuf(stdout, NULL, _IONBF, 0); }
