// A tmpfs mounted with size=64k,nr_inodes=8,mode=750,uid=1000: statfs figures, short writes and ENOSPC
// from write, ftruncate and fallocate, space given back by unlink, and the inode limit. argv[1]: the mount.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static char buf[100000];
static char path[256];

static const char *at(const char *dir, const char *name) { snprintf(path, sizeof path, "%s/%s", dir, name); return path; }

static void fs(const char *dir, const char *label) {
    struct statfs s;
    if (statfs(dir, &s) != 0) { printf("%s statfs %s\n", label, strerrorname_np(errno)); return; }
    printf("%s blocks %ld free %ld avail %ld files %ld ffree %ld bsize %ld\n", label, (long)s.f_blocks, (long)s.f_bfree,
           (long)s.f_bavail, (long)s.f_files, (long)s.f_ffree, (long)s.f_bsize);
}

static void result(const char *label, long r) {
    if (r < 0) printf("%s %s\n", label, strerrorname_np(errno)); else printf("%s %ld\n", label, r);
}

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    const char *dir = argv[1];
    struct stat st;
    stat(dir, &st);
    printf("root mode %o uid %u\n", st.st_mode & 07777, st.st_uid);
    fs(dir, "empty");
    memset(buf, 'x', sizeof buf);
    int a = open(at(dir, "a"), O_RDWR | O_CREAT, 0644);
    result("write-a", write(a, buf, 40000));
    fs(dir, "after-a");
    int b = open(at(dir, "b"), O_RDWR | O_CREAT, 0644);
    result("write-b", write(b, buf, 40000));
    result("write-b-full", write(b, buf, 100));
    result("pwrite-b-inside", pwrite(b, buf, 100, 0));
    fs(dir, "full");
    result("truncate-a-up", ftruncate(a, 80000));
    result("truncate-a-down", ftruncate(a, 0));
    fs(dir, "after-truncate");
    result("fallocate-b", fallocate(b, 0, 0, 60000));
    result("fallocate-b-big", fallocate(b, 0, 0, 100000));
    fstat(b, &st);
    printf("size-b %ld\n", (long)st.st_size);
    close(a); close(b);
    unlink(at(dir, "a")); unlink(at(dir, "b"));
    fs(dir, "after-unlink");
    int made = 0;
    char name[32];
    for (;;) {
        snprintf(name, sizeof name, "f%d", made);
        int fd = open(at(dir, name), O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) { printf("created %d %s\n", made, strerrorname_np(errno)); break; }
        close(fd);
        if (++made > 100) { printf("no inode limit\n"); break; }
    }
    result("mkdir-full", mkdir(at(dir, "d"), 0755));
    fs(dir, "inodes-full");
    printf("done\n");
    return 0;
}
