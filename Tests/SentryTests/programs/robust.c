// Robust mutexes: when the owner dies holding the lock, the next locker gets EOWNERDEAD (thread and process).
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    return NULL;  // the thread ends with the mutex held
}

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&m, &a);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&m);
    printf("thread owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
    pthread_mutex_consistent(&m);
    pthread_mutex_unlock(&m);

    pthread_mutex_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(shared, &a);
    pid_t pid = fork();
    if (pid == 0) { pthread_mutex_lock(shared); _exit(0); }
    waitpid(pid, NULL, 0);
    r = pthread_mutex_lock(shared);
    printf("process owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
    return 0;
}
