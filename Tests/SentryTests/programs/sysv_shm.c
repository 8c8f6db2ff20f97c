/* System V shared memory: keys, attach/detach, fork, IPC_STAT/IPC_SET/IPC_RMID, SHM_RDONLY, addresses. */
#include "timecheck.h"
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

int main(void) {
    int id = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    CHECK(id >= 0, "shmget-private", "shmget");
    char *p = shmat(id, 0, 0);
    CHECK(p != (void *)-1, "shmat", "shmat");
    strcpy(p, "parent");
    struct shmid_ds ds;
    CHECK(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_segsz == 8192 && ds.shm_nattch == 1 && ds.shm_cpid == getpid() &&
          (ds.shm_perm.mode & 0777) == 0600, "ipc-stat", "size %zu nattch %lu cpid %d mode %o",
          ds.shm_segsz, (unsigned long)ds.shm_nattch, ds.shm_cpid, ds.shm_perm.mode);

    /* fork keeps the attachment; the memory is shared, not copied. */
    pid_t pid = fork();
    if (pid == 0) {
        CHECK(strcmp(p, "parent") == 0, "child-sees-parent-data", "%s", p);
        struct shmid_ds d2; shmctl(id, IPC_STAT, &d2);
        CHECK(d2.shm_nattch == 2, "nattch-after-fork", "%lu", (unsigned long)d2.shm_nattch);
        char *q = shmat(id, 0, 0);  /* a second attachment, elsewhere: same memory */
        strcpy(q + 100, "second");
        strcpy(p, "child");
        _exit(0);
    }
    waitpid(pid, 0, 0);
    CHECK(strcmp(p, "child") == 0 && strcmp(p + 100, "second") == 0, "parent-sees-child-writes", "%s / %s", p, p + 100);
    shmctl(id, IPC_STAT, &ds);
    CHECK(ds.shm_nattch == 1 && ds.shm_lpid == pid, "nattch-after-child-exit", "nattch %lu lpid %d", (unsigned long)ds.shm_nattch, ds.shm_lpid);

    /* Keys. */
    key_t key = 0x5eed;
    int k = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0644);
    CHECK(k >= 0, "shmget-key-create", "create");
    CHECK(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0644) == -1 && errno == EEXIST, "shmget-excl", "no EEXIST");
    CHECK(shmget(key, 0, 0) == k, "shmget-key-lookup", "different id");
    CHECK(shmget(key, 8192, 0) == -1 && errno == EINVAL, "shmget-too-big", "no EINVAL");
    CHECK(shmget(0x5eee, 4096, 0) == -1 && errno == ENOENT, "shmget-no-key", "no ENOENT");
    CHECK(shmget(IPC_PRIVATE, 0, IPC_CREAT) == -1 && errno == EINVAL, "shmget-zero-size", "no EINVAL");

    /* IPC_SET changes the mode. */
    struct shmid_ds set; shmctl(k, IPC_STAT, &set);
    set.shm_perm.mode = 0640;
    shmctl(k, IPC_SET, &set);
    shmctl(k, IPC_STAT, &ds);
    CHECK((ds.shm_perm.mode & 0777) == 0640, "ipc-set-mode", "%o", ds.shm_perm.mode);

    /* Addresses: reattach where it was, SHM_RND, overlap without SHM_REMAP. */
    char *a = shmat(k, 0, 0);
    shmdt(a);
    char *b = shmat(k, a, 0);
    CHECK(b == a, "shmat-at-address", "%p vs %p", (void *)b, (void *)a);
    CHECK(shmat(k, a, 0) == (void *)-1 && errno == EINVAL, "shmat-overlap", "no EINVAL");
    char *c = shmat(k, a, SHM_REMAP);
    CHECK(c == a, "shmat-remap", "%p", (void *)c);
    shmdt(a);
    CHECK(shmat(k, a + 5, 0) == (void *)-1 && errno == EINVAL, "shmat-unaligned", "no EINVAL");
    char *r = shmat(k, a + 5, SHM_RND);
    CHECK(r == a, "shmat-rnd", "%p vs %p", (void *)r, (void *)a);
    shmdt(r);
    CHECK(shmdt(a + 4096 * 3) == -1 && errno == EINVAL, "shmdt-not-attached", "no EINVAL");

    /* SHM_RDONLY: a write faults. */
    pid = fork();
    if (pid == 0) {
        char *ro = shmat(k, 0, SHM_RDONLY);
        volatile char x = ro[0]; (void)x;
        ro[0] = 1;
        _exit(0);
    }
    int st; waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "rdonly-write-faults", "status %x", st);

    /* IPC_RMID while attached: the memory stays until the last detach; the key is free at once. */
    char *m = shmat(k, 0, 0);
    strcpy(m, "still here");
    CHECK(shmctl(k, IPC_RMID, 0) == 0, "rmid", "rmid");
    CHECK(shmget(key, 4096, 0) == -1 && errno == ENOENT, "rmid-frees-key", "key still there");
    shmctl(k, IPC_STAT, &ds);
    CHECK(strcmp(m, "still here") == 0 && (ds.shm_perm.mode & SHM_DEST) && ds.shm_nattch == 1, "rmid-attached-stays",
          "mode %o nattch %lu", ds.shm_perm.mode, (unsigned long)ds.shm_nattch);
    shmdt(m);
    CHECK(shmctl(k, IPC_STAT, &ds) == -1 && errno == EINVAL, "rmid-gone-after-detach", "still there");
    CHECK(shmctl(id, IPC_RMID, 0) == 0 && shmdt(p) == 0, "rmid-then-detach", "failed");
    CHECK(shmctl(id, IPC_STAT, &ds) == -1, "all-gone", "still there");
    return 0;
}
