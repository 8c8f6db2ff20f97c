/* AF_UNIX sockets: abstract and path names, stream/dgram/seqpacket, shutdown, EPIPE, options. */
#include "ipc_common.h"
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>

static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    size_t n = strlen(name);
    memcpy(a->sun_path + 1, name, n);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return sizeof *a;
}

static void stream_abstract(void) {
    int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a, got;
    socklen_t alen = abstract_addr(&a, "runsc-ipc-test");
    CHECK(bind(srv, (struct sockaddr *)&a, alen) == 0, "bind abstract");
    int dup = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(dup, (struct sockaddr *)&a, alen) < 0 && errno == EADDRINUSE, "abstract name in use");
    CHECK(connect(dup, (struct sockaddr *)&a, alen) < 0 && errno == ECONNREFUSED, "connect before listen refused");
    CHECK(listen(srv, 4) == 0, "listen");
    socklen_t glen = sizeof got;
    CHECK(getsockname(srv, (struct sockaddr *)&got, &glen) == 0 && glen == alen && memcmp(&got, &a, alen) == 0, "getsockname abstract");
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, alen) != 0) _exit(1);
        struct sockaddr_un peer;
        socklen_t plen = sizeof peer;
        if (getpeername(c, (struct sockaddr *)&peer, &plen) != 0 || plen != alen || memcmp(&peer, &a, alen) != 0) _exit(2);
        if (write(c, "hello world", 11) != 11) _exit(3);
        char buf[32];
        int n = read(c, buf, sizeof buf);
        if (n != 5 || memcmp(buf, "reply", 5) != 0) _exit(4);
        shutdown(c, SHUT_WR);
        n = read(c, buf, sizeof buf);  /* the server closes after seeing our EOF */
        _exit(n == 0 ? 0 : 5);
    }
    struct sockaddr_un peer;
    socklen_t plen = sizeof peer;
    int conn = accept4(srv, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
    CHECK(conn >= 0 && plen == offsetof(struct sockaddr_un, sun_path), "accept4 (unnamed peer)");
    struct ucred cred;
    socklen_t clen = sizeof cred;
    CHECK(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 && cred.pid == pid, "SO_PEERCRED is the child");
    char buf[32];
    CHECK(recv(conn, buf, 5, MSG_PEEK | MSG_WAITALL) == 5 && memcmp(buf, "hello", 5) == 0, "MSG_PEEK");
    CHECK(recv(conn, buf, 11, MSG_WAITALL) == 11 && memcmp(buf, "hello world", 11) == 0, "MSG_WAITALL reads all");
    CHECK(write(conn, "reply", 5) == 5, "server write");
    CHECK(read(conn, buf, sizeof buf) == 0, "EOF after peer SHUT_WR");
    close(conn);
    reap(pid, "abstract client passed its checks");
    CHECK(recv(srv, buf, 1, MSG_DONTWAIT) < 0 && errno == EINVAL, "recv on listener EINVAL");
    int nb = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(accept(nb, NULL, NULL) < 0 && errno == EINVAL, "accept on non-listener EINVAL");
    fcntl(srv, F_SETFL, O_NONBLOCK);
    CHECK(accept(srv, NULL, NULL) < 0 && errno == EAGAIN, "nonblocking accept EAGAIN");
    close(srv);
    CHECK(connect(nb, (struct sockaddr *)&a, alen) < 0 && errno == ECONNREFUSED, "name gone after close");
}

