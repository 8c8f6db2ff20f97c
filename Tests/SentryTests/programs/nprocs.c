// glibc's CPU counts, which read /sys/devices/system/cpu/{online,possible}.
#include <stdio.h>
#include <sys/sysinfo.h>
#include <unistd.h>
int main(void) {
    printf("nprocs %d conf %d onln %ld conf %ld\n", get_nprocs(), get_nprocs_conf(), sysconf(_SC_NPROCESSORS_ONLN),
           sysconf(_SC_NPROCESSORS_CONF));
    return 0;
}
