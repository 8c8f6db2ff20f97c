// openat2: open_how size/flag checks and the RESOLVE_* scoping rules. Prints one "case result" line per
// check, so the same program run natively and in the Sentry must print the same text. argv[1]: a scratch dir.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct how { uint64_t flags, mode, resolve; };
#define NO_XDEV 0x01
#define NO_MAGICLINKS 0x02
#define NO_SYMLINKS 0x04
#define BENEATH 0x08
#define IN_ROOT 0x10

static void report(const char *name, long r) {
    if (r >= 0) {
        char buf[32] = {0};
        ssize_t n = read((int)r, buf, sizeof buf - 1);
        printf("%s ok%s%s\n", name, n > 0 ? " " : "", n > 0 ? buf : "");
        close((int)r);
    } else {
        printf("%s %s\n", name, strerrorname_np(errno));
    }
}

static long o2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct how h = {flags, mode, resolve};
    return syscall(SYS_openat2, dirfd, path, &h, sizeof h);
}

static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0) perror(path);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) { perror("chdir"); return 1; }
    mkdir("sub", 0755); mkdir("sub/inner", 0755);
    put("sub/inner/f", "inner"); put("outside", "outside");
    symlink("inner/f", "sub/rel"); symlink("/inner/f", "sub/abs"); symlink("../outside", "sub/up");
    int dir = open("sub", O_RDONLY | O_DIRECTORY);
    if (dir < 0) { perror("open sub"); return 1; }

    report("plain", o2(dir, "inner/f", O_RDONLY, 0, 0));
    report("nosym-link", o2(dir, "rel", O_RDONLY, 0, NO_SYMLINKS));
    report("nosym-plain", o2(dir, "inner/f", O_RDONLY, 0, NO_SYMLINKS));
    report("nosym-opath", o2(dir, "rel", O_PATH | O_NOFOLLOW, 0, NO_SYMLINKS) >= 0 ? 0 : -1);
    report("beneath-dotdot", o2(dir, "../outside", O_RDONLY, 0, BENEATH));
    report("beneath-inside", o2(dir, "inner/../inner/f", O_RDONLY, 0, BENEATH));
    report("beneath-uplink", o2(dir, "up", O_RDONLY, 0, BENEATH));
    report("beneath-abslink", o2(dir, "abs", O_RDONLY, 0, BENEATH));
    report("beneath-abspath", o2(dir, "/etc/passwd", O_RDONLY, 0, BENEATH));
    report("inroot-abslink", o2(dir, "abs", O_RDONLY, 0, IN_ROOT));
    report("inroot-dotdot", o2(dir, "../../inner/f", O_RDONLY, 0, IN_ROOT));
    report("inroot-abspath", o2(dir, "/inner/f", O_RDONLY, 0, IN_ROOT));
    report("inroot-uplink", o2(dir, "up", O_RDONLY, 0, IN_ROOT));
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d/inner/f", dir);
    report("magic-plain", o2(AT_FDCWD, magic, O_RDONLY, 0, 0));
    report("nomagic", o2(AT_FDCWD, magic, O_RDONLY, 0, NO_MAGICLINKS));
    report("nosym-magic", o2(AT_FDCWD, magic, O_RDONLY, 0, NO_SYMLINKS));
    report("xdev-inside", o2(dir, "inner/f", O_RDONLY, 0, NO_XDEV));
    int proc = open("/proc", O_RDONLY | O_DIRECTORY);
    report("xdev-up", o2(proc, "../etc/passwd", O_RDONLY, 0, NO_XDEV));
    report("xdev-down", o2(AT_FDCWD, "/proc/self/comm", O_RDONLY, 0, NO_XDEV));
    report("create-beneath", o2(dir, "new", O_RDWR | O_CREAT, 0600, BENEATH));
    report("create-escape", o2(dir, "../new2", O_RDWR | O_CREAT, 0600, BENEATH));

    struct { struct how h; uint64_t extra; } big = {{O_RDONLY, 0, 0}, 0};
    report("size-small", syscall(SYS_openat2, dir, "inner/f", &big, 8));
    report("size-bigzero", syscall(SYS_openat2, dir, "inner/f", &big, sizeof big));
    big.extra = 1;
    report("size-bigtail", syscall(SYS_openat2, dir, "inner/f", &big, sizeof big));
    report("size-huge", syscall(SYS_openat2, dir, "inner/f", &big, 8192));
    report("bad-resolve", o2(dir, "inner/f", O_RDONLY, 0, 0x40));
    report("bad-flags", o2(dir, "inner/f", O_RDONLY | (1ULL << 40), 0, 0));
    report("mode-nocreat", o2(dir, "inner/f", O_RDONLY, 0644, 0));
    report("both-scopes", o2(dir, "inner/f", O_RDONLY, 0, BENEATH | IN_ROOT));
    report("bad-how", syscall(SYS_openat2, dir, "inner/f", (void *)8, 24));
    printf("done\n");
    return 0;
}
