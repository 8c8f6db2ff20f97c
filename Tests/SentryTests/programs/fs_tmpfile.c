// O_TMPFILE, run natively and on the Sentry in an empty directory given as argv[1] (the overlay root or a
// tmpfs): each line is "NAME RESULT"; the outputs must match.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EINVAL: return "EINVAL"; case EBADF: return "EBADF"; case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR"; case EISDIR: return "EISDIR"; case EOPNOTSUPP: return "EOPNOTSUPP";
    case EEXIST: return "EEXIST"; case EACCES: return "EACCES"; case EROFS: return "EROFS";
    default: { static char b[32]; snprintf(b, sizeof b, "errno%d", e); return b; }
    }
}

static void show(const char *name, long r) {
    if (r < 0) printf("%s %s\n", name, ename(errno));
    else printf("%s ok\n", name);
}

static int entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void content(const char *name, const char *path) {
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("%s %s\n", name, ename(errno)); return; }
    read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s \"%s\"\n", name, buf);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) { perror("setup"); return 99; }
    umask(022);
    mkdir("d", 0755);
    close(open("d/file", O_CREAT | O_WRONLY, 0644));

    show("rdonly", open("d", O_TMPFILE | O_RDONLY, 0600));
    show("no-directory-bit", open("d", 020000000 | O_RDWR, 0600));
    show("with-creat", open("d", O_TMPFILE | O_CREAT | O_RDWR, 0600));
    show("on-file", open("d/file", O_TMPFILE | O_RDWR, 0600));
    show("missing-dir", open("nope", O_TMPFILE | O_RDWR, 0600));

    int fd = open("d", O_TMPFILE | O_RDWR, 0666);
    show("open", fd);
    struct stat st;
    fstat(fd, &st);
    printf("nlink %lu mode %o size %ld regular %d\n", (unsigned long)st.st_nlink, st.st_mode & 07777, (long)st.st_size, S_ISREG(st.st_mode));
    printf("write %ld\n", (long)write(fd, "data", 4));
    printf("entries %d\n", entries("d"));
    show("link-empty-path", linkat(fd, "", AT_FDCWD, "d/named", AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("nlink-after %lu entries %d\n", (unsigned long)st.st_nlink, entries("d"));
    content("named", "d/named");
    show("link-again", linkat(fd, "", AT_FDCWD, "d/named2", AT_EMPTY_PATH));
    fstat(fd, &st);
    printf("nlink-twice %lu\n", (unsigned long)st.st_nlink);
    show("link-existing-name", linkat(fd, "", AT_FDCWD, "d/named", AT_EMPTY_PATH));
    close(fd);

    // Through /proc/self/fd/N with AT_SYMLINK_FOLLOW.
    int fd2 = open("d", O_TMPFILE | O_WRONLY, 0640);
    write(fd2, "proc", 4);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd2);
    show("link-proc-fd", linkat(AT_FDCWD, link, AT_FDCWD, "d/viaproc", AT_SYMLINK_FOLLOW));
    content("viaproc", "d/viaproc");
    struct stat vs;
    stat("d/viaproc", &vs);
    printf("viaproc mode %o\n", vs.st_mode & 07777);
    close(fd2);

    // O_EXCL: never linkable. A file unlinked while open cannot come back either.
    int fd3 = open("d", O_TMPFILE | O_RDWR | O_EXCL, 0600);
    show("open-excl", fd3);
    show("link-excl", linkat(fd3, "", AT_FDCWD, "d/excl", AT_EMPTY_PATH));
    close(fd3);
    int fd4 = open("d/gone", O_CREAT | O_RDWR, 0644);
    unlink("d/gone");
    show("link-unlinked", linkat(fd4, "", AT_FDCWD, "d/back", AT_EMPTY_PATH));
    close(fd4);

    // A tmpfile that is never linked leaves nothing behind.
    int fd5 = open("d", O_TMPFILE | O_RDWR, 0600);
    write(fd5, "lost", 4);
    close(fd5);
    printf("entries-end %d\n", entries("d"));
    show("proc", open("/proc", O_TMPFILE | O_RDWR, 0600));
    printf("done\n");
    return 0;
}
