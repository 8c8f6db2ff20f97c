// Pseudo-terminals on the Sentry: posix_openpt/grantpt/unlockpt/ptsname, openpty, the line discipline
// (canonical editing, echo, ONLCR, VMIN/VTIME), ISIG, window size + SIGWINCH, controlling terminals and job
// control, hang-up. Prints "ok NAME" / "FAIL NAME ..." per check and "failures N" at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(name, cond, ...) do { if (cond) printf("ok %s\n", name); \
    else { failures++; printf("FAIL %s: ", name); printf(__VA_ARGS__); printf(" (errno %d)\n", errno); } fflush(stdout); } while (0)

static ssize_t read_avail(int fd, char *buf, size_t n) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0) return -2;
    return read(fd, buf, n);
}

static void show(const char *in, ssize_t n, char *out) {
    char *o = out;
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = in[i];
        if (c >= 32 && c < 127) *o++ = c; else o += sprintf(o, "\\x%02x", c);
    }
    *o = 0;
}

static int open_pair(int *master, int *replica) {
    *master = posix_openpt(O_RDWR | O_NOCTTY);
    if (*master < 0 || grantpt(*master) || unlockpt(*master)) return -1;
    *replica = open(ptsname(*master), O_RDWR | O_NOCTTY);
    return *replica < 0 ? -1 : 0;
}

static volatile sig_atomic_t got_signal;
static void on_signal(int s) { got_signal = s; }

static int wait_signal(int ms) {
    for (int i = 0; i < ms && !got_signal; i++) usleep(1000);
    return got_signal;
}