static void path_names(void) {
    struct sockaddr_un a;
    socklen_t alen = path_addr(&a, "/dev/shm/ipc-test.sock");
    unlink(a.sun_path);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(srv, (struct sockaddr *)&a, alen) == 0, "bind path in tmpfs");
    struct stat st;
    CHECK(stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode), "socket inode");
    listen(srv, 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, alen) == 0, "connect by path");
    int conn = accept(srv, NULL, NULL);
    CHECK(send(c, "p", 1, 0) == 1 && recv(conn, &st, 1, 0) == 1, "path socket data");
    int again = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(again, (struct sockaddr *)&a, alen) < 0 && errno == EADDRINUSE, "path in use");
    CHECK(unlink(a.sun_path) == 0, "unlink socket file");
    CHECK(connect(again, (struct sockaddr *)&a, alen) < 0 && errno == ENOENT, "connect after unlink ENOENT");
    struct sockaddr_un auto_addr = { .sun_family = AF_UNIX };
    socklen_t autolen = sizeof auto_addr;
    CHECK(bind(again, (struct sockaddr *)&auto_addr, offsetof(struct sockaddr_un, sun_path)) == 0
          && getsockname(again, (struct sockaddr *)&auto_addr, &autolen) == 0 && autolen == 8 && auto_addr.sun_path[0] == 0,
          "autobind");
    close(c); close(conn); close(srv); close(again);
}

static void stream_errors(void) {
    signal(SIGPIPE, SIG_IGN);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    char buf[65536];
    CHECK(read(sv[0], buf, 1) < 0 && errno == EAGAIN, "nonblocking empty read EAGAIN");
    memset(buf, 'x', sizeof buf);
    long total = 0;
    int n;
    while ((n = write(sv[0], buf, sizeof buf)) > 0) total += n;
    CHECK(n < 0 && errno == EAGAIN && total > 0, "nonblocking full write EAGAIN");
    struct pollfd pfd = { .fd = sv[0], .events = POLLOUT };
    CHECK(poll(&pfd, 1, 0) == 0, "full socket not writable");
    int inq = 0;
    CHECK(ioctl(sv[1], FIONREAD, &inq) == 0 && inq == total, "FIONREAD");
    close(sv[1]);
    CHECK(write(sv[0], "x", 1) < 0 && errno == EPIPE, "EPIPE after peer close");
    pfd.events = POLLIN | POLLRDHUP;
    CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP) && (pfd.revents & POLLRDHUP), "POLLHUP|POLLRDHUP after peer close");
    close(sv[0]);
    /* SIGPIPE is raised unless MSG_NOSIGNAL. */
    signal(SIGPIPE, SIG_DFL);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    CHECK(send(sv[0], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE, "MSG_NOSIGNAL: EPIPE without SIGPIPE");
    pid_t pid = fork();
    if (pid == 0) { write(sv[0], "x", 1); _exit(0); }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, "SIGPIPE kills the writer");
    close(sv[0]);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(write(s, "x", 1) < 0 && errno == ENOTCONN, "write unconnected ENOTCONN");
    CHECK(shutdown(s, SHUT_RD) == 0, "shutdown unconnected is accepted");
    int type = 0;
    socklen_t tl = sizeof type;
    CHECK(getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM && tl == 4, "SO_TYPE");
    int err = -1;
    tl = sizeof err;
    CHECK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &tl) == 0 && err == 0, "SO_ERROR");
    int big = 100000, rb = 0;
    tl = sizeof rb;
    CHECK(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big) == 0 && getsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, &tl) == 0 && rb == 200000,
          "SO_RCVBUF doubled");
    int one = 1;
    CHECK(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "SO_REUSEADDR accepted");
    CHECK(setsockopt(s, SOL_SOCKET, 12345, &one, sizeof one) < 0 && errno == ENOPROTOOPT, "unknown option ENOPROTOOPT");
    CHECK(socket(AF_INET, SOCK_STREAM, 0) < 0 && errno == EAFNOSUPPORT, "AF_INET EAFNOSUPPORT");
    CHECK(socket(AF_INET6, SOCK_DGRAM, 0) < 0 && errno == EAFNOSUPPORT, "AF_INET6 EAFNOSUPPORT");
    CHECK(socket(AF_NETLINK, SOCK_RAW, 0) < 0 && errno == EAFNOSUPPORT, "AF_NETLINK EAFNOSUPPORT");
    CHECK(socket(AF_UNIX, SOCK_STREAM, 7) < 0 && errno == EPROTONOSUPPORT, "bad protocol");
    CHECK(socketpair(AF_INET, SOCK_STREAM, 0, sv) < 0 && errno == EAFNOSUPPORT, "socketpair AF_INET");
    CHECK(recv(0, buf, 1, MSG_DONTWAIT) < 0 && errno == ENOTSOCK, "ENOTSOCK");
    close(s);
}

