// splice(2), tee(2), vmsplice(2) and sendfile(2), run natively and on the Sentry in an empty directory
// given as argv[1]: each line is "NAME RESULT" (a count, a value or an errno name); the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case ESPIPE: return "ESPIPE";
    case EAGAIN: return "EAGAIN"; case EPIPE: return "EPIPE"; case EISDIR: return "EISDIR";
    case EFAULT: return "EFAULT"; case EOVERFLOW: return "EOVERFLOW"; case ENOSYS: return "ENOSYS";
    default: { static char b[32]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

// Prints a syscall's result: the value, or the errno's name.
static void show(const char *name, long r) {
    if (r < 0) printf("%s %s\n", name, ename(errno));
    else printf("%s %ld\n", name, r);
}

static void show_text(const char *name, int fd, size_t n) {
    char buf[256] = {0};
    ssize_t r = read(fd, buf, n < sizeof buf - 1 ? n : sizeof buf - 1);
    if (r < 0) printf("%s %s\n", name, ename(errno));
    else printf("%s \"%.*s\"\n", name, (int)r, buf);
}

static int queued(int fd) { int n = -1; ioctl(fd, FIONREAD, &n); return n; }

static int file_with(const char *path, const char *text) {
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd >= 0 && write(fd, text, strlen(text)) < 0) return -1;
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) { perror("setup"); return 99; }
    signal(SIGPIPE, SIG_IGN);
    int p[2], q[2];
    loff_t off;

    // File to pipe: with an offset pointer (the file offset stays), then at the file offset.
    int f = file_with("src", "0123456789abcdef");
    lseek(f, 0, SEEK_SET);
    pipe(p);
    off = 2;
    show("file-to-pipe-off", splice(f, &off, p[1], NULL, 5, 0));
    printf("off-after %lld fpos %ld\n", (long long)off, (long)lseek(f, 0, SEEK_CUR));
    show_text("pipe-has", p[0], 64);
    show("file-to-pipe-pos", splice(f, NULL, p[1], NULL, 4, SPLICE_F_MORE | SPLICE_F_MOVE));
    printf("fpos %ld\n", (long)lseek(f, 0, SEEK_CUR));
    show_text("pipe-has", p[0], 64);
    off = 16;
    show("file-at-eof", splice(f, &off, p[1], NULL, 5, 0));
    off = -1;
    show("file-negative-off", splice(f, &off, p[1], NULL, 5, 0));

    // Pipe to file.
    int g = file_with("dst", "..........");
    write(p[1], "hello", 5);
    off = 3;
    show("pipe-to-file-off", splice(p[0], NULL, g, &off, 100, 0));
    printf("off-after %lld gpos %ld\n", (long long)off, (long)lseek(g, 0, SEEK_CUR));
    char buf[64] = {0};
    pread(g, buf, sizeof buf - 1, 0);
    printf("dst \"%s\"\n", buf);
    write(p[1], "XY", 2);
    show("pipe-to-file-pos", splice(p[0], NULL, g, NULL, 1, 0));
    printf("gpos %ld left %d\n", (long)lseek(g, 0, SEEK_CUR), queued(p[0]));
    int ga = open("dst", O_WRONLY | O_APPEND);
    show("pipe-to-append", splice(p[0], NULL, ga, NULL, 1, 0));
    close(ga);
    read(p[0], buf, 1);

    // Argument errors.
    off = 0;
    show("pipe-with-off", splice(p[0], &off, g, NULL, 1, 0));
    show("to-pipe-with-off", splice(f, NULL, p[1], &off, 1, 0));
    show("no-pipe", splice(f, NULL, g, NULL, 1, 0));
    show("same-pipe", splice(p[0], NULL, p[1], NULL, 1, 0));
    show("bad-fd", splice(-1, NULL, p[1], NULL, 1, 0));
    show("bad-flag", splice(f, NULL, p[1], NULL, 1, 0x100));
    show("zero-len", splice(f, NULL, p[1], NULL, 0, 0));
    show("bad-off-pointer", splice(f, (loff_t *)8, p[1], NULL, 1, 0));
    show("huge-len-nonblock", splice(p[0], NULL, g, NULL, (size_t)-1, SPLICE_F_NONBLOCK));
    show("write-end-as-input", splice(p[1], NULL, g, NULL, 1, 0));
    int wo = open("src", O_WRONLY);
    show("wronly-input", splice(wo, NULL, p[1], NULL, 1, 0));
    close(wo);
    int ro = open("dst", O_RDONLY);
    write(p[1], "z", 1);
    show("rdonly-output", splice(p[0], NULL, ro, NULL, 1, 0));
    close(ro);
    read(p[0], buf, 1);
    mkdir("d", 0755);
    int dfd = open("d", O_RDONLY | O_DIRECTORY);
    show("dir-input", splice(dfd, NULL, p[1], NULL, 1, 0));
    close(dfd);

    // Blocking rules.
    show("empty-nonblock", splice(p[0], NULL, g, NULL, 1, SPLICE_F_NONBLOCK));
    pipe(q);
    fcntl(q[0], F_SETFL, O_NONBLOCK);
    show("empty-o-nonblock", splice(q[0], NULL, g, NULL, 1, 0));
    close(q[1]);
    show("empty-no-writers", splice(q[0], NULL, g, NULL, 1, 0));
    close(q[0]);
    pipe(q);
    fcntl(q[1], F_SETFL, O_NONBLOCK);
    char big[65536];
    memset(big, 'b', sizeof big);
    printf("fill %ld\n", (long)write(q[1], big, sizeof big));
    show("full-nonblock", splice(f, NULL, q[1], NULL, 1, SPLICE_F_NONBLOCK));
    close(q[0]);
    show("no-readers", splice(f, NULL, q[1], NULL, 1, 0));
    close(q[1]);
    // A splice waits for a writer that comes later.
    pipe(q);
    pid_t child = fork();
    if (child == 0) { usleep(50000); write(q[1], "late", 4); _exit(0); }
    close(q[1]);
    off = 0;
    show("blocking-wait", splice(q[0], NULL, g, &off, 64, 0));
    waitpid(child, NULL, 0);
    close(q[0]);

    // A big file fills the pipe up to its capacity.
    int h = open("big", O_CREAT | O_RDWR | O_TRUNC, 0644);
    for (int i = 0; i < 4; i++) write(h, big, sizeof big);
    pipe(q);
    off = 0;
    show("big-to-pipe", splice(h, &off, q[1], NULL, 200000, SPLICE_F_NONBLOCK));
    show("pipe-queued", queued(q[0]));
    int h2 = open("big2", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("pipe-to-file-big", splice(q[0], NULL, h2, NULL, 1 << 20, 0));
    close(q[0]); close(q[1]);

    // Pipe to pipe.
    pipe(q);
    write(p[1], "abcdef", 6);
    show("pipe-to-pipe", splice(p[0], NULL, q[1], NULL, 4, 0));
    printf("queued %d %d\n", queued(p[0]), queued(q[0]));
    show_text("q-has", q[0], 64);
    show("pipe-to-pipe-empty-nonblock", splice(q[0], NULL, p[1], NULL, 4, SPLICE_F_NONBLOCK));
    read(p[0], buf, 2);

    // Sockets.
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(p[1], "to-socket", 9);
    show("pipe-to-socket", splice(p[0], NULL, sv[0], NULL, 64, 0));
    memset(buf, 0, sizeof buf);
    recv(sv[1], buf, sizeof buf, 0);
    printf("socket-got \"%s\"\n", buf);
    send(sv[1], "from-socket", 11, 0);
    show("socket-to-pipe", splice(sv[0], NULL, p[1], NULL, 64, 0));
    show_text("pipe-has", p[0], 64);
    off = 0;
    show("socket-with-off", splice(sv[0], &off, p[1], NULL, 64, 0));

    // tee: copies without consuming.
    write(p[1], "teedata", 7);
    show("tee", tee(p[0], q[1], 100, 0));
    printf("queued %d %d\n", queued(p[0]), queued(q[0]));
    show_text("tee-copy", q[0], 64);
    show_text("tee-orig", p[0], 64);
    show("tee-empty-nonblock", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));
    show("tee-not-pipe", tee(f, q[1], 10, 0));
    show("tee-same", tee(p[0], p[1], 10, 0));
    show("tee-wrong-end", tee(p[1], q[1], 10, 0));
    show("tee-bad-flag", tee(p[0], q[1], 10, 0x100));
    int r[2];
    pipe(r);
    close(r[1]);
    show("tee-no-writers", tee(r[0], q[1], 10, 0));
    close(r[0]);

    // vmsplice: user memory into the write end, out of the read end.
    struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
    show("vmsplice-in", vmsplice(p[1], iov, 2, 0));
    char a[3] = {0}, b2[6] = {0};
    struct iovec out[2] = {{a, 2}, {b2, 5}};
    show("vmsplice-out", vmsplice(p[0], out, 2, 0));
    printf("vm-got \"%s\" \"%s\"\n", a, b2);
    show_text("vm-rest", p[0], 64);
    show("vmsplice-file", vmsplice(f, iov, 2, 0));
    show("vmsplice-bad-flag", vmsplice(p[1], iov, 2, 0x100));
    show("vmsplice-too-many", vmsplice(p[1], iov, 1025, 0));
    show("vmsplice-empty-nonblock", vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK));
    show("vmsplice-zero", vmsplice(p[1], iov, 0, 0));
    show("vmsplice-bad-iov", vmsplice(p[1], (struct iovec *)8, 1, 0));
    struct iovec wild = {(void *)8, 4};
    show("vmsplice-bad-buffer", vmsplice(p[1], &wild, 1, 0));

    // sendfile.
    int s = open("sent", O_CREAT | O_RDWR | O_TRUNC, 0644);
    off = 10;
    show("sendfile-off", sendfile(s, f, &off, 100));
    printf("off-after %lld fpos %ld spos %ld\n", (long long)off, (long)lseek(f, 0, SEEK_CUR), (long)lseek(s, 0, SEEK_CUR));
    lseek(f, 4, SEEK_SET);
    show("sendfile-pos", sendfile(s, f, NULL, 3));
    printf("fpos %ld\n", (long)lseek(f, 0, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    pread(s, buf, sizeof buf - 1, 0);
    printf("sent \"%s\"\n", buf);
    int sa = open("sent", O_WRONLY | O_APPEND);
    show("sendfile-append", sendfile(sa, f, NULL, 1));
    close(sa);
    off = -5;
    show("sendfile-neg-off", sendfile(s, f, &off, 1));
    show("sendfile-to-pipe", sendfile(p[1], f, NULL, 2));
    show_text("pipe-has", p[0], 64);
    write(p[1], "piped", 5);
    show("sendfile-from-pipe", sendfile(s, p[0], NULL, 5));
    off = 0;
    show("sendfile-pipe-off", sendfile(s, p[0], &off, 5));
    show("sendfile-zero", sendfile(s, f, NULL, 0));
    show("sendfile-bad-off", sendfile(s, f, (off_t *)8, 1));
    show("sendfile-huge", sendfile(s, f, NULL, (size_t)-1));
    int w2 = open("src", O_WRONLY);
    show("sendfile-wronly-in", sendfile(s, w2, NULL, 1));
    close(w2);
    show("sendfile-to-socket", sendfile(sv[0], f, NULL, 3));
    memset(buf, 0, sizeof buf);
    recv(sv[1], buf, sizeof buf, 0);
    printf("socket-got \"%s\"\n", buf);
    printf("done\n");
    return 0;
}
