/* eventfd between parent and child; semaphore mode, O_NONBLOCK and the counter's limits. */
#include "ipc_common.h"
#include <sys/eventfd.h>

int main(void) {
    setup();
    int efd = eventfd(0, 0);
    CHECK(efd >= 0, "eventfd");
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; i++) {
            sleep_ms(10);
            uint64_t v = 1;
            if (write(efd, &v, 8) != 8) _exit(1);
        }
        _exit(0);
    }
    uint64_t total = 0, v;
    while (total < 3) {
        if (read(efd, &v, 8) != 8) break;  /* blocks until the child writes */
        total += v;
    }
    CHECK(total == 3, "parent read child's 3 increments");
    reap(pid, "eventfd child exited");

    int nb = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(read(nb, &v, 8) == 8 && v == 5, "read drains the counter");
    CHECK(read(nb, &v, 8) < 0 && errno == EAGAIN, "empty nonblocking read EAGAIN");
    CHECK(read(nb, &v, 4) < 0 && errno == EINVAL, "short read EINVAL");
    v = 1;
    CHECK(write(nb, &v, 4) < 0 && errno == EINVAL, "short write EINVAL");
    v = UINT64_MAX;
    CHECK(write(nb, &v, 8) < 0 && errno == EINVAL, "write of 2^64-1 EINVAL");
    v = UINT64_MAX - 1;
    CHECK(write(nb, &v, 8) == 8, "write up to the maximum");
    v = 1;
    CHECK(write(nb, &v, 8) < 0 && errno == EAGAIN, "overflowing write EAGAIN");
    struct pollfd pfd = { .fd = nb, .events = POLLIN | POLLOUT };
    CHECK(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN, "full counter: POLLIN only");
    CHECK(read(nb, &v, 8) == 8 && v == UINT64_MAX - 1, "read the maximum");
    pfd.revents = 0;
    CHECK(poll(&pfd, 1, 0) == 1 && pfd.revents == POLLOUT, "empty counter: POLLOUT only");
    CHECK(fcntl(nb, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC");
    CHECK(eventfd(0, 0x1234) < 0 && errno == EINVAL, "bad flags EINVAL");

    int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    int ones = 0;
    while (read(sem, &v, 8) == 8 && v == 1) ones++;
    CHECK(ones == 3 && errno == EAGAIN, "semaphore mode counts down by one");

    /* A blocked writer is woken when the reader makes room. */
    int full = eventfd(0, 0);
    v = UINT64_MAX - 1;
    write(full, &v, 8);
    pid = fork();
    if (pid == 0) { v = 7; _exit(write(full, &v, 8) == 8 ? 0 : 1); }
    sleep_ms(30);
    read(full, &v, 8);
    reap(pid, "blocked writer woken by read");
    CHECK(read(full, &v, 8) == 8 && v == 7, "blocked write landed");
    printf("failures %d\n", failures);
    return failures;
}
