/* System V message queues: types, MSG_EXCEPT, MSG_NOERROR/E2BIG, IPC_NOWAIT, blocking, limits, RMID. */
#include "timecheck.h"
#include <sys/ipc.h>
#include <sys/msg.h>

struct msg { long type; char text[64]; };

static int send(int id, long type, const char *s, int flags) {
    struct msg m; m.type = type; strcpy(m.text, s);
    return msgsnd(id, &m, strlen(s) + 1, flags);
}

int main(void) {
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(id >= 0, "msgget", "msgget");
    send(id, 1, "one", 0); send(id, 2, "two", 0); send(id, 3, "three", 0); send(id, 2, "deux", 0);
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 4 && ds.msg_lspid == getpid() && ds.msg_cbytes == 19,
          "ipc-stat", "qnum %lu cbytes %lu", (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);
    struct msg m;
    ssize_t n = msgrcv(id, &m, sizeof m.text, 2, 0);
    CHECK(n == 4 && m.type == 2 && strcmp(m.text, "two") == 0, "recv-by-type", "%zd %ld %s", n, m.type, m.text);
    n = msgrcv(id, &m, sizeof m.text, 2, MSG_EXCEPT);
    CHECK(n == 4 && m.type == 1, "recv-except", "%zd %ld %s", n, m.type, m.text);
    send(id, 1, "uno", 0);
    n = msgrcv(id, &m, sizeof m.text, -2, 0);
    CHECK(m.type == 1 && strcmp(m.text, "uno") == 0, "recv-lowest-type", "%ld %s", m.type, m.text);
    n = msgrcv(id, &m, 2, 0, 0);
    CHECK(n == -1 && errno == E2BIG, "recv-e2big", "%zd", n);
    n = msgrcv(id, &m, 2, 0, MSG_NOERROR);
    CHECK(n == 2 && m.type == 3 && strncmp(m.text, "th", 2) == 0, "recv-noerror-truncates", "%zd %ld", n, m.type);
    n = msgrcv(id, &m, sizeof m.text, 0, 0);
    CHECK(n == 5 && strcmp(m.text, "deux") == 0, "recv-fifo", "%zd %s", n, m.text);
    CHECK(msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT) == -1 && errno == ENOMSG, "recv-nowait-empty", "no ENOMSG");
    CHECK(send(id, 0, "bad", 0) == -1 && errno == EINVAL, "send-type-zero", "no EINVAL");

    /* Blocking receive until a child sends. */
    pid_t pid = fork();
    if (pid == 0) { sleep_ms(50); send(id, 9, "late", 0); _exit(0); }
    long long t0 = now_ns();
    n = msgrcv(id, &m, sizeof m.text, 9, 0);
    CHECK(n == 5 && strcmp(m.text, "late") == 0 && now_ns() - t0 >= 40000000LL, "recv-blocks", "%zd", n);
    waitpid(pid, 0, 0);
    msgctl(id, IPC_STAT, &ds);
    CHECK(ds.msg_lspid == pid && ds.msg_lrpid == getpid(), "last-pids", "lspid %d lrpid %d", ds.msg_lspid, ds.msg_lrpid);

    /* A full queue: IPC_NOWAIT gives EAGAIN, a blocked sender waits for room. */
    ds.msg_qbytes = 10;
    CHECK(msgctl(id, IPC_SET, &ds) == 0, "ipc-set-qbytes", "set");
    CHECK(send(id, 1, "12345678", 0) == 0, "send-fits", "send");
    CHECK(send(id, 1, "abc", IPC_NOWAIT) == -1 && errno == EAGAIN, "send-full-nowait", "no EAGAIN");
    pid = fork();
    if (pid == 0) { sleep_ms(50); msgrcv(id, &m, sizeof m.text, 0, 0); _exit(0); }
    CHECK(send(id, 1, "abc", 0) == 0, "send-blocks-for-room", "send");
    waitpid(pid, 0, 0);

    /* IPC_RMID wakes a blocked receiver with EIDRM. */
    pid = fork();
    if (pid == 0) { int r = msgrcv(id, &m, sizeof m.text, 77, 0); _exit(r == -1 && errno == EIDRM ? 0 : 1); }
    sleep_ms(50);
    CHECK(msgctl(id, IPC_RMID, 0) == 0, "rmid", "rmid");
    int st; waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "rmid-wakes-eidrm", "status %x", st);
    CHECK(msgsnd(id, &m, 1, 0) == -1 && errno == EINVAL, "rmid-gone", "still there");

    int k = msgget(0x3e55, IPC_CREAT | IPC_EXCL | 0600);
    CHECK(k >= 0 && msgget(0x3e55, 0) == k && msgget(0x3e55, IPC_CREAT | IPC_EXCL) == -1 && errno == EEXIST, "msgget-key", "key");
    msgctl(k, IPC_RMID, 0);
    return 0;
}
