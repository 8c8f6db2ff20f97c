// File-system syscall semantics, run natively and on the Sentry (overlay and write-through) in an empty
// directory given as argv[1]: every check prints "ok NAME" or "FAIL NAME: detail"; the outputs must match.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static int failures;
static void check(const char *name, int ok, const char *detail) {
    if (ok) printf("ok %s\n", name);
    else { printf("FAIL %s: %s (errno %d)\n", name, detail, errno); failures++; }
}
#define CHECK(name, cond) check(name, (cond), #cond)

static long size_of_fd(int fd) { struct stat st; return fstat(fd, &st) == 0 ? (long)st.st_size : -1; }
static long size_of(const char *p) { struct stat st; return lstat(p, &st) == 0 ? (long)st.st_size : -1; }
static int mode_of(const char *p) { struct stat st; return lstat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1; }

static int has_entry(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) if (strcmp(e->d_name, name) == 0) found = 1;
    closedir(d);
    return found;
}

static int read_text(const char *p, char *buf, size_t n) {
    int fd = open(p, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r < 0) return -1;
    buf[r] = 0;
    return (int)r;
}

int main(int argc, char **argv) {
    if (argc < 2 || mkdir(argv[1], 0755) != 0 || chdir(argv[1]) != 0) { perror("setup"); return 99; }
    char buf[256];

    umask(022);
    int fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK("create", fd >= 0);
    CHECK("create-umask", mode_of("f") == 0644);
    errno = 0;
    CHECK("excl-existing", open("f", O_CREAT | O_EXCL | O_RDWR, 0644) < 0 && errno == EEXIST);
    CHECK("write", write(fd, "hello world", 11) == 11);
    CHECK("fstat-after-write", size_of_fd(fd) == 11);
    CHECK("stat-after-write", size_of("f") == 11);
    CHECK("ftruncate-shrink", ftruncate(fd, 5) == 0 && size_of_fd(fd) == 5);
    CHECK("ftruncate-grow", ftruncate(fd, 100) == 0 && size_of("f") == 100);
    CHECK("fallocate-extend", fallocate(fd, 0, 0, 200) == 0 && size_of_fd(fd) == 200);
    CHECK("truncate-path", truncate("f", 5) == 0 && size_of_fd(fd) == 5);
    errno = 0;
    CHECK("truncate-negative", truncate("f", -1) < 0 && errno == EINVAL);
    close(fd);
    int ro = open("f", O_RDONLY);
    errno = 0;
    CHECK("ftruncate-readonly-fd", ftruncate(ro, 0) < 0 && errno == EINVAL);
    close(ro);

    fd = open("f", O_WRONLY | O_APPEND);
    CHECK("append", write(fd, "!", 1) == 1 && size_of("f") == 6);
    close(fd);
    CHECK("append-content", read_text("f", buf, sizeof buf) == 6 && strcmp(buf, "hello!") == 0);
    fd = open("f", O_WRONLY | O_TRUNC);
    CHECK("o-trunc", fd >= 0 && size_of("f") == 0);
    close(fd);

    CHECK("mkdir", mkdir("d", 0777) == 0 && mode_of("d") == 0755);
    errno = 0;
    CHECK("mkdir-exists", mkdir("d", 0755) < 0 && errno == EEXIST);
    CHECK("create-in-dir", close(open("d/x", O_CREAT | O_WRONLY, 0600)) == 0);
    errno = 0;
    CHECK("rmdir-nonempty", rmdir("d") < 0 && errno == ENOTEMPTY);
    errno = 0;
    CHECK("unlink-dir", unlink("d") < 0 && errno == EISDIR);
    errno = 0;
    CHECK("rmdir-file", rmdir("f") < 0 && errno == ENOTDIR);
    CHECK("readdir-sees-new", has_entry("d", "x") == 1);

    CHECK("link", link("d/x", "hard") == 0);
    struct stat st;
    CHECK("link-nlink", stat("hard", &st) == 0 && st.st_nlink == 2);
    CHECK("unlink-one-link", unlink("d/x") == 0 && stat("hard", &st) == 0 && st.st_nlink == 1);
    CHECK("readdir-sees-removal", has_entry("d", "x") == 0);
    errno = 0;
    CHECK("link-dir", link("d", "dlink") < 0 && errno == EPERM);

    CHECK("symlink", symlink("target/none", "sl") == 0);
    ssize_t n = readlink("sl", buf, sizeof buf);
    CHECK("readlink", n == 11 && memcmp(buf, "target/none", 11) == 0);
    errno = 0;
    CHECK("create-through-dangling-excl", open("sl", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST);

    CHECK("write-a", close(open("a", O_CREAT | O_WRONLY, 0644)) == 0 && (fd = open("a", O_WRONLY)) >= 0 && write(fd, "A", 1) == 1 && close(fd) == 0);
    CHECK("write-b", (fd = open("b", O_CREAT | O_WRONLY, 0644)) >= 0 && write(fd, "BB", 2) == 2 && close(fd) == 0);
    errno = 0;
    CHECK("rename-noreplace", syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "b", 1) < 0 && errno == EEXIST);
    CHECK("rename-exchange", syscall(SYS_renameat2, AT_FDCWD, "a", AT_FDCWD, "b", 2) == 0 && size_of("a") == 2 && size_of("b") == 1);
    CHECK("rename-replace", rename("a", "b") == 0 && size_of("b") == 2 && size_of("a") == -1);
    CHECK("rename-dir", mkdir("d/sub", 0755) == 0 && rename("d", "e") == 0 && has_entry("e", "sub") == 1);
    errno = 0;
    CHECK("rename-into-self", rename("e", "e/sub/inner") < 0 && errno == EINVAL);
    errno = 0;
    CHECK("rename-dir-over-file", rename("e", "b") < 0 && errno == ENOTDIR);
    errno = 0;
    CHECK("rename-file-over-dir", rename("b", "e") < 0 && errno == EISDIR);
    errno = 0;
    CHECK("rename-missing", rename("nope", "x") < 0 && errno == ENOENT);

    CHECK("chmod", chmod("b", 0604) == 0 && mode_of("b") == 0604);
    fd = open("b", O_RDONLY);
    CHECK("fchmod", fchmod(fd, 0640) == 0 && mode_of("b") == 0640);
    close(fd);
    CHECK("chown", chown("b", 1234, 5678) == 0 && stat("b", &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678);
    CHECK("lchown-link", lchown("sl", 42, 43) == 0 && lstat("sl", &st) == 0 && st.st_uid == 42);

    struct timespec times[2] = {{1000000000, 5}, {1100000000, 7}};
    CHECK("utimensat", utimensat(AT_FDCWD, "b", times, 0) == 0 && stat("b", &st) == 0
          && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1100000000 && st.st_mtim.tv_nsec == 7);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    CHECK("utimensat-omit-now", utimensat(AT_FDCWD, "b", omit, 0) == 0 && stat("b", &st) == 0
          && st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec > 1700000000);
    struct timeval tv[2] = {{2000, 0}, {3000, 500000}};
    CHECK("utimes", utimes("b", tv) == 0 && stat("b", &st) == 0 && st.st_mtim.tv_sec == 3000 && st.st_mtim.tv_nsec == 500000000);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    errno = 0;
    CHECK("utimensat-bad-nsec", utimensat(AT_FDCWD, "b", bad, 0) < 0 && errno == EINVAL);

    CHECK("mkfifo", mkfifo("fifo", 0600) == 0 && lstat("fifo", &st) == 0 && S_ISFIFO(st.st_mode));

    int in = open("b", O_RDONLY), out = open("copy", O_CREAT | O_RDWR, 0644);
    loff_t off_in = 1, off_out = 3;
    CHECK("copy-file-range", copy_file_range(in, &off_in, out, &off_out, 10, 0) == 1 && off_in == 2 && off_out == 4
          && size_of("copy") == 4 && pread(out, buf, 4, 0) == 4 && memcmp(buf, "\0\0\0B", 4) == 0);
    errno = 0;
    CHECK("copy-file-range-flags", copy_file_range(in, NULL, out, NULL, 1, 1) < 0 && errno == EINVAL);
    close(in); close(out);

    fd = open("b", O_RDONLY);
    CHECK("unlink-open-file", unlink("b") == 0 && read(fd, buf, 2) == 2 && memcmp(buf, "BB", 2) == 0);
    close(fd);
    errno = 0;
    CHECK("unlinked-gone", access("b", F_OK) < 0 && errno == ENOENT);

    printf("done %d\n", failures);
    return failures ? 1 : 0;
}
