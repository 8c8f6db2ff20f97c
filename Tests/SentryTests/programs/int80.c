// The 32-bit syscall ABI (int $0x80) is not offered: it must fail with ENOSYS, not run the 64-bit
// syscall with the same number (i386 20 is getpid, x86-64 20 is writev).
#include <stdio.h>

int main(void) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    printf("int80 getpid=%ld\n", ret);
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(39L), "b"(0L), "c"(0L) : "memory");  // i386 mkdir
    printf("int80 mkdir=%ld\n", ret);
    return 0;
}
