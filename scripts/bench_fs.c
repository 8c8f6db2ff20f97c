/* File-system benchmarks for `make bench`, run natively and in each sandbox. Prints one number for the mode:
 *   openstat N   ns per open + fstat + close of one existing file (/etc/passwd)
 *   statmissing N  ns per stat of a path that does not exist
 *   write MIB    MB/s writing MIB MiB sequentially to a new file in /tmp (1 MiB writes, then fsync)
 *   read MIB     MB/s reading back MIB MiB written first to a file in /tmp (1 MiB reads) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static char chunk[1 << 20];

static int write_file(const char *path, long mib) {
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) return -1;
    for (long i = 0; i < mib; i++) {
        for (size_t off = 0; off < sizeof chunk;) {
            ssize_t n = write(fd, chunk + off, sizeof chunk - off);
            if (n <= 0) { close(fd); return -1; }
            off += n;
        }
    }
    fsync(fd);
    return close(fd);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: bench_fs openstat|statmissing|write|read N\n"); return 2; }
    long n = atol(argv[2]);
    char path[64];
    snprintf(path, sizeof path, "/tmp/bench-fs-%d", (int)getpid());
    memset(chunk, 'x', sizeof chunk);
    if (strcmp(argv[1], "openstat") == 0) {
        struct stat st;
        double t0 = now();
        for (long i = 0; i < n; i++) {
            int fd = open("/etc/passwd", O_RDONLY);
            if (fd < 0 || fstat(fd, &st) != 0) return 1;
            close(fd);
        }
        printf("%.0f\n", (now() - t0) * 1e9 / n);
    } else if (strcmp(argv[1], "statmissing") == 0) {
        struct stat st;
        double t0 = now();
        for (long i = 0; i < n; i++) if (stat("/tmp/no/such/file", &st) == 0) return 1;
        printf("%.0f\n", (now() - t0) * 1e9 / n);
    } else if (strcmp(argv[1], "write") == 0) {
        double t0 = now();
        int r = write_file(path, n);
        double t = now() - t0;
        unlink(path);
        if (r != 0) return 1;
        printf("%.0f\n", n * 1.048576 / t);
    } else if (strcmp(argv[1], "read") == 0) {
        if (write_file(path, n) != 0) { unlink(path); return 1; }
        int fd = open(path, O_RDONLY);
        double t0 = now();
        long total = 0;
        ssize_t got;
        while ((got = read(fd, chunk, sizeof chunk)) > 0) total += got;
        double t = now() - t0;
        close(fd);
        unlink(path);
        if (total != n << 20) return 1;
        printf("%.0f\n", n * 1.048576 / t);
    } else {
        return 2;
    }
    return 0;
}
