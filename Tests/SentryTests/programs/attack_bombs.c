#define _GNU_SOURCE
// Resource bombs: "fork N" forks children that sleep until fork fails or N are running, then reports how
// many it made and why it stopped; "memory MIB" allocates and touches 1 MiB blocks until allocation fails
// or MIB are held. Run natively with no limit both reach their cap; in a sandbox with a pids/memory limit
// they must stop early with EAGAIN/ENOMEM while the sandbox carries on.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int fork_bomb(int cap) {
    pid_t *children = calloc(cap, sizeof *children);
    int made = 0, stopped = 0;
    while (made < cap) {
        pid_t pid = fork();
        if (pid == 0) { pause(); _exit(0); }
        if (pid < 0) { stopped = errno; break; }
        children[made++] = pid;
    }
    for (int i = 0; i < made; i++) kill(children[i], SIGKILL);
    int reaped = 0;
    while (wait(NULL) > 0) reaped++;
    printf("forked=%d stopped=%s reaped=%d\n", made, stopped ? strerrorname_np(stopped) : "cap", reaped);
    // After the bomb the sandbox still forks.
    pid_t again = fork();
    if (again == 0) _exit(7);
    int status = 0;
    waitpid(again, &status, 0);
    printf("fork-after=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

static int memory_bomb(int cap) {
    int held = 0, stopped = 0;
    while (held < cap) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { stopped = errno; break; }
        // Touch every page: the limit must hold for memory in use, not just for address space.
        for (int i = 0; i < (1 << 20); i += 4096) p[i] = 1;
        held++;
    }
    printf("held=%d stopped=%s\n", held, stopped ? strerrorname_np(stopped) : "cap");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "fork") == 0) return fork_bomb(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "memory") == 0) return memory_bomb(atoi(argv[2]));
    fprintf(stderr, "usage: attack_bombs fork N | memory MIB\n");
    return 2;
}
