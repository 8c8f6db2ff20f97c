/* SCM_RIGHTS: a pipe end passed to a child over a unix socket; SCM_CREDENTIALS with SO_PASSCRED. */
#include "ipc_common.h"
#include <sys/un.h>

static int send_fd(int sock, int fd, const char *data) {
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = { (void *)data, strlen(data) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(sock, &mh, 0);
}

/* Receives one message; returns the passed fd or -1. */
static int recv_fd(int sock, char *buf, size_t len, int flags, int *msg_flags) {
    char ctl[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = { buf, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
    int n = recvmsg(sock, &mh, flags);
    if (msg_flags) *msg_flags = mh.msg_flags;
    if (n < 0) return -2;
    buf[n < (int)len ? n : (int)len - 1] = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int fd;
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
            return fd;
        }
    }
    return -1;
}

int main(void) {
    setup();
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        char buf[64];
        int fd = recv_fd(sv[1], buf, sizeof buf, MSG_CMSG_CLOEXEC, NULL);
        if (fd < 0 || strcmp(buf, "here") != 0) _exit(1);
        if (fcntl(fd, F_GETFD) != FD_CLOEXEC) _exit(2);
        int n = read(fd, buf, sizeof buf - 1);  /* the parent writes after closing its copy of the read end */
        if (n != 11 || memcmp(buf, "through fd!", 11) != 0) _exit(3);
        if (read(fd, buf, 1) != 0) _exit(4);  /* EOF once the parent closes the write end */
        _exit(0);
    }
    close(sv[1]);
    int p[2];
    pipe(p);
    CHECK(send_fd(sv[0], p[0], "here") == 4, "sendmsg SCM_RIGHTS");
    close(p[0]);
    CHECK(write(p[1], "through fd!", 11) == 11, "write into the passed pipe");
    close(p[1]);
    reap(pid, "child read the pipe through the passed fd");

    /* Files ride with the bytes they were sent with; MSG_PEEK installs a copy. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    int e[2];
    pipe(e);
    write(sv[0], "plain", 5);
    send_fd(sv[0], e[1], "withfd");
    send_fd(sv[0], e[1], "again");
    write(sv[0], "tail", 4);
    char buf[64];
    int first = recv_fd(sv[1], buf, sizeof buf, 0, NULL);
    CHECK(first >= 0 && strcmp(buf, "plainwithfd") == 0, "bytes glue up to the message with the fd, which ends the read");
    int peeked = recv_fd(sv[1], buf, sizeof buf, MSG_PEEK, NULL);
    CHECK(peeked >= 0 && strcmp(buf, "again") == 0, "MSG_PEEK passes a copy of the fd");
    int got = recv_fd(sv[1], buf, sizeof buf, 0, NULL);
    CHECK(got >= 0 && got != peeked && strcmp(buf, "again") == 0, "received the fd");
    CHECK(recv_fd(sv[1], buf, sizeof buf, 0, NULL) == -1 && strcmp(buf, "tail") == 0, "bytes after the fd come alone");
    close(first);
    CHECK(write(got, "k", 1) == 1 && read(e[0], buf, 1) == 1 && buf[0] == 'k', "the passed fd is the same pipe");
    /* A control buffer too small: MSG_CTRUNC and the fd is closed. */
    send_fd(sv[0], e[1], "x");
    char small[CMSG_SPACE(0)];
    struct iovec iov = { buf, sizeof buf };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = small, .msg_controllen = sizeof small };
    CHECK(recvmsg(sv[1], &mh, 0) == 1 && (mh.msg_flags & MSG_CTRUNC), "MSG_CTRUNC");
    /* Sending a bad fd fails with EBADF. */
    CHECK(send_fd(sv[0], 987, "bad") < 0 && errno == EBADF, "SCM_RIGHTS with a bad fd EBADF");
    close(sv[0]); close(sv[1]); close(got); close(peeked); close(e[1]);

    /* Datagrams carry fds too, and closing with fds still queued releases them (the reader sees EOF). */
    int dv[2], f[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, dv);
    pipe(f);
    send_fd(dv[0], f[1], "dg");
    close(f[1]);
    close(dv[1]);
    close(dv[0]);
    CHECK(read(f[0], buf, 1) == 0, "in-flight fd released with the socket");

    /* SCM_CREDENTIALS: the receiver with SO_PASSCRED learns the sender's pid. */
    int cv[2], one = 1;
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, cv);
    setsockopt(cv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    pid = fork();
    if (pid == 0) {
        struct ucred me = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
        char ctl[CMSG_SPACE(sizeof me)];
        memset(ctl, 0, sizeof ctl);
        struct iovec v = { "cred", 4 };
        struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof me);
        memcpy(CMSG_DATA(c), &me, sizeof me);
        if (sendmsg(cv[0], &m, 0) != 4) _exit(1);
        if (send(cv[0], "auto", 4, 0) != 4) _exit(2);  /* no explicit credentials: the kernel attaches them */
        _exit(0);
    }
    for (int i = 0; i < 2; i++) {
        char ctl[256];
        struct iovec v = { buf, sizeof buf };
        struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
        int n = recvmsg(cv[1], &m, 0);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        struct ucred uc = { 0 };
        if (c && c->cmsg_type == SCM_CREDENTIALS) memcpy(&uc, CMSG_DATA(c), sizeof uc);
        CHECK(n == 4 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && uc.pid == pid && uc.uid == getuid(),
              i == 0 ? "SCM_CREDENTIALS explicit" : "SCM_CREDENTIALS attached by the kernel");
    }
    reap(pid, "credentials sender exited");
    printf("failures %d\n", failures);
    return failures;
}