static void test_basics(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK("posix_openpt", m >= 0, "fd %d", m);
    int locked = -1;
    CHECK("locked_at_open", ioctl(m, TIOCGPTLCK, &locked) == 0 && locked == 1, "locked %d", locked);
    char *name = ptsname(m);
    CHECK("ptsname", name && strncmp(name, "/dev/pts/", 9) == 0, "%s", name ? name : "(null)");
    int r0 = open(name, O_RDWR | O_NOCTTY);
    CHECK("open_locked_eio", r0 < 0 && errno == EIO, "fd %d", r0);
    CHECK("grantpt_unlockpt", grantpt(m) == 0 && unlockpt(m) == 0, "failed");
    int r = open(name, O_RDWR | O_NOCTTY);
    CHECK("open_replica", r >= 0 && isatty(r) && isatty(m), "fd %d", r);
    char *tn = ttyname(r);
    CHECK("ttyname", tn && strcmp(tn, name) == 0, "%s vs %s", tn ? tn : "(null)", name);
    struct stat st;
    CHECK("replica_is_chr_136", fstat(r, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 136, "mode %o", st.st_mode);
    int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    CHECK("tiocgptpeer", peer >= 0 && isatty(peer), "fd %d", peer);
    close(peer); close(r); close(m);

    int am, ar; char nm[64];
    CHECK("openpty", openpty(&am, &ar, nm, NULL, NULL) == 0 && strncmp(nm, "/dev/pts/", 9) == 0, "name %s", nm);
    close(am); close(ar);
    int ptmx2 = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    CHECK("dev_pts_ptmx", ptmx2 >= 0, "fd %d", ptmx2);
    close(ptmx2);
    int tty = open("/dev/tty", O_RDWR);
    CHECK("dev_tty_without_ctty_enxio", tty < 0 && errno == ENXIO, "fd %d", tty);
}

static void test_line_discipline(void) {
    int m, r;
    if (open_pair(&m, &r)) { CHECK("ld_pair", 0, "open_pair"); return; }
    char buf[256], shown[1024];
    // Canonical line assembly with ERASE, echo with ECHOE, and ONLCR on the echoed newline.
    write(m, "abx\x7f" "c\n", 6);
    ssize_t n = read_avail(r, buf, sizeof buf);
    CHECK("canonical_erase", n == 4 && memcmp(buf, "abc\n", 4) == 0, "got %zd", n);
    n = read_avail(m, buf, sizeof buf); show(buf, n, shown);
    CHECK("echo_erase_onlcr", n == 9 && memcmp(buf, "abx\b \bc\r\n", 9) == 0, "echo '%s'", shown);
    // KILL, WERASE, ECHOCTL.
    write(m, "foo\x15" "bar baz\x17" "q\x01\n", 15);
    n = read_avail(r, buf, sizeof buf); show(buf, n, shown);
    CHECK("kill_werase", n == 7 && memcmp(buf, "bar q\x01\n", 7) == 0, "got '%s'", shown);
    n = read_avail(m, buf, sizeof buf); show(buf, n, shown);
    CHECK("echoctl", strstr(shown, "q^A\\x0d\\x0a") != NULL, "echo '%s'", shown);
    // One line per read; the rest of a long line stays.
    write(m, "one\ntwo\n", 8);
    usleep(10000);
    int avail = -1;
    CHECK("fionread", ioctl(r, FIONREAD, &avail) == 0 && avail == 8, "avail %d", avail);
    n = read(r, buf, sizeof buf);
    CHECK("one_line_per_read", n == 4 && memcmp(buf, "one\n", 4) == 0, "got %zd", n);
    n = read(r, buf, 2);
    CHECK("partial_line", n == 2 && memcmp(buf, "tw", 2) == 0, "got %zd", n);
    n = read(r, buf, sizeof buf);
    CHECK("rest_of_line", n == 2 && memcmp(buf, "o\n", 2) == 0, "got %zd", n);
    read_avail(m, buf, sizeof buf);
    // EOF: ends a line without a newline; alone it reads as 0.
    write(m, "xy\x04", 3);
    n = read_avail(r, buf, sizeof buf);
    CHECK("eof_ends_line", n == 2 && memcmp(buf, "xy", 2) == 0, "got %zd", n);
    write(m, "\x04", 1);
    n = read_avail(r, buf, sizeof buf);
    CHECK("eof_alone_reads_0", n == 0, "got %zd", n);
    read_avail(m, buf, sizeof buf);
    // ICRNL: a typed CR arrives as NL.
    write(m, "cr\r", 3);
    n = read_avail(r, buf, sizeof buf);
    CHECK("icrnl", n == 3 && memcmp(buf, "cr\n", 3) == 0, "got %zd", n);
    read_avail(m, buf, sizeof buf);
    // OPOST/ONLCR on output.
    write(r, "hi\n", 3);
    n = read_avail(m, buf, sizeof buf);
    CHECK("onlcr_output", n == 4 && memcmp(buf, "hi\r\n", 4) == 0, "got %zd", n);
    // poll: the replica is not readable until a line is complete.
    write(m, "par", 3);
    struct pollfd p = {r, POLLIN, 0};
    CHECK("poll_incomplete_line", poll(&p, 1, 50) == 0, "revents %x", p.revents);
    write(m, "\n", 1);
    CHECK("poll_complete_line", poll(&p, 1, 1000) == 1 && (p.revents & POLLIN), "revents %x", p.revents);
    read(r, buf, sizeof buf);
    read_avail(m, buf, sizeof buf);

    // Non-canonical: VMIN=0/VTIME=0 returns at once; VMIN=3 waits for three bytes; VTIME times out.
    struct termios t;
    tcgetattr(r, &t);
    struct termios saved = t;
    cfmakeraw(&t);
    t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0;
    CHECK("tcsetattr_raw", tcsetattr(r, TCSANOW, &t) == 0, "tcsetattr");
    struct termios back; tcgetattr(r, &back);
    CHECK("tcgetattr_roundtrip", !(back.c_lflag & ICANON) && !(back.c_lflag & ECHO) && back.c_cc[VMIN] == 0, "lflag %x", back.c_lflag);
    n = read(r, buf, sizeof buf);
    CHECK("vmin0_vtime0_empty", n == 0, "got %zd", n);
    t.c_cc[VMIN] = 3;
    tcsetattr(r, TCSANOW, &t);
    write(m, "ab", 2);
    pid_t child = fork();
    if (child == 0) { usleep(100000); write(m, "c", 1); _exit(0); }
    n = read(r, buf, sizeof buf);
    CHECK("vmin3", n == 3 && memcmp(buf, "abc", 3) == 0, "got %zd", n);
    waitpid(child, NULL, 0);
    t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 2;
    tcsetattr(r, TCSANOW, &t);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    n = read(r, buf, sizeof buf);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    CHECK("vtime_timeout", n == 0 && ms >= 150 && ms < 2000, "got %zd after %ld ms", n, ms);
    struct pollfd quiet = {m, POLLIN, 0};
    CHECK("raw_mode_no_echo", poll(&quiet, 1, 50) == 0, "revents %x", quiet.revents);
    tcsetattr(r, TCSANOW, &saved);
    // Window size.
    struct winsize ws = {.ws_row = 33, .ws_col = 101};
    struct winsize got = {0};
    CHECK("winsize", ioctl(m, TIOCSWINSZ, &ws) == 0 && ioctl(r, TIOCGWINSZ, &got) == 0 && got.ws_row == 33 && got.ws_col == 101,
          "rows %d cols %d", got.ws_row, got.ws_col);
    // Master sees EIO and POLLHUP once the replica is closed.
    close(r);
    struct pollfd mp = {m, POLLIN, 0};
    CHECK("master_pollhup", poll(&mp, 1, 1000) == 1 && (mp.revents & POLLHUP), "revents %x", mp.revents);
    n = read(m, buf, sizeof buf);
    CHECK("master_read_eio", n < 0 && errno == EIO, "got %zd", n);
    close(m);
}

/// The child becomes a session leader whose controlling terminal is the replica (opened without O_NOCTTY).
static int become_controlled(const char *name) {
    setsid();
    int fd = open(name, O_RDWR);
    return fd;
}

static void test_job_control(void) {
    int m, r;
    if (open_pair(&m, &r)) { CHECK("jc_pair", 0, "open_pair"); return; }
    char name[64]; strcpy(name, ptsname(m));
    close(r);
    int sync[2]; pipe(sync);
    char buf[256], shown[1024];

    // ^C: SIGINT to the foreground group; echo "^C".
    pid_t child = fork();
    if (child == 0) {
        int fd = become_controlled(name);
        signal(SIGINT, on_signal);
        int ok = fd >= 0 && tcgetpgrp(fd) == getpid() && tcgetsid(fd) == getpid();
        int tty = open("/dev/tty", O_RDWR);
        ok = ok && tty >= 0;
        write(sync[1], ok ? "y" : "n", 1);
        _exit(wait_signal(3000) == SIGINT ? 42 : 1);
    }
    read(sync[0], buf, 1);
    CHECK("setsid_open_makes_ctty", buf[0] == 'y', "child reported %c", buf[0]);
    write(m, "\x03", 1);
    int status = 0;
    waitpid(child, &status, 0);
    CHECK("ctrl_c_sigint", WIFEXITED(status) && WEXITSTATUS(status) == 42, "status %x", status);
    ssize_t n = read_avail(m, buf, sizeof buf); show(buf, n > 0 ? n : 0, shown);
    CHECK("ctrl_c_echo", n >= 2 && memcmp(buf, "^C", 2) == 0, "echo '%s'", shown);

    // TIOCSWINSZ on the master: SIGWINCH to the foreground group.
    child = fork();
    if (child == 0) {
        int fd = become_controlled(name);
        signal(SIGWINCH, on_signal);
        write(sync[1], "y", 1);
        if (wait_signal(3000) != SIGWINCH) _exit(1);
        struct winsize ws;
        ioctl(fd, TIOCGWINSZ, &ws);
        _exit(ws.ws_row == 40 && ws.ws_col == 120 ? 43 : 2);
    }
    read(sync[0], buf, 1);
    struct winsize ws = {.ws_row = 40, .ws_col = 120};
    ioctl(m, TIOCSWINSZ, &ws);
    waitpid(child, &status, 0);
    CHECK("sigwinch", WIFEXITED(status) && WEXITSTATUS(status) == 43, "status %x", status);

    // A background group reading its controlling terminal is stopped by SIGTTIN; with SIGTTIN ignored: EIO.
    child = fork();
    if (child == 0) {
        int fd = become_controlled(name);
        pid_t bg = fork();
        if (bg == 0) { setpgid(0, 0); char c; read(fd, &c, 1); _exit(0); }
        int st = 0;
        waitpid(bg, &st, WUNTRACED);
        int stopped = WIFSTOPPED(st) && WSTOPSIG(st) == SIGTTIN;
        kill(bg, SIGKILL); waitpid(bg, &st, 0);
        bg = fork();
        if (bg == 0) {
            setpgid(0, 0); signal(SIGTTIN, SIG_IGN);
            char c; ssize_t k = read(fd, &c, 1);
            _exit(k < 0 && errno == EIO ? 7 : 8);
        }
        waitpid(bg, &st, 0);
        int eio = WIFEXITED(st) && WEXITSTATUS(st) == 7;
        // tcsetpgrp hands the terminal to another group of the session.
        pid_t other = fork();
        if (other == 0) { setpgid(0, 0); pause(); _exit(0); }
        setpgid(other, other);
        signal(SIGTTOU, SIG_IGN);
        int moved = tcsetpgrp(fd, other) == 0 && tcgetpgrp(fd) == other;
        int bad = tcsetpgrp(fd, 99999) < 0 && errno == ESRCH;
        tcsetpgrp(fd, getpgrp());
        kill(other, SIGKILL); waitpid(other, &st, 0);
        _exit((stopped ? 1 : 0) | (eio ? 2 : 0) | (moved ? 4 : 0) | (bad ? 8 : 0) | 16);
    }
    waitpid(child, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    CHECK("background_read_sigttin", code & 1, "code %x", code);
    CHECK("background_read_ignored_eio", code & 2, "code %x", code);
    CHECK("tcsetpgrp", code & 4, "code %x", code);
    CHECK("tcsetpgrp_unknown_group_esrch", code & 8, "code %x", code);

    // TIOCSCTTY / TIOCNOTTY / TIOCGSID.
    child = fork();
    if (child == 0) {
        setsid();
        int fd = open(name, O_RDWR | O_NOCTTY);
        pid_t sid = 0;
        int before = ioctl(fd, TIOCGSID, &sid) < 0 && errno == ENOTTY;
        int set = ioctl(fd, TIOCSCTTY, 0) == 0 && ioctl(fd, TIOCGSID, &sid) == 0 && sid == getpid();
        signal(SIGHUP, SIG_IGN);
        int dropped = ioctl(fd, TIOCNOTTY) == 0 && ioctl(fd, TIOCGSID, &sid) < 0;
        _exit((before ? 1 : 0) | (set ? 2 : 0) | (dropped ? 4 : 0));
    }
    waitpid(child, &status, 0);
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    CHECK("tiocsctty_tiocgsid_tiocnotty", code == 7, "code %x", code);
    while (read_avail(m, buf, sizeof buf) > 0) {}

    // A session leader's exit sends SIGHUP to the foreground group (here a member left in the leader's group).
    child = fork();
    if (child == 0) {
        close(m);
        become_controlled(name);
        if (fork() == 0) {
            signal(SIGHUP, on_signal);
            write(sync[1], "y", 1);
            int got = wait_signal(3000);
            write(sync[1], got == SIGHUP ? "H" : "T", 1);
            _exit(0);
        }
        char c; read(sync[0], &c, 1);
        _exit(0);
    }
    waitpid(child, &status, 0);
    n = read_avail(sync[0], buf, 1);
    CHECK("leader_exit_sighup", n == 1 && buf[0] == 'H', "member reported %c", n == 1 ? buf[0] : '?');

    // Closing the master hangs up: SIGHUP to the foreground group, reads see end of file, writes EIO.
    child = fork();
    if (child == 0) {
        close(m);  // the master must close everywhere for the hang-up
        int fd = become_controlled(name);
        signal(SIGHUP, on_signal);
        write(sync[1], "y", 1);
        if (wait_signal(3000) != SIGHUP) _exit(1);
        char c;
        ssize_t k = read(fd, &c, 1);
        ssize_t w = write(fd, "x", 1);
        _exit(k == 0 && w < 0 && errno == EIO ? 44 : 3);
    }
    read(sync[0], buf, 1);
    close(m);
    waitpid(child, &status, 0);
    CHECK("hangup", WIFEXITED(status) && WEXITSTATUS(status) == 44, "status %x", status);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    alarm(60);  // a hang fails the test instead of stalling the suite
    test_basics();
    test_line_discipline();
    test_job_control();
    printf("failures %d\n", failures);
    return failures;
}
