// inotify(7), run natively and on the Sentry in an empty directory given as argv[1]: every event read is
// printed ("ev WD MASK cookie=N name=NAME", cookies numbered in order of appearance) with every syscall
// result; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

static const char *ename(int e) {
    switch (e) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case EAGAIN: return "EAGAIN";
    case ENOENT: return "ENOENT"; case ENOTDIR: return "ENOTDIR"; case EEXIST: return "EEXIST";
    case EACCES: return "EACCES"; case EFAULT: return "EFAULT"; case ENOSYS: return "ENOSYS";
    default: { static char b[32]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

static void show(const char *name, long r) {
    if (r < 0) printf("%s %s\n", name, ename(errno));
    else printf("%s %ld\n", name, r);
}

static const struct { unsigned bit; const char *name; } names[] = {
    {IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
    {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
    {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
    {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
};

static unsigned cookies[64];
static int ncookies;

static int cookie_number(unsigned c) {
    if (c == 0) return 0;
    for (int i = 0; i < ncookies; i++) if (cookies[i] == c) return i + 1;
    if (ncookies < 64) cookies[ncookies++] = c;
    return ncookies;
}

// Reads and prints every queued event (the descriptor must be non-blocking). Returns how many.
static int drain(int in, const char *label) {
    char buf[65536] __attribute__((aligned(8)));
    int count = 0;
    printf("-- %s\n", label);
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) { if (errno != EAGAIN) printf("read %s\n", ename(errno)); break; }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            char mask[256] = "";
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (e->mask & names[i].bit) { if (mask[0]) strcat(mask, "|"); strcat(mask, names[i].name); }
            printf("ev %d %s cookie=%d name=%s len%%16=%d\n", e->wd, mask, cookie_number(e->cookie),
                   e->len ? e->name : "-", (int)(e->len % 16));
            p += sizeof *e + e->len;
            count++;
        }
    }
    return count;
}

static void touch_file(const char *p) { int fd = open(p, O_CREAT | O_WRONLY, 0644); close(fd); }
static void write_text(const char *p, const char *t) { int fd = open(p, O_CREAT | O_WRONLY, 0644); write(fd, t, strlen(t)); close(fd); }

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) { perror("setup"); return 99; }
    char buf[4096];

    // inotify_init1 flags.
    show("init1-bad-flag", inotify_init1(0x1));
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    printf("cloexec %d nonblock %d\n", (fcntl(in, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(in, F_GETFL) & O_NONBLOCK) != 0);
    show("read-empty", read(in, buf, sizeof buf));
    int old = inotify_init();
    printf("init-blocking %d\n", old >= 0 && (fcntl(old, F_GETFL) & O_NONBLOCK) == 0);
    close(old);

    // add_watch argument checks.
    mkdir("d", 0755);
    touch_file("d/f");
    symlink("f", "d/link");
    show("watch-mask-zero", inotify_add_watch(in, "d", 0));
    show("watch-missing", inotify_add_watch(in, "nope", IN_ALL_EVENTS));
    show("watch-not-inotify", inotify_add_watch(1, "d", IN_ALL_EVENTS));
    show("watch-bad-fd", inotify_add_watch(-1, "d", IN_ALL_EVENTS));
    show("watch-bad-path", inotify_add_watch(in, (const char *)8, IN_ALL_EVENTS));
    show("watch-empty-path", inotify_add_watch(in, "", IN_ALL_EVENTS));
    show("watch-onlydir-file", inotify_add_watch(in, "d/f", IN_MODIFY | IN_ONLYDIR));
    show("watch-create-and-add", inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
    int wd = inotify_add_watch(in, "d", IN_ALL_EVENTS);
    show("watch-dir", wd);
    show("watch-dir-again", inotify_add_watch(in, "d", IN_ALL_EVENTS));
    show("watch-mask-create-existing", inotify_add_watch(in, "d", IN_ALL_EVENTS | IN_MASK_CREATE));
    show("watch-onlydir-dir", inotify_add_watch(in, "d", IN_ALL_EVENTS | IN_ONLYDIR));
    drain(in, "nothing yet");

    // Events in a watched directory.
    int fd = open("d/a", O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    write(fd, "y", 1);  // identical to the one before: coalesced
    close(fd);
    fd = open("d/a", O_RDONLY);
    read(fd, buf, 1);
    read(fd, buf, 1);  // end of file: no event
    close(fd);
    chmod("d/a", 0600);
    truncate("d/a", 0);
    utimensat(AT_FDCWD, "d/a", NULL, 0);
    fd = open("d/a", O_WRONLY | O_TRUNC);
    close(fd);
    mkdir("d/sub", 0755);
    rename("d/a", "d/b");
    link("d/b", "d/c");
    unlink("d/c");
    rmdir("d/sub");
    mknod("d/fifo", S_IFIFO | 0644, 0);
    symlink("b", "d/sym");
    DIR *dir = opendir("d");
    while (readdir(dir)) {}
    closedir(dir);
    int path = open("d/b", O_PATH);
    close(path);
    drain(in, "directory events");

    // FIONREAD and poll.
    touch_file("d/b");
    int queued = -1;
    ioctl(in, FIONREAD, &queued);
    printf("fionread %d\n", queued);
    struct pollfd pfd = {in, POLLIN, 0};
    int ready = poll(&pfd, 1, 0);
    printf("poll %d revents %x\n", ready, pfd.revents);
    int ep = epoll_create1(0);
    struct epoll_event ee = {.events = EPOLLIN, .data.u32 = 7}, got = {0};
    epoll_ctl(ep, EPOLL_CTL_ADD, in, &ee);
    ready = epoll_wait(ep, &got, 1, 0);
    printf("epoll %d data %u events %x\n", ready, got.data.u32, got.events);
    show("read-too-small", read(in, buf, 16));
    show("read-header-only", read(in, buf, sizeof(struct inotify_event)));
    drain(in, "after fionread");
    pfd.revents = 0;
    printf("poll-empty %d\n", poll(&pfd, 1, 0));
    printf("epoll-empty %d\n", epoll_wait(ep, &got, 1, 0));
    close(ep);

    // A watch on a file as well as its directory; IN_DONT_FOLLOW watches the link itself.
    int wf = inotify_add_watch(in, "d/f", IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_CLOSE_WRITE);
    show("watch-file", wf);
    show("watch-through-link", inotify_add_watch(in, "d/link", IN_MODIFY | IN_MASK_ADD));
    int wl = inotify_add_watch(in, "d/link", IN_ATTRIB | IN_DONT_FOLLOW);
    show("watch-link-itself", wl);
    fd = open("d/f", O_WRONLY);
    write(fd, "z", 1);
    close(fd);
    chmod("d/link", 0640);
    drain(in, "file and directory watches");

    // IN_ONESHOT, IN_MASK_ADD, rm_watch.
    touch_file("d/one");
    int wo = inotify_add_watch(in, "d/one", IN_MODIFY | IN_ONESHOT);
    fd = open("d/one", O_WRONLY);
    write(fd, "1", 1);
    lseek(fd, 0, SEEK_SET);
    write(fd, "22", 2);
    close(fd);
    drain(in, "oneshot");
    show("rm-oneshot-gone", inotify_rm_watch(in, wo));
    show("rm-link-watch", inotify_rm_watch(in, wl));
    show("rm-again", inotify_rm_watch(in, wl));
    show("rm-not-inotify", inotify_rm_watch(1, wd));
    show("rm-bad-fd", inotify_rm_watch(-1, wd));
    drain(in, "after rm_watch");

    // Self events: a moved directory, a deleted file (closed, then while open).
    mkdir("d/mv", 0755);
    int wm = inotify_add_watch(in, "d/mv", IN_MOVE_SELF | IN_DELETE_SELF);
    show("watch-mv", wm);
    rename("d/mv", "d/mv2");
    rmdir("d/mv2");
    unlink("d/f");
    drain(in, "self events");
    touch_file("d/open");
    int wopen = inotify_add_watch(in, "d/open", IN_ALL_EVENTS);
    fd = open("d/open", O_RDWR);
    drain(in, "open before unlink");
    unlink("d/open");
    write(fd, "w", 1);
    drain(in, "unlinked while open");
    close(fd);
    drain(in, "closed after unlink");
    (void)wopen;

    // IN_EXCL_UNLINK: no events for a child after it left the directory.
    int in2 = inotify_init1(IN_NONBLOCK);
    mkdir("e", 0755);
    touch_file("e/x");
    touch_file("e/y");
    inotify_add_watch(in2, "e", IN_MODIFY | IN_EXCL_UNLINK);
    int fx = open("e/x", O_WRONLY), fy = open("e/y", O_WRONLY);
    write(fx, "a", 1);
    unlink("e/x");
    write(fx, "b", 1);
    write(fy, "c", 1);
    close(fx); close(fy);
    drain(in2, "excl_unlink");

    // A rename over an existing file, and a move between directories.
    mkdir("e/to", 0755);
    touch_file("e/y2");
    inotify_add_watch(in2, "e", IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CREATE | IN_MASK_ADD);
    inotify_add_watch(in2, "e/to", IN_ALL_EVENTS);
    int wy = inotify_add_watch(in2, "e/y", IN_ALL_EVENTS);
    inotify_add_watch(in2, "e/y2", IN_MOVE_SELF | IN_ATTRIB);
    rename("e/y2", "e/y");
    rename("e/y", "e/to/z");
    drain(in2, "rename over and across");
    (void)wy;

    // splice, sendfile and copy_file_range read one file and modify another.
    int in5 = inotify_init1(IN_NONBLOCK);
    write_text("e/from", "0123456789");
    touch_file("e/to2");
    inotify_add_watch(in5, "e", IN_ACCESS | IN_MODIFY);
    int src = open("e/from", O_RDONLY), dst = open("e/to2", O_WRONLY), tp[2];
    pipe(tp);
    splice(src, NULL, tp[1], NULL, 4, 0);
    splice(tp[0], NULL, dst, NULL, 4, 0);
    sendfile(dst, src, NULL, 2);
    loff_t o1 = 0, o2 = 0;
    copy_file_range(src, &o1, dst, &o2, 3, 0);
    close(src); close(dst); close(tp[0]); close(tp[1]);
    drain(in5, "transfers");
    close(in5);

    // A blocking read waits for an event made by another process.
    int in3 = inotify_init();
    inotify_add_watch(in3, "e", IN_CREATE);
    pid_t child = fork();
    if (child == 0) { usleep(50000); touch_file("e/late"); _exit(0); }
    ssize_t n = read(in3, buf, sizeof buf);
    struct inotify_event *ev = (struct inotify_event *)buf;
    printf("blocking-read %d %s %x\n", n > 0, n > 0 ? ev->name : "-", n > 0 ? ev->mask : 0);
    waitpid(child, NULL, 0);
    close(in3);

    // Queue overflow: more events than /proc/sys/fs/inotify/max_queued_events.
    int in4 = inotify_init1(IN_NONBLOCK);
    touch_file("e/ov");
    inotify_add_watch(in4, "e/ov", IN_OPEN | IN_CLOSE);
    for (int i = 0; i < 8300; i++) { fd = open("e/ov", O_RDONLY); close(fd); }
    int total = 0, overflow = 0, last_wd = 0;
    for (;;) {
        n = read(in4, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            ev = (struct inotify_event *)p;
            total++;
            if (ev->mask & IN_Q_OVERFLOW) { overflow++; last_wd = ev->wd; }
            p += sizeof *ev + ev->len;
        }
    }
    printf("overflow total %d overflow-events %d wd %d\n", total, overflow, last_wd);
    close(in4);

    // Closing the instance drops its watches silently.
    close(in);
    close(in2);
    printf("done\n");
    return 0;
}
