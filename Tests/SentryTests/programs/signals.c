// Signals: job control stop/continue seen by wait, handlers on an alternate stack, sigqueue values,
// sigtimedwait, SA_RESTART vs EINTR, and SIGSEGV with the faulting address.
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char altstack[65536];
static volatile int on_alt, got_value, segv_ok;
static volatile void *fault_addr;

static void alt_handler(int sig) {
    (void)sig;
    char local;
    on_alt = (&local >= altstack && &local < altstack + sizeof altstack);
}

static void value_handler(int sig, siginfo_t *info, void *uc) {
    (void)sig; (void)uc;
    got_value = info->si_value.sival_int;
}

static void segv_handler(int sig, siginfo_t *info, void *uc) {
    (void)sig; (void)uc;
    segv_ok = (info->si_addr == fault_addr);
    _exit(segv_ok ? 42 : 43);
}

static void alarm_handler(int sig) { (void)sig; }

int main(void) {
    // Job control.
    pid_t pid = fork();
    if (pid == 0) { raise(SIGSTOP); usleep(200000); _exit(7); }
    int status;
    waitpid(pid, &status, WUNTRACED);
    printf("stopped=%d sig=%d\n", WIFSTOPPED(status), WIFSTOPPED(status) ? WSTOPSIG(status) : 0);
    kill(pid, SIGCONT);
    waitpid(pid, &status, WCONTINUED);
    printf("continued=%d\n", WIFCONTINUED(status));
    waitpid(pid, &status, 0);
    printf("exited=%d code=%d\n", WIFEXITED(status), WEXITSTATUS(status));

    // Alternate signal stack.
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, NULL);
    struct sigaction sa = { 0 };
    sa.sa_handler = alt_handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("on_alt=%d\n", on_alt);

    // sigqueue with a value.
    struct sigaction sv = { 0 };
    sv.sa_sigaction = value_handler;
    sv.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &sv, NULL);
    union sigval v = { .sival_int = 1234 };
    sigqueue(getpid(), SIGRTMIN + 1, v);
    printf("value=%d\n", got_value);

    // sigtimedwait on a blocked signal.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    struct timespec ts = { 1, 0 };
    siginfo_t info;
    int s = sigtimedwait(&set, &info, &ts);
    printf("sigtimedwait=%d pid-ok=%d\n", s, info.si_pid == getpid());
    ts.tv_sec = 0; ts.tv_nsec = 10 * 1000 * 1000;
    s = sigtimedwait(&set, &info, &ts);
    printf("timeout=%d errno-eagain=%d\n", s, errno == EAGAIN);

    // A blocking read interrupted by a handler without SA_RESTART fails with EINTR.
    int fds[2];
    pipe(fds);
    struct sigaction al = { 0 };
    al.sa_handler = alarm_handler;
    sigaction(SIGALRM, &al, NULL);
    pid = fork();
    if (pid == 0) { usleep(50000); kill(getppid(), SIGALRM); _exit(0); }
    char c;
    ssize_t n = read(fds[0], &c, 1);
    printf("read=%zd eintr=%d\n", n, errno == EINTR);
    waitpid(pid, NULL, 0);

    // SIGSEGV reports the faulting address.
    pid = fork();
    if (pid == 0) {
        struct sigaction sg = { 0 };
        sg.sa_sigaction = segv_handler;
        sg.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sg, NULL);
        fault_addr = (void *)0x1234000;
        *(volatile int *)fault_addr = 1;
        _exit(1);
    }
    waitpid(pid, &status, 0);
    printf("segv-handler=%d\n", WEXITSTATUS(status));
    return 0;
}
