// MAP_SHARED file mappings: processes mapping a file share the memory, and msync/munmap write it to the
// file; MAP_PRIVATE writes never reach the file.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/tmp/mmapshared.dat";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char block[8192];
    memset(block, 'a', sizeof block);
    write(fd, block, sizeof block);
    char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *private = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    pid_t pid = fork();
    if (pid == 0) { memcpy(shared, "child", 5); _exit(0); }
    waitpid(pid, NULL, 0);
    printf("parent sees child's write: %s\n", memcmp(shared, "child", 5) == 0 ? "yes" : "no");
    memcpy(private, "priv", 4);
    msync(shared, 8192, MS_SYNC);
    char buf[6] = { 0 };
    pread(fd, buf, 5, 0);
    printf("file after msync: %s\n", buf);
    memcpy(shared + 4096, "later", 5);
    munmap(shared, 8192);
    munmap(private, 8192);
    pread(fd, buf, 5, 4096);
    printf("file after munmap: %s\n", buf);
    close(fd);
    unlink(path);
    return 0;
}
