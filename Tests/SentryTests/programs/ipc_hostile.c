/* Hostile arguments to the IPC and socket syscalls: every call must fail or succeed with a Linux errno,
 * never take the Sentry down. Arguments come from a fixed pool, combined deterministically. */
#include "ipc_common.h"
#include <sys/syscall.h>

int main(void) {
    setup();
    signal(SIGPIPE, SIG_IGN);  /* fuzzed sends may hit closed peers */
    static char buf[4096];
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    int ep = epoll_create1(0);
    long pool[] = { 0, -1, 1, 2, 3, 8, 12, 16, 110, 111, 4096, 0x7fffffff, -100, (long)buf, (long)buf + 4090,
                    (long)0x7ffffffff000, (long)0xffffffffffff0000UL, (long)0x8000000000000000UL, sv[0], sv[1], ep, 0x40,
                    0x4000, 0x80000, 0x800 };
    int npool = sizeof pool / sizeof pool[0];
    long calls[] = { SYS_socket, SYS_socketpair, SYS_bind, SYS_listen, SYS_connect, SYS_accept4, SYS_sendto, SYS_recvfrom,
                     SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg, SYS_shutdown, SYS_getsockname, SYS_getpeername,
                     SYS_getsockopt, SYS_setsockopt, SYS_epoll_ctl, SYS_epoll_pwait2, SYS_eventfd2, SYS_signalfd4,
                     SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_ppoll, SYS_pselect6 };
    unsigned seed = 12345;
    long ncalls = 0;
    for (unsigned c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        for (int i = 0; i < 400; i++) {
            long a[6];
            for (int k = 0; k < 6; k++) { seed = seed * 1103515245 + 12345; a[k] = pool[(seed >> 16) % npool]; }
            /* Keep blocking calls from waiting: nonblocking flags where they exist, zero timeouts. */
            if (calls[c] == SYS_recvfrom || calls[c] == SYS_recvmsg || calls[c] == SYS_recvmmsg || calls[c] == SYS_sendto
                || calls[c] == SYS_sendmsg || calls[c] == SYS_sendmmsg) a[calls[c] == SYS_recvfrom || calls[c] == SYS_sendto ? 3 : 2] |= MSG_DONTWAIT;
            if (calls[c] == SYS_recvmmsg) a[4] = 0;
            if (calls[c] == SYS_accept4 || calls[c] == SYS_connect) a[0] = sv[0];
            if (calls[c] == SYS_epoll_pwait2 || calls[c] == SYS_ppoll || calls[c] == SYS_pselect6) continue;
            long r = syscall(calls[c], a[0], a[1], a[2], a[3], a[4], a[5]);
            if (r >= 3 && r != sv[0] && r != sv[1] && r != ep && calls[c] != SYS_sendto && calls[c] != SYS_recvfrom
                && calls[c] != SYS_sendmsg && calls[c] != SYS_recvmsg && calls[c] != SYS_sendmmsg && calls[c] != SYS_recvmmsg) close(r);
            ncalls++;
        }
    }
    struct timespec zero = { 0, 0 };
    for (int i = 0; i < 200; i++) {
        long a = pool[i % npool], b = pool[(i / npool) % npool];
        syscall(SYS_epoll_pwait2, ep, a, b, &zero, NULL, 8);
        syscall(SYS_ppoll, a, b & 0xff, &zero, NULL, 8);
        syscall(SYS_pselect6, b & 0x3ff, a, a, a, &zero, NULL);
        ncalls += 3;
    }
    printf("made %ld hostile calls\n", ncalls);
    int fresh[2];
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, fresh) == 0 && send(fresh[0], "ok", 2, 0) == 2 && recv(fresh[1], buf, 8, 0) == 2,
          "sockets still work afterwards");
    printf("failures %d\n", failures);
    return failures;
}