static void datagrams(void) {
    struct sockaddr_un a, b, from;
    socklen_t alen = abstract_addr(&a, "ipc-dgram-a"), blen = abstract_addr(&b, "ipc-dgram-b");
    int sa = socket(AF_UNIX, SOCK_DGRAM, 0), sb = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(sa, (struct sockaddr *)&a, alen);
    bind(sb, (struct sockaddr *)&b, blen);
    CHECK(sendto(sa, "one", 3, 0, (struct sockaddr *)&b, blen) == 3, "sendto");
    CHECK(sendto(sa, "two!", 4, 0, (struct sockaddr *)&b, blen) == 4, "sendto again");
    char buf[16];
    socklen_t flen = sizeof from;
    CHECK(recvfrom(sb, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen) == 3 && flen == alen && memcmp(&from, &a, alen) == 0,
          "recvfrom with sender address");
    CHECK(recv(sb, buf, 2, MSG_TRUNC) == 4, "MSG_TRUNC returns the datagram length");
    struct msghdr mh = { 0 };
    struct iovec iov = { buf, 2 };
    mh.msg_iov = &iov; mh.msg_iovlen = 1;
    sendto(sa, "three", 5, 0, (struct sockaddr *)&b, blen);
    CHECK(recvmsg(sb, &mh, 0) == 2 && (mh.msg_flags & MSG_TRUNC), "recvmsg sets MSG_TRUNC");
    CHECK(recv(sb, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "datagram truncated rest discarded");
    CHECK(send(sa, "x", 1, 0) < 0 && errno == ENOTCONN, "unconnected dgram send ENOTCONN");
    CHECK(connect(sa, (struct sockaddr *)&b, blen) == 0 && send(sa, "conn", 4, 0) == 4 && recv(sb, buf, sizeof buf, 0) == 4, "connected dgram");
    struct sockaddr_un c;
    socklen_t clen = abstract_addr(&c, "ipc-dgram-missing");
    CHECK(sendto(sb, "x", 1, 0, (struct sockaddr *)&c, clen) < 0 && errno == ECONNREFUSED, "sendto missing name ECONNREFUSED");
    int sc = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(connect(sc, (struct sockaddr *)&a, alen) < 0 && errno == EPERM, "peer connected elsewhere EPERM");
    close(sa); close(sb); close(sc);
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    CHECK(send(sv[0], "", 0, 0) == 0 && recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == 0, "empty datagram");
    close(sv[0]); close(sv[1]);
}

static void seqpacket(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "seqpacket pair");
    send(sv[0], "abc", 3, 0);
    send(sv[0], "defgh", 5, 0);
    char buf[16];
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 3, "record boundary kept");
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 5 && memcmp(buf, "defgh", 5) == 0, "second record");
    int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    struct sockaddr_un a;
    socklen_t alen = abstract_addr(&a, "ipc-seqpacket");
    bind(srv, (struct sockaddr *)&a, alen);
    listen(srv, 1);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, alen) < 0 && errno == ECONNREFUSED, "abstract names are per type");
    close(sv[0]);
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 0, "seqpacket EOF after close");
    close(sv[1]); close(srv); close(c);
}

int main(int argc, char **argv) {
    setup();
    if (argc > 1 && strcmp(argv[1], "readonly-root") == 0) {
        /* Run with a read-only root: binding a path there fails, abstract names still work. */
        struct sockaddr_un ro, ab;
        socklen_t rolen = path_addr(&ro, "/ipc-test-readonly.sock"), ablen = abstract_addr(&ab, "ipc-ro");
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(s, (struct sockaddr *)&ro, rolen) < 0 && errno == EROFS, "bind on read-only root EROFS");
        CHECK(bind(s, (struct sockaddr *)&ab, ablen) == 0, "abstract bind with read-only root");
        printf("failures %d\n", failures);
        return failures;
    }
    stream_abstract();
    path_names();
    stream_errors();
    datagrams();
    seqpacket();
    printf("failures %d\n", failures);
    return failures;
}
