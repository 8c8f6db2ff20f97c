// Threads sharing memory: a mutex-protected counter, a condition-variable ping-pong, thread-local storage,
// and a thread that maps memory the others then use.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_value;
static char *shared_map;

static void *adder(void *arg) {
    tls_value = (int)(long)arg;
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return (void *)(long)(tls_value * 2);
}

static void *pong(void *arg) {
    (void)arg;
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&lock);
        while (turn != 1) pthread_cond_wait(&cond, &lock);
        turn = 0;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *mapper(void *arg) {
    (void)arg;
    shared_map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(shared_map, "mapped by a thread");
    return NULL;
}

int main(void) {
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], NULL, adder, (void *)(i + 1));
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *r; pthread_join(t[i], &r); sum += (long)r; }
    printf("counter=%ld tls-sum=%ld\n", counter, sum);

    pthread_t p;
    pthread_create(&p, NULL, pong, NULL);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&lock);
        turn = 1;
        pthread_cond_signal(&cond);
        while (turn != 0) pthread_cond_wait(&cond, &lock);
        pthread_mutex_unlock(&lock);
    }
    pthread_join(p, NULL);
    printf("ping-pong done\n");

    pthread_t m;
    pthread_create(&m, NULL, mapper, NULL);
    pthread_join(m, NULL);
    printf("%s\n", shared_map);
    munmap(shared_map, 1 << 20);
    printf("tid!=pid: %d\n", (int)syscall(SYS_gettid) == getpid());
    return 0;
}
