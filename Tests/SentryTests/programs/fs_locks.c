// Advisory locks between processes: fcntl record locks (F_SETLK/F_SETLKW/F_GETLK, OFD locks) and flock.
// Run natively and on the Sentry on a file named by argv[1]; prints "ok NAME" / "FAIL NAME"; outputs must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
static void check(const char *name, int ok) {
    if (ok) printf("ok %s\n", name);
    else { printf("FAIL %s (errno %d)\n", name, errno); failures++; }
    fflush(stdout);
}

static int lock_range(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

int main(int argc, char **argv) {
    if (argc < 2) return 99;
    const char *path = argv[1];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror("open"); return 99; }
    int go[2], done[2];
    if (pipe(go) || pipe(done)) return 99;
    char c;

    check("parent-write-lock", lock_range(fd, F_SETLK, F_WRLCK, 0, 10) == 0);
    pid_t child = fork();
    if (child == 0) {
        int cfd = open(path, O_RDWR);
        errno = 0;
        check("child-conflict-eagain", lock_range(cfd, F_SETLK, F_WRLCK, 5, 1) < 0 && (errno == EAGAIN || errno == EACCES));
        struct flock q = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        check("child-getlk", fcntl(cfd, F_GETLK, &q) == 0 && q.l_type == F_WRLCK && q.l_start == 0 && q.l_len == 10 && q.l_pid == getppid());
        check("child-other-range", lock_range(cfd, F_SETLK, F_WRLCK, 20, 10) == 0);
        struct flock free_q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 40, .l_len = 5};
        check("child-getlk-free", fcntl(cfd, F_GETLK, &free_q) == 0 && free_q.l_type == F_UNLCK);
        write(go[1], "1", 1);
        // Blocks until the parent closes a descriptor of the file (which drops all its record locks).
        check("child-setlkw-waits", lock_range(cfd, F_SETLKW, F_WRLCK, 0, 10) == 0);
        errno = 0;
        check("child-flock-busy", flock(cfd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
        write(go[1], "2", 1);
        check("child-flock-waits", flock(cfd, LOCK_EX) == 0);
        _exit(failures);
    }
    read(go[0], &c, 1);
    errno = 0;
    check("parent-conflict-child-range", lock_range(fd, F_SETLK, F_RDLCK, 25, 1) < 0 && (errno == EAGAIN || errno == EACCES));
    check("parent-flock", flock(fd, LOCK_EX) == 0);
    usleep(100000);
    int other = open(path, O_RDONLY);
    close(other);  // closing any descriptor of the file releases this process's record locks
    read(go[0], &c, 1);
    usleep(100000);
    int unlocked = flock(fd, LOCK_UN) == 0;
    int status = 0;
    waitpid(child, &status, 0);
    check("parent-flock-unlock", unlocked);
    check("child-passed", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // OFD locks belong to the open file description: two opens in one process conflict.
    int a = open(path, O_RDWR), b = open(path, O_RDWR);
    struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    check("ofd-first", fcntl(a, F_OFD_SETLK, &ofd) == 0);
    errno = 0;
    check("ofd-second-conflicts", fcntl(b, F_OFD_SETLK, &ofd) < 0 && errno == EAGAIN);
    close(a);
    check("ofd-released-on-close", fcntl(b, F_OFD_SETLK, &ofd) == 0);
    // Shared flocks coexist.
    int s1 = open(path, O_RDONLY), s2 = open(path, O_RDONLY);
    check("flock-shared", flock(s1, LOCK_SH) == 0 && flock(s2, LOCK_SH | LOCK_NB) == 0);
    errno = 0;
    check("flock-ex-vs-shared", flock(b, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
    errno = 0;
    check("flock-bad-op", flock(s1, 0) < 0 && errno == EINVAL);
    errno = 0;
    check("setlk-bad-type", lock_range(b, F_SETLK, 7, 0, 1) < 0 && errno == EINVAL);
    errno = 0;
    check("setlk-write-on-readonly-fd", lock_range(s1, F_SETLK, F_WRLCK, 0, 1) < 0 && errno == EBADF);
    printf("done %d\n", failures);
    return failures ? 1 : 0;
}
