// Priority-inheritance mutexes (FUTEX_LOCK_PI/UNLOCK_PI/TRYLOCK_PI) under contention, and a robust PI
// mutex whose owner dies.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t m;
static long counter;

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&m);
        counter++;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

static pthread_mutex_t robust;
static void *die_holding(void *arg) { (void)arg; pthread_mutex_lock(&robust); return NULL; }

int main(void) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&m, &a);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("pi counter=%ld\n", counter);
    pthread_mutex_lock(&m);
    printf("trylock while held: %s\n", pthread_mutex_trylock(&m) == EBUSY ? "EBUSY" : "other");
    pthread_mutex_unlock(&m);

    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &a);
    pthread_t d;
    pthread_create(&d, NULL, die_holding, NULL);
    pthread_join(d, NULL);
    printf("robust pi: %s\n", pthread_mutex_lock(&robust) == EOWNERDEAD ? "EOWNERDEAD" : "other");
    return 0;
}
