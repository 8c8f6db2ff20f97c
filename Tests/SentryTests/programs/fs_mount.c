// mount(2)/umount2(2) in a container, run natively (in a new mount namespace) and on the Sentry in an
// empty directory given as argv[1]: each line is "NAME RESULT", and the mount table is printed for the
// mounts below that directory, with the directory shown as "."; the outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[4096];

static const char *ename(int e) {
    switch (e) {
    case EINVAL: return "EINVAL"; case EPERM: return "EPERM"; case ENOENT: return "ENOENT"; case ENOTDIR: return "ENOTDIR";
    case EBUSY: return "EBUSY"; case ENODEV: return "ENODEV"; case EROFS: return "EROFS"; case EACCES: return "EACCES";
    case EAGAIN: return "EAGAIN"; case ENOSPC: return "ENOSPC"; case EFAULT: return "EFAULT"; case EBADF: return "EBADF";
    default: { static char b[32]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

static void show(const char *name, long r) {
    if (r < 0) printf("%s %s\n", name, ename(errno));
    else printf("%s %ld\n", name, r);
}

// The mounts below the test directory, in table order: "path type options", then mountinfo's root, its
// parent's path and device (as letters in order of appearance).
static void table(const char *label) {
    char line[4096], devs[32][32];
    int ndevs = 0;
    size_t n = strlen(base);
    printf("-- %s\n", label);
    FILE *f = fopen("/proc/self/mounts", "r");
    while (fgets(line, sizeof line, f)) {
        char src[256], point[1024], type[64], opts[512];
        if (sscanf(line, "%255s %1023s %63s %511s", src, point, type, opts) != 4) continue;
        if (strncmp(point, base, n) == 0 && (point[n] == '/' || point[n] == 0))
            printf("mount .%s %s %s %s\n", point + n, src, type, opts);
    }
    fclose(f);
    // mountinfo: id parent major:minor root point ...
    int ids[256], nids = 0;
    char points[256][256];
    f = fopen("/proc/self/mountinfo", "r");
    while (fgets(line, sizeof line, f)) {
        int id, parent;
        char dev[32], root[512], point[1024], opts[512];
        if (sscanf(line, "%d %d %31s %511s %1023s %511s", &id, &parent, dev, root, point, opts) != 6) continue;
        if (nids < 256) { ids[nids] = id; snprintf(points[nids], sizeof points[nids], "%.255s", point); nids++; }
        if (strncmp(point, base, n) != 0 || (point[n] != '/' && point[n] != 0)) continue;
        const char *parentPoint = "?";
        for (int i = 0; i < nids; i++) if (ids[i] == parent) parentPoint = points[i];
        int d = 0;
        while (d < ndevs && strcmp(devs[d], dev) != 0) d++;
        if (d == ndevs && ndevs < 32) snprintf(devs[ndevs++], 32, "%s", dev);
        const char *rootShown = strncmp(root, base, n) == 0 ? root + n : root;
        printf("info .%s root=%s dev=%c parent=%s%s %s\n", point + n, rootShown, 'A' + d,
               strncmp(parentPoint, base, n) == 0 ? "." : "", strncmp(parentPoint, base, n) == 0 ? parentPoint + n : "outside", opts);
    }
    fclose(f);
}

static void write_file(const char *p, const char *text) {
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    if (fd >= 0) { write(fd, text, strlen(text)); close(fd); }
}

static void read_file(const char *name, const char *p) {
    char buf[128] = {0};
    int fd = open(p, O_RDONLY);
    if (fd < 0) { printf("%s %s\n", name, ename(errno)); return; }
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s \"%s\"\n", name, buf);
}

static void copy_self(const char *to) {
    int in = open("/proc/self/exe", O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, n);
    close(in); close(out);
}

// Runs `path --child` and reports whether it ran or the errno of execv.
static void try_exec(const char *name, const char *path) {
    int pfd[2];
    pipe(pfd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        char *args[] = {(char *)path, "--child", NULL};
        execv(path, args);
        int e = errno;
        write(pfd[1], &e, sizeof e);
        _exit(1);
    }
    close(pfd[1]);
    int e = 0, status;
    ssize_t got = read(pfd[0], &e, sizeof e);
    close(pfd[0]);
    waitpid(pid, &status, 0);
    if (got == sizeof e) printf("%s %s\n", name, ename(e));
    else printf("%s ran status %d\n", name, WEXITSTATUS(status));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return 7;
    if (argc < 3) return 99;
    if (strcmp(argv[2], "native") == 0) {
        // Natively the test works in a mount namespace of its own, never on the host's mounts.
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) { printf("no-namespace\n"); return 0; }
    }
    if (chdir(argv[1]) != 0 || !getcwd(base, sizeof base)) { perror("setup"); return 99; }
    // Everything happens in a tmpfs of the test's own, so binds show the same source natively and here.
    show("tmpfs-base", mount("tmpfs-base", base, "tmpfs", 0, NULL));
    chdir(base);
    mkdir("m", 0755); mkdir("src", 0755); mkdir("src/sub", 0755); mkdir("b", 0755); mkdir("rb", 0755);
    mkdir("x", 0755); mkdir("p", 0755); mkdir("s", 0755); mkdir("y", 0755);
    write_file("src/file", "from src");
    write_file("plain", "plain file");
    write_file("over", "to be covered");

    // Only CAP_SYS_ADMIN may mount.
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setuid(65534);
        show("unprivileged-mount", mount("none", "m", "tmpfs", 0, NULL));
        show("unprivileged-umount", umount2("m", 0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    // A tmpfs with options; argument errors.
    show("tmpfs", mount("tmpfs-a", "m", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=750"));
    struct stat st;
    stat("m", &st);
    struct statfs sf;
    statfs("m", &sf);
    printf("mode %o blocks %ld bsize %ld\n", st.st_mode & 07777, (long)sf.f_blocks, (long)sf.f_bsize);
    static char big[100000];
    int fd = open("m/big", O_CREAT | O_WRONLY, 0644);
    show("write-past-size", write(fd, big, sizeof big));
    close(fd);
    unlink("m/big");
    show("bad-option", mount("none", "y", "tmpfs", 0, "bogus=1"));
    show("bad-size", mount("none", "y", "tmpfs", 0, "size=abc"));
    show("unknown-type", mount("none", "y", "nosuchfs", 0, NULL));
    show("missing-target", mount("none", "nope", "tmpfs", 0, NULL));
    show("file-target", mount("none", "plain", "tmpfs", 0, NULL));
    show("bad-target-pointer", mount("none", (const char *)8, "tmpfs", 0, NULL));
    show("bad-type-pointer", mount("none", "y", (const char *)8, 0, NULL));
    show("bad-data-pointer", mount("none", "y", "tmpfs", 0, (const void *)8));
    show("umount-bad-pointer", umount2((const char *)8, 0));
    show("magic-flags", mount("none", "y", "tmpfs", 0xC0ED0000 | MS_NOATIME, "mode=700"));
    table("after tmpfs");

    // Remount read-only: refused while a file is open for writing.
    write_file("m/f", "in m");
    fd = open("m/f", O_WRONLY);
    show("remount-ro-busy", mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
    close(fd);
    show("remount-ro", mount(NULL, "m", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
    show("write-ro", open("m/new", O_CREAT | O_WRONLY, 0644));
    statfs("m", &sf);
    printf("statfs-flags %lx\n", (unsigned long)sf.f_flags);
    read_file("read-ro", "m/f");
    show("remount-rw", mount(NULL, "m", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL));
    fd = open("m/new", O_CREAT | O_WRONLY, 0644);
    show("write-rw", fd);
    close(fd);
    show("remount-not-mountpoint", mount(NULL, "src", NULL, MS_REMOUNT, NULL));
    table("after remounts");

    // Bind mounts: a directory, a file, recursively.
    show("tmpfs-in-src", mount("tmpfs-sub", "src/sub", "tmpfs", 0, NULL));
    write_file("src/sub/inner", "inner");
    show("bind", mount("src", "b", NULL, MS_BIND, NULL));
    read_file("bind-read", "b/file");
    read_file("bind-no-submount", "b/sub/inner");
    show("rbind", mount("src", "rb", NULL, MS_BIND | MS_REC, NULL));
    read_file("rbind-submount", "rb/sub/inner");
    show("bind-file", mount("plain", "over", NULL, MS_BIND, NULL));
    read_file("bind-file-read", "over");
    show("bind-dir-on-file", mount("src", "plain", NULL, MS_BIND, NULL));
    show("bind-missing", mount("nope", "y", NULL, MS_BIND, NULL));
    write_file("b/via-bind", "written through b");
    read_file("seen-in-src", "src/via-bind");
    show("remount-bind-ro", mount(NULL, "b", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
    show("write-bind-ro", open("b/other", O_CREAT | O_WRONLY, 0644));
    fd = open("src/other", O_CREAT | O_WRONLY, 0644);
    show("write-src-still-rw", fd);
    close(fd);
    mkdir("src/inner", 0755);
    show("rbind-into-itself", mount("src", "src/inner", NULL, MS_BIND | MS_REC, NULL));
    read_file("rbind-itself-sub", "src/inner/sub/inner");
    show("rbind-itself-no-loop", access("src/inner/inner/file", F_OK));
    show("private", mount(NULL, "b", NULL, MS_PRIVATE, NULL));
    show("private-not-mountpoint", mount(NULL, "src/file", NULL, MS_PRIVATE, NULL));
    table("after binds");

    // noexec and nodev.
    show("tmpfs-noexec", mount("none", "x", "tmpfs", MS_NOEXEC, NULL));
    copy_self("x/prog");
    copy_self("prog");
    try_exec("exec-noexec", "x/prog");
    try_exec("exec-plain", "./prog");
    int pfd = open("x/prog", O_RDONLY);
    void *code = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, pfd, 0);
    show("mmap-exec-noexec", code == MAP_FAILED ? -1 : 0);
    void *data = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, pfd, 0);
    show("mmap-read-noexec", data == MAP_FAILED ? -1 : 0);
    if (data != MAP_FAILED) munmap(data, 4096);
    close(pfd);
    write_file("null", "");
    show("bind-devnull", mount("/dev/null", "null", NULL, MS_BIND, NULL));
    fd = open("null", O_WRONLY);
    show("open-dev", fd);
    close(fd);
    show("remount-nodev", mount(NULL, "null", NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL));
    show("open-nodev", open("null", O_WRONLY));
    show("umount-devnull", umount2("null", 0));

    // proc.
    show("proc", mount("proc", "p", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
    show("proc-self", stat("p/self/status", &st));
    table("after proc");

    // Watches on an unmounted file system end with IN_UNMOUNT.
    mkdir("w", 0755);
    mount("none", "w", "tmpfs", 0, NULL);
    write_file("w/f", "watched");
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "w", IN_ALL_EVENTS);
    inotify_add_watch(in, "w/f", IN_MODIFY);
    inotify_add_watch(in, ".", IN_DELETE);
    show("umount-watched", umount2("w", 0));
    char evbuf[4096] __attribute__((aligned(8)));
    ssize_t got = read(in, evbuf, sizeof evbuf);
    for (char *p = evbuf; got > 0 && p < evbuf + got;) {
        struct inotify_event *e = (struct inotify_event *)p;
        printf("event wd %d mask %x\n", e->wd, e->mask);
        p += sizeof *e + e->len;
    }
    close(in);

    // umount2.
    show("umount-bad-flags", umount2("m", 0x100));
    show("umount-expire-detach", umount2("m", MNT_EXPIRE | MNT_DETACH));
    show("umount-not-mountpoint", umount2("src", 0));
    show("umount-missing", umount2("nope", 0));
    chdir("m");
    show("umount-cwd-busy", umount2(".", 0));
    chdir(base);
    fd = open("m/f", O_RDONLY);
    show("umount-open-busy", umount2("m", 0));
    show("umount-force-busy", umount2("m", MNT_FORCE));
    show("umount-detach", umount2("m", MNT_DETACH));
    char buf[16] = {0};
    show("read-after-detach", read(fd, buf, sizeof buf - 1));
    close(fd);
    show("m-now-empty", access("m/f", F_OK));
    show("umount-rbind-child-busy", umount2("rb", 0));
    show("umount-rbind-detach", umount2("rb", MNT_DETACH));
    symlink("b", "blink");
    show("umount-nofollow-link", umount2("blink", UMOUNT_NOFOLLOW));
    show("umount-through-link", umount2("blink", 0));
    show("expire-first", umount2("x", MNT_EXPIRE));
    show("expire-second", umount2("x", MNT_EXPIRE));
    // Stacked mounts: the last one comes off first.
    mount("one", "s", "tmpfs", 0, NULL);
    write_file("s/which", "first");
    mount("two", "s", "tmpfs", 0, NULL);
    show("stacked-top", access("s/which", F_OK));
    show("umount-stacked", umount2("s", 0));
    read_file("stacked-below", "s/which");
    table("after umounts");
    umount2("src/inner", MNT_DETACH);
    umount2("s", 0); umount2("p", 0); umount2("over", 0); umount2("src/sub", 0); umount2("y", 0);
    table("at the end");
    chdir("/");
    show("umount-base", umount2(base, 0));
    table("gone");
    printf("done\n");
    return 0;
}
