/* Readiness of a host pipe handed to the sandbox as stdin (the Sentry re-checks it on an interval). */
#include "ipc_common.h"

int main(void) {
    setup();
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 }, out;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) == 0, "epoll accepts a host pipe");
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    CHECK(poll(&pfd, 1, 0) == 0, "host pipe empty at first");
    CHECK(epoll_wait(ep, &out, 1, 5000) == 1 && out.data.fd == 0 && (out.events & EPOLLIN), "epoll sees data written by the host");
    CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLIN), "poll sees data written by the host");
    char buf[16];
    CHECK(read(0, buf, sizeof buf) == 5 && memcmp(buf, "hello", 5) == 0, "read host data");
    pfd.revents = 0;
    CHECK(poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLHUP), "POLLHUP once the host closes its end");
    printf("failures %d\n", failures);
    return failures;
}
