// Resource limits the kernel enforces: RLIMIT_NOFILE (EMFILE), RLIMIT_AS (mmap ENOMEM), RLIMIT_NPROC (fork
// EAGAIN for an unprivileged user), and raising a hard limit without privilege (EPERM).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    struct rlimit r = { 10, 10 };
    setrlimit(RLIMIT_NOFILE, &r);
    int last = -1, err = 0;
    for (int i = 0; i < 20; i++) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) { err = errno; break; }
        last = fd;
    }
    printf("nofile: last=%d emfile=%d\n", last, err == EMFILE);
    fflush(stdout);

    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit as = { 256 << 20, 256 << 20 };
        setrlimit(RLIMIT_AS, &as);
        void *p = mmap(NULL, 512 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        printf("as: enomem=%d\n", p == MAP_FAILED && errno == ENOMEM);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);

    pid = fork();
    if (pid == 0) {
        struct rlimit np = { 1, 1 };
        setrlimit(RLIMIT_NPROC, &np);
        setuid(1000);
        pid_t c = fork();
        if (c == 0) _exit(0);
        printf("nproc: eagain=%d\n", c < 0 && errno == EAGAIN);
        struct rlimit up = { 5, 5 };
        printf("raise hard: eperm=%d\n", setrlimit(RLIMIT_NPROC, &up) < 0 && errno == EPERM);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    return 0;
}
