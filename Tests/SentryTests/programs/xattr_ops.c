// Extended attributes as man 2 getxattr/setxattr/listxattr/removexattr describe them. Prints one line per
// check (results and errno names, lists sorted), so a native run and a Sentry run can be compared.
// Usage: xattr_ops DIR [extra]   ("extra": trusted.* and copy-up checks, for the in-memory file systems).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *en(int e) {
    switch (e) {
    case ENODATA: return "ENODATA"; case EEXIST: return "EEXIST"; case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG"; case EOPNOTSUPP: return "EOPNOTSUPP"; case EPERM: return "EPERM";
    case EACCES: return "EACCES"; case EINVAL: return "EINVAL"; case EBADF: return "EBADF";
    case ENOENT: return "ENOENT"; case EROFS: return "EROFS"; default: return strerror(e);
    }
}
static void show(const char *what, long r) {
    if (r < 0) printf("%s: %s\n", what, en(errno)); else printf("%s: %ld\n", what, r);
}
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list(const char *what, long n, char *buf) {
    if (n < 0) { show(what, n); return; }
    char *names[64]; int k = 0;
    for (char *p = buf; p < buf + n && k < 64; p += strlen(p) + 1) names[k++] = p;
    qsort(names, k, sizeof *names, cmp);
    printf("%s: %ld [", what, n);
    for (int i = 0; i < k; i++) printf("%s%s", i ? " " : "", names[i]);
    printf("]\n");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);  // the forked children print too
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 2; }
    char buf[70000], big[70000], name[300];
    close(open("f", O_CREAT | O_WRONLY, 0644));
    mkdir("d", 0755);
    symlink("f", "l");
    mkfifo("p", 0644);

    show("set", setxattr("f", "user.a", "hello", 5, 0));
    show("size query", getxattr("f", "user.a", NULL, 0));
    show("small buffer", getxattr("f", "user.a", buf, 2));
    long n = getxattr("f", "user.a", buf, sizeof buf);
    printf("get: %ld %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    show("create existing", setxattr("f", "user.a", "x", 1, XATTR_CREATE));
    show("replace missing", setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
    show("replace", setxattr("f", "user.a", "xy", 2, XATTR_REPLACE));
    n = getxattr("f", "user.a", buf, sizeof buf);
    printf("get replaced: %ld %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    show("create new", setxattr("f", "user.b", "", 0, XATTR_CREATE));
    show("empty value", getxattr("f", "user.b", buf, sizeof buf));
    show("bad flags", setxattr("f", "user.c", "x", 1, 4));
    memset(name, 'n', sizeof name); memcpy(name, "user.", 5); name[256] = 0;
    show("long name set", setxattr("f", name, "x", 1, 0));
    show("long name get", getxattr("f", name, buf, sizeof buf));
    name[255] = 0;
    long r = setxattr("f", name, "x", 1, 0);
    show("255-byte name", r < 0 && errno != ENOSPC ? r : 0);
    if (r == 0) removexattr("f", name);
    show("empty name", getxattr("f", "", buf, sizeof buf));
    memset(big, 'v', sizeof big);
    show("value too big", setxattr("f", "user.big", big, 65537, 0));
    show("unknown namespace set", setxattr("f", "foo.bar", "x", 1, 0));
    show("unknown namespace get", getxattr("f", "foo.bar", buf, sizeof buf));
    show("system get", getxattr("f", "system.nothing", buf, sizeof buf));
    show("missing", getxattr("f", "user.none", buf, sizeof buf));
    show("set 2000", setxattr("f", "user.k", big, 2000, 0));
    show("get 2000", getxattr("f", "user.k", buf, sizeof buf));
    show("remove k", removexattr("f", "user.k"));

    list("list", listxattr("f", buf, sizeof buf), buf);
    show("list size", listxattr("f", NULL, 0));
    show("list small", listxattr("f", buf, 3));

    show("symlink lset", lsetxattr("l", "user.a", "x", 1, 0));
    show("symlink lget", lgetxattr("l", "user.a", buf, sizeof buf));
    n = getxattr("l", "user.a", buf, sizeof buf);
    printf("symlink followed: %ld %.*s\n", n, (int)(n > 0 ? n : 0), buf);
    list("symlink llist", llistxattr("l", buf, sizeof buf), buf);
    show("symlink lremove", lremovexattr("l", "user.a"));

    show("dir set", setxattr("d", "user.dir", "1", 1, 0));
    list("dir list", listxattr("d", buf, sizeof buf), buf);
    show("fifo set", setxattr("p", "user.a", "1", 1, 0));
    show("fifo get", getxattr("p", "user.a", buf, sizeof buf));

    int fd = open("f", O_RDONLY);
    show("fset", fsetxattr(fd, "user.fd", "fd", 2, 0));
    show("fget", fgetxattr(fd, "user.fd", buf, sizeof buf));
    list("flist", flistxattr(fd, buf, sizeof buf), buf);
    show("fremove", fremovexattr(fd, "user.fd"));
    show("fremove again", fremovexattr(fd, "user.fd"));
    close(fd);
    fd = open("f", O_PATH);
    show("O_PATH fget", fgetxattr(fd, "user.a", buf, sizeof buf));
    close(fd);
    show("bad fd", fgetxattr(999, "user.a", buf, sizeof buf));

    show("remove", removexattr("f", "user.a"));
    show("remove again", removexattr("f", "user.a"));
    show("get removed", getxattr("f", "user.a", buf, sizeof buf));
    show("no file", getxattr("nofile", "user.a", buf, sizeof buf));
    show("proc get", getxattr("/proc/self/status", "user.a", buf, sizeof buf));
    list("proc list", listxattr("/proc/self/status", buf, sizeof buf), buf);
    show("dev get", getxattr("/dev/null", "user.a", buf, sizeof buf));

    // Permissions: without write access no set, with read access get works.
    setxattr("f", "user.perm", "p", 1, 0);
    pid_t child = fork();
    if (child == 0) {
        if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) { perror("setuid"); _exit(1); }
        show("unprivileged set", setxattr("f", "user.perm", "q", 1, 0));
        show("unprivileged get", getxattr("f", "user.perm", buf, sizeof buf));
        show("unprivileged remove", removexattr("f", "user.perm"));
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);

    if (argc > 2 && strcmp(argv[2], "extra") == 0) {
        show("trusted set", setxattr("f", "trusted.t", "t", 1, 0));
        list("list with trusted", listxattr("f", buf, sizeof buf), buf);
        child = fork();
        if (child == 0) {
            if (setresuid(65534, 65534, 65534) != 0) _exit(1);
            list("list unprivileged", listxattr("f", buf, sizeof buf), buf);
            show("trusted get unprivileged", getxattr("f", "trusted.t", buf, sizeof buf));
            _exit(0);
        }
        waitpid(child, &status, 0);
        show("value 65536", setxattr("f", "user.max", big, 65536, 0));
        show("get 65536", getxattr("f", "user.max", buf, sizeof buf));
        if (argc > 3) {  // a file of the image with user.host set on the host: copied up with it
            show("lower get", getxattr(argv[3], "user.host", buf, sizeof buf));
            show("lower set", setxattr(argv[3], "user.new", "n", 1, 0));
            list("copied up", listxattr(argv[3], buf, sizeof buf), buf);
        }
    }
    return 0;
}
