// Copy-on-write across fork: each side sees its own writes only, including writes made by the kernel
// (read(2) into a buffer), in brk memory, on the stack, and across repeated forks.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (1 << 20)

static int check(const char *what, int ok) {
    if (!ok) { printf("FAIL %s\n", what); exit(1); }
    return ok;
}

int main(void) {
    char *buf = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(buf, 'A', SIZE);
    char *heap = malloc(100);
    strcpy(heap, "parent-heap");
    volatile char stack_var = 's';
    int fds[2];
    pipe(fds);

    pid_t pid = fork();
    if (pid == 0) {
        check("child sees parent data", buf[0] == 'A' && buf[SIZE - 1] == 'A');
        buf[0] = 'B';
        strcpy(heap, "child-heap");
        stack_var = 'c';
        write(fds[1], "xyz", 3);
        read(fds[0], buf + 4096, 3);  // the Sentry writes into copy-on-write memory
        check("child own write", buf[0] == 'B' && memcmp(buf + 4096, "xyz", 3) == 0 && buf[1] == 'A');
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    check("child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    check("parent mmap unchanged", buf[0] == 'A' && buf[4096] == 'A');
    check("parent heap unchanged", strcmp(heap, "parent-heap") == 0);
    check("parent stack unchanged", stack_var == 's');

    // The parent writes after the child has gone; then forks again: the grandchild sees the new value.
    buf[0] = 'C';
    pid = fork();
    if (pid == 0) { _exit(buf[0] == 'C' ? 0 : 1); }
    waitpid(pid, &status, 0);
    check("second child sees parent's later write", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // Parent writes while the child is still alive: the child keeps the old value.
    int sync[2];
    pipe(sync);
    pid = fork();
    if (pid == 0) {
        char c;
        read(sync[0], &c, 1);
        _exit(buf[0] == 'C' ? 0 : 1);
    }
    buf[0] = 'D';
    write(sync[1], "go", 1);
    waitpid(pid, &status, 0);
    check("child keeps value from fork time", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    // Many forks, each child writing everywhere.
    for (int i = 0; i < 50; i++) {
        pid = fork();
        if (pid == 0) { memset(buf, 'Z', SIZE); _exit(0); }
        waitpid(pid, &status, 0);
    }
    check("parent untouched after many children", buf[0] == 'D' && buf[SIZE - 1] == 'A');
    printf("cow ok\n");
    return 0;
}
