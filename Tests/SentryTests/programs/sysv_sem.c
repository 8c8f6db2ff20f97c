/* System V semaphores: values, atomic semop, blocking with ncnt/zcnt, timeouts, SEM_UNDO, signals, RMID. */
#include "timecheck.h"
#include <sys/ipc.h>
#include <sys/sem.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };
static void on_alarm(int s) { (void)s; }

int main(void) {
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(id >= 0, "semget", "semget");
    union semun arg; arg.val = 5;
    CHECK(semctl(id, 1, SETVAL, arg) == 0 && semctl(id, 1, GETVAL) == 5, "setval-getval", "%d", semctl(id, 1, GETVAL));
    unsigned short vals[3] = { 1, 2, 3 }, out[3] = { 0 };
    arg.array = vals; semctl(id, 0, SETALL, arg);
    arg.array = out; semctl(id, 0, GETALL, arg);
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3, "setall-getall", "%d %d %d", out[0], out[1], out[2]);
    struct semid_ds ds; arg.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_nsems == 3, "ipc-stat", "nsems %lu", (unsigned long)ds.sem_nsems);
    arg.val = 40000;
    CHECK(semctl(id, 0, SETVAL, arg) == -1 && errno == ERANGE, "setval-range", "no ERANGE");
    CHECK(semctl(id, 7, GETVAL) == -1 && errno == EINVAL, "getval-bad-index", "no EINVAL");

    /* All or nothing: the second op cannot proceed, so the first is not applied either. */
    struct sembuf two[2] = { { 0, -1, IPC_NOWAIT }, { 1, -5, IPC_NOWAIT } };
    CHECK(semop(id, two, 2) == -1 && errno == EAGAIN && semctl(id, 0, GETVAL) == 1, "atomic-nowait", "val %d", semctl(id, 0, GETVAL));
    struct sembuf ok2[2] = { { 0, -1, 0 }, { 2, 4, 0 } };
    CHECK(semop(id, ok2, 2) == 0 && semctl(id, 0, GETVAL) == 0 && semctl(id, 2, GETVAL) == 7 && semctl(id, 2, GETPID) == getpid(),
          "semop-applies", "vals %d %d", semctl(id, 0, GETVAL), semctl(id, 2, GETVAL));
    struct sembuf far = { 9, 1, 0 };
    CHECK(semop(id, &far, 1) == -1 && errno == EFBIG, "semop-efbig", "no EFBIG");

    /* Blocking until a child posts; the child sees the waiter in GETNCNT. */
    pid_t pid = fork();
    if (pid == 0) {
        long long t0 = now_ns();
        while (semctl(id, 0, GETNCNT) != 1 && now_ns() - t0 < 5000000000LL) sleep_ms(5);
        CHECK(semctl(id, 0, GETNCNT) == 1, "getncnt", "%d", semctl(id, 0, GETNCNT));
        struct sembuf post = { 0, 1, 0 };
        semop(id, &post, 1);
        _exit(0);
    }
    struct sembuf wait1 = { 0, -1, 0 };
    CHECK(semop(id, &wait1, 1) == 0, "semop-blocks-until-post", "failed");
    waitpid(pid, 0, 0);
    CHECK(semctl(id, 0, GETPID) == getpid() && semctl(id, 0, GETNCNT) == 0, "getpid-after-post", "pid %d", semctl(id, 0, GETPID));

    /* Waiting for zero. */
    pid = fork();
    if (pid == 0) {
        long long t0 = now_ns();
        while (semctl(id, 2, GETZCNT) != 1 && now_ns() - t0 < 5000000000LL) sleep_ms(5);
        CHECK(semctl(id, 2, GETZCNT) == 1, "getzcnt", "%d", semctl(id, 2, GETZCNT));
        struct sembuf drain = { 2, -7, 0 };
        semop(id, &drain, 1);
        _exit(0);
    }
    struct sembuf zero = { 2, 0, 0 };
    CHECK(semop(id, &zero, 1) == 0 && semctl(id, 2, GETVAL) == 0, "wait-for-zero", "val %d", semctl(id, 2, GETVAL));
    waitpid(pid, 0, 0);

    /* semtimedop times out with EAGAIN. */
    struct timespec to = { 0, 50000000 };
    long long t0 = now_ns();
    CHECK(semtimedop(id, &wait1, 1, &to) == -1 && errno == EAGAIN && now_ns() - t0 >= 45000000LL, "semtimedop-timeout",
          "after %lld ms", (now_ns() - t0) / 1000000);

    /* SEM_UNDO: a child's decrement is undone when it exits; without it, it stays. */
    arg.val = 1; semctl(id, 1, SETVAL, arg);
    pid = fork();
    if (pid == 0) { struct sembuf u = { 1, -1, SEM_UNDO }; semop(id, &u, 1); _exit(0); }
    waitpid(pid, 0, 0);
    CHECK(semctl(id, 1, GETVAL) == 1, "sem-undo", "val %d", semctl(id, 1, GETVAL));
    pid = fork();
    if (pid == 0) { struct sembuf u = { 1, -1, 0 }; semop(id, &u, 1); _exit(0); }
    waitpid(pid, 0, 0);
    CHECK(semctl(id, 1, GETVAL) == 0, "no-undo", "val %d", semctl(id, 1, GETVAL));

    /* A signal handler interrupts a blocked semop with EINTR, even with SA_RESTART. */
    struct sigaction sa = { 0 }; sa.sa_handler = on_alarm; sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct timespec at = { 0, 0 };
    timer_t tm; struct sigevent ev = { 0 }; ev.sigev_notify = SIGEV_SIGNAL; ev.sigev_signo = SIGALRM;
    timer_create(CLOCK_MONOTONIC, &ev, &tm);
    struct itimerspec its = { { 0, 0 }, { 0, 50000000 } };
    timer_settime(tm, 0, &its, 0);
    (void)at;
    CHECK(semop(id, &wait1, 1) == -1 && errno == EINTR, "semop-eintr", "not EINTR");

    /* IPC_RMID wakes a blocked waiter with EIDRM. */
    pid = fork();
    if (pid == 0) {
        int r = semop(id, &wait1, 1);
        _exit(r == -1 && errno == EIDRM ? 0 : 1);
    }
    t0 = now_ns();
    while (semctl(id, 0, GETNCNT) != 1 && now_ns() - t0 < 5000000000LL) sleep_ms(5);
    CHECK(semctl(id, 0, IPC_RMID) == 0, "rmid", "rmid");
    int st; waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "rmid-wakes-eidrm", "status %x", st);
    CHECK(semctl(id, 0, GETVAL) == -1 && errno == EINVAL, "rmid-gone", "still there");

    int k = semget(0x5e3, 2, IPC_CREAT | IPC_EXCL | 0600);
    CHECK(k >= 0 && semget(0x5e3, 2, 0) == k && semget(0x5e3, 3, 0) == -1 && errno == EINVAL, "semget-key", "key lookup");
    semctl(k, 0, IPC_RMID);
    return 0;
}
