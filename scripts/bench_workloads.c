/* Benchmarks for `make bench`, run natively and in each sandbox. Prints one number for the chosen mode:
 *   forkexec N   µs per fork + execve(/bin/true) + wait
 *   futex N      µs per futex ping-pong round trip between two threads
 *   mmap N       ms per mmap(64 MiB) + touch every page + munmap
 *   pipe MB      MB/s through a pipe between two processes */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static _Atomic int word;
static long rounds;

static void fwait(int expected) { syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0); }
static void fwake(void) { syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *ponger(void *arg) {
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load(&word) != 1) fwait(0);
        atomic_store(&word, 0);
        fwake();
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s forkexec|futex|mmap|pipe N\n", argv[0]); return 2; }
    long n = atol(argv[2]);
    double start = now();
    if (strcmp(argv[1], "forkexec") == 0) {
        for (long i = 0; i < n; i++) {
            pid_t pid = fork();
            if (pid == 0) { execl("/bin/true", "true", (char *)NULL); _exit(127); }
            int status;
            waitpid(pid, &status, 0);
        }
        printf("%.1f\n", (now() - start) / n * 1e6);
    } else if (strcmp(argv[1], "futex") == 0) {
        rounds = n;
        pthread_t t;
        pthread_create(&t, NULL, ponger, NULL);
        start = now();
        for (long i = 0; i < n; i++) {
            atomic_store(&word, 1);
            fwake();
            while (atomic_load(&word) != 0) fwait(1);
        }
        pthread_join(t, NULL);
        printf("%.1f\n", (now() - start) / n * 1e6);
    } else if (strcmp(argv[1], "mmap") == 0) {
        size_t size = 64 << 20;
        for (long i = 0; i < n; i++) {
            char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) { perror("mmap"); return 1; }
            for (size_t off = 0; off < size; off += 4096) p[off] = 1;
            munmap(p, size);
        }
        printf("%.1f\n", (now() - start) / n * 1e3);
    } else if (strcmp(argv[1], "pipe") == 0) {
        int fds[2];
        pipe(fds);
        static char buf[65536];
        long total = n << 20;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            for (long sent = 0; sent < total; sent += sizeof buf) write(fds[1], buf, sizeof buf);
            _exit(0);
        }
        close(fds[1]);
        long got = 0;
        ssize_t r;
        while ((r = read(fds[0], buf, sizeof buf)) > 0) got += r;
        waitpid(pid, NULL, 0);
        printf("%.0f\n", got / (now() - start) / (1 << 20));
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}
