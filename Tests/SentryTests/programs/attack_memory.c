// Attacks 2 and 3: hostile memory management (page 0, the platform's reserved region above the stack, unmapping
// everything) and hostile pointers (unmapped, kernel half, guard pages, read-only pages) handed to syscalls.
// Prints one "name=result" line per attempt (result: ok or the errno name), so native and sandboxed runs can
// be compared line by line, then "done".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long r) {
    if (r == -1) printf("%s=%s\n", name, strerrorname_np(errno));
    else printf("%s=ok\n", name);
}

static unsigned long stack_end(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo, hi, end = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2) end = hi;
    if (f) fclose(f);
    return end;
}

// MAP_FIXED in 1 MiB steps from the top of the stack to the end of the user half: the first refusal is the
// platform's reserved region; nothing may be mapped at or above it.
static void above_stack(void) {
    unsigned long top = stack_end(), limit = 0;
    int mapped_above_limit = 0, mapped = 0;
    for (unsigned long a = top; a < 0x800000000000UL - 0x100000; a += 0x100000) {
        void *p = mmap((void *)a, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) { if (!limit) limit = a; continue; }
        mapped++;
        if (limit) mapped_above_limit++;
        ((volatile char *)p)[0] = 1;
        munmap(p, 0x10000);
    }
    printf("above-stack mapped=%d refused-from=%s mapped-above-refusal=%d\n", mapped, limit ? "yes" : "none",
           mapped_above_limit);
    if (!limit) return;
    // The reserved region itself: every way in must fail, and the process must keep working afterwards.
    report("fixed-noreplace-limit", (long)mmap((void *)limit, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == -1 ? -1 : 0);
    report("mprotect-limit", mprotect((void *)(limit & ~0xfffffUL), 0x10000, PROT_READ | PROT_WRITE | PROT_EXEC));
    char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report("mremap-into-limit", (long)mremap(page, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)limit) == -1 ? -1 : 0);
    munmap((void *)limit, 0x100000);  // Linux allows unmapping nothing; it must not take the stub away
    printf("brk-to-limit=%s\n", syscall(SYS_brk, limit + 0x1000) == (long)(limit + 0x1000) ? "ok" : "refused");
    printf("alive-after-limit=%d\n", getpid() > 0 && write(1, "", 0) == 0);
}

static void memory_attacks(void) {
    report("mmap-fixed-0", (long)mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1 ? -1 : 0);
    report("mmap-fixed-page1", (long)mmap((void *)0x1000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1 ? -1 : 0);
    report("mmap-kernel-half", (long)mmap((void *)0xffff800000000000UL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -1 ? -1 : 0);
    report("mmap-huge", (long)mmap(0, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -1 ? -1 : 0);
    report("mprotect-0", mprotect(0, 4096, PROT_READ));
    munmap(0, 0x2000);  // natively the attack worked: give page 0 back so the NULL pointer checks agree
    report("munmap-kernel-half", munmap((void *)0xffff800000000000UL, 4096));
    char *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[8];
    report("mincore-huge", mincore(p, 1UL << 46, vec));
    report("mremap-huge-old", (long)mremap(p, ~0UL - 4095, 8192, MREMAP_MAYMOVE) == -1 ? -1 : 0);
    above_stack();
    // Unmap the whole user range (stack and code included) in a child: it can only die, with SIGSEGV.
    pid_t c = fork();
    if (c == 0) {
        unsigned long top = stack_end();
        syscall(SYS_munmap, 0x10000UL, top - 0x10000UL);
        _exit(0);  // unreachable: the code is gone
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("munmap-everything child: signaled=%d sig=%d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void pointer_attacks(void) {
    char *guard = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    struct { const char *name; void *p; } bad[] = {
        {"null", 0}, {"unmapped", gone}, {"kernel", (void *)0xffff800000000000UL}, {"guard", guard},
        {"minus1", (void *)-1L}, {"noncanonical", (void *)(1UL << 47)}, {"vsyscall", (void *)0xffffffffff600000UL},
    };
    int fd = open("/proc/self/maps", O_RDONLY);
    int pfd[2];
    pipe(pfd);
    write(pfd[1], "data", 4);
    char name[64];
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = bad[i].p;
        struct stat st;
#define TRY(what, call) do { snprintf(name, sizeof name, "%s-%s", what, bad[i].name); report(name, (long)(call)); } while (0)
        TRY("read", read(fd, p, 100));
        TRY("write", write(pfd[1], p, 4));
        TRY("stat-path", stat(p, &st));
        TRY("stat-buf", stat("/", p));
        TRY("open", open(p, O_RDONLY));
        TRY("uname", syscall(SYS_uname, p));
        TRY("clock", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p));
        TRY("pipe", syscall(SYS_pipe, p));
        TRY("getcwd", syscall(SYS_getcwd, p, 100));
    }
    report("read-into-readonly", read(pfd[0], ro, 4));
    report("read-straddle-readonly", read(fd, ro + 4090, 100));
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    memory_attacks();
    pointer_attacks();
    printf("done\n");
    return 0;
}
