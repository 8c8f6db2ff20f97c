// x86-64 system call numbers, generated from the kernel's asm/unistd_64.h. Pure data.

/// The x86-64 system call numbers the app-facing ABI uses.
public enum SyscallNumber {
    public static let read: Int = 0
    public static let write: Int = 1
    public static let open: Int = 2
    public static let close: Int = 3
    public static let stat: Int = 4
    public static let fstat: Int = 5
    public static let lstat: Int = 6
    public static let poll: Int = 7
    public static let lseek: Int = 8
    public static let mmap: Int = 9
    public static let mprotect: Int = 10
    public static let munmap: Int = 11
    public static let brk: Int = 12
    public static let rt_sigaction: Int = 13
    public static let rt_sigprocmask: Int = 14
    public static let rt_sigreturn: Int = 15
    public static let ioctl: Int = 16
    public static let pread64: Int = 17
    public static let pwrite64: Int = 18
    public static let readv: Int = 19
    public static let writev: Int = 20
    public static let access: Int = 21
    public static let pipe: Int = 22
    public static let select: Int = 23
    public static let sched_yield: Int = 24
    public static let mremap: Int = 25
    public static let msync: Int = 26
    public static let mincore: Int = 27
    public static let madvise: Int = 28
    public static let shmget: Int = 29
    public static let shmat: Int = 30
    public static let shmctl: Int = 31
    public static let dup: Int = 32
    public static let dup2: Int = 33
    public static let pause: Int = 34
    public static let nanosleep: Int = 35
    public static let getitimer: Int = 36
    public static let alarm: Int = 37
    public static let setitimer: Int = 38
    public static let getpid: Int = 39
    public static let sendfile: Int = 40
    public static let socket: Int = 41
    public static let connect: Int = 42
    public static let accept: Int = 43
    public static let sendto: Int = 44
    public static let recvfrom: Int = 45
    public static let sendmsg: Int = 46
    public static let recvmsg: Int = 47
    public static let shutdown: Int = 48
    public static let bind: Int = 49
    public static let listen: Int = 50
    public static let getsockname: Int = 51
    public static let getpeername: Int = 52
    public static let socketpair: Int = 53
    public static let setsockopt: Int = 54
    public static let getsockopt: Int = 55
    public static let clone: Int = 56
    public static let fork: Int = 57
    public static let vfork: Int = 58
    public static let execve: Int = 59
    public static let exit: Int = 60
    public static let wait4: Int = 61
    public static let kill: Int = 62
    public static let uname: Int = 63
    public static let semget: Int = 64
    public static let semop: Int = 65
    public static let semctl: Int = 66
    public static let shmdt: Int = 67
    public static let msgget: Int = 68
    public static let msgsnd: Int = 69
    public static let msgrcv: Int = 70
    public static let msgctl: Int = 71
    public static let fcntl: Int = 72
    public static let flock: Int = 73
    public static let fsync: Int = 74
    public static let fdatasync: Int = 75
    public static let truncate: Int = 76
    public static let ftruncate: Int = 77
    public static let getdents: Int = 78
    public static let getcwd: Int = 79
    public static let chdir: Int = 80
    public static let fchdir: Int = 81
    public static let rename: Int = 82
    public static let mkdir: Int = 83
    public static let rmdir: Int = 84
    public static let creat: Int = 85
    public static let link: Int = 86
    public static let unlink: Int = 87
    public static let symlink: Int = 88
    public static let readlink: Int = 89
    public static let chmod: Int = 90
    public static let fchmod: Int = 91
    public static let chown: Int = 92
    public static let fchown: Int = 93
    public static let lchown: Int = 94
    public static let umask: Int = 95
    public static let gettimeofday: Int = 96
    public static let getrlimit: Int = 97
    public static let getrusage: Int = 98
    public static let sysinfo: Int = 99
    public static let times: Int = 100
    public static let ptrace: Int = 101
    public static let getuid: Int = 102
    public static let syslog: Int = 103
    public static let getgid: Int = 104
    public static let setuid: Int = 105
    public static let setgid: Int = 106
    public static let geteuid: Int = 107
    public static let getegid: Int = 108
    public static let setpgid: Int = 109
    public static let getppid: Int = 110
    public static let getpgrp: Int = 111
    public static let setsid: Int = 112
    public static let setreuid: Int = 113
    public static let setregid: Int = 114
    public static let getgroups: Int = 115
    public static let setgroups: Int = 116
    public static let setresuid: Int = 117
    public static let getresuid: Int = 118
    public static let setresgid: Int = 119
    public static let getresgid: Int = 120
    public static let getpgid: Int = 121
    public static let setfsuid: Int = 122
    public static let setfsgid: Int = 123
    public static let getsid: Int = 124
    public static let capget: Int = 125
    public static let capset: Int = 126
    public static let rt_sigpending: Int = 127
    public static let rt_sigtimedwait: Int = 128
    public static let rt_sigqueueinfo: Int = 129
    public static let rt_sigsuspend: Int = 130
    public static let sigaltstack: Int = 131
    public static let utime: Int = 132
    public static let mknod: Int = 133
    public static let uselib: Int = 134
    public static let personality: Int = 135
    public static let ustat: Int = 136
    public static let statfs: Int = 137
    public static let fstatfs: Int = 138
    public static let sysfs: Int = 139
    public static let getpriority: Int = 140
    public static let setpriority: Int = 141
    public static let sched_setparam: Int = 142
    public static let sched_getparam: Int = 143
    public static let sched_setscheduler: Int = 144
    public static let sched_getscheduler: Int = 145
    public static let sched_get_priority_max: Int = 146
    public static let sched_get_priority_min: Int = 147
    public static let sched_rr_get_interval: Int = 148
    public static let mlock: Int = 149
    public static let munlock: Int = 150
    public static let mlockall: Int = 151
    public static let munlockall: Int = 152
    public static let vhangup: Int = 153
    public static let modify_ldt: Int = 154
    public static let pivot_root: Int = 155
    public static let _sysctl: Int = 156
    public static let prctl: Int = 157
    public static let arch_prctl: Int = 158
    public static let adjtimex: Int = 159
    public static let setrlimit: Int = 160
    public static let chroot: Int = 161
    public static let sync: Int = 162
    public static let acct: Int = 163
    public static let settimeofday: Int = 164
    public static let mount: Int = 165
    public static let umount2: Int = 166
    public static let swapon: Int = 167
    public static let swapoff: Int = 168
    public static let reboot: Int = 169
    public static let sethostname: Int = 170
    public static let setdomainname: Int = 171
    public static let iopl: Int = 172
    public static let ioperm: Int = 173
    public static let create_module: Int = 174
    public static let init_module: Int = 175
    public static let delete_module: Int = 176
    public static let get_kernel_syms: Int = 177
    public static let query_module: Int = 178
    public static let quotactl: Int = 179
    public static let nfsservctl: Int = 180
    public static let getpmsg: Int = 181
    public static let putpmsg: Int = 182
    public static let afs_syscall: Int = 183
    public static let tuxcall: Int = 184
    public static let security: Int = 185
    public static let gettid: Int = 186
    public static let readahead: Int = 187
    public static let setxattr: Int = 188
    public static let lsetxattr: Int = 189
    public static let fsetxattr: Int = 190
    public static let getxattr: Int = 191
    public static let lgetxattr: Int = 192
    public static let fgetxattr: Int = 193
    public static let listxattr: Int = 194
    public static let llistxattr: Int = 195
    public static let flistxattr: Int = 196
    public static let removexattr: Int = 197
    public static let lremovexattr: Int = 198
    public static let fremovexattr: Int = 199
    public static let tkill: Int = 200
    public static let time: Int = 201
    public static let futex: Int = 202
    public static let sched_setaffinity: Int = 203
    public static let sched_getaffinity: Int = 204
    public static let set_thread_area: Int = 205
    public static let io_setup: Int = 206
    public static let io_destroy: Int = 207
    public static let io_getevents: Int = 208
    public static let io_submit: Int = 209
    public static let io_cancel: Int = 210
    public static let get_thread_area: Int = 211
    public static let lookup_dcookie: Int = 212
    public static let epoll_create: Int = 213
    public static let epoll_ctl_old: Int = 214
    public static let epoll_wait_old: Int = 215
    public static let remap_file_pages: Int = 216
    public static let getdents64: Int = 217
    public static let set_tid_address: Int = 218
    public static let restart_syscall: Int = 219
    public static let semtimedop: Int = 220
    public static let fadvise64: Int = 221
    public static let timer_create: Int = 222
    public static let timer_settime: Int = 223
    public static let timer_gettime: Int = 224
    public static let timer_getoverrun: Int = 225
    public static let timer_delete: Int = 226
    public static let clock_settime: Int = 227
    public static let clock_gettime: Int = 228
    public static let clock_getres: Int = 229
    public static let clock_nanosleep: Int = 230
    public static let exit_group: Int = 231
    public static let epoll_wait: Int = 232
    public static let epoll_ctl: Int = 233
    public static let tgkill: Int = 234
    public static let utimes: Int = 235
    public static let vserver: Int = 236
    public static let mbind: Int = 237
    public static let set_mempolicy: Int = 238
    public static let get_mempolicy: Int = 239
    public static let mq_open: Int = 240
    public static let mq_unlink: Int = 241
    public static let mq_timedsend: Int = 242
    public static let mq_timedreceive: Int = 243
    public static let mq_notify: Int = 244
    public static let mq_getsetattr: Int = 245
    public static let kexec_load: Int = 246
    public static let waitid: Int = 247
    public static let add_key: Int = 248
    public static let request_key: Int = 249
    public static let keyctl: Int = 250
    public static let ioprio_set: Int = 251
    public static let ioprio_get: Int = 252
    public static let inotify_init: Int = 253
    public static let inotify_add_watch: Int = 254
    public static let inotify_rm_watch: Int = 255
    public static let migrate_pages: Int = 256
    public static let openat: Int = 257
    public static let mkdirat: Int = 258
    public static let mknodat: Int = 259
    public static let fchownat: Int = 260
    public static let futimesat: Int = 261
    public static let newfstatat: Int = 262
    public static let unlinkat: Int = 263
    public static let renameat: Int = 264
    public static let linkat: Int = 265
    public static let symlinkat: Int = 266
    public static let readlinkat: Int = 267
    public static let fchmodat: Int = 268
    public static let faccessat: Int = 269
    public static let pselect6: Int = 270
    public static let ppoll: Int = 271
    public static let unshare: Int = 272
    public static let set_robust_list: Int = 273
    public static let get_robust_list: Int = 274
    public static let splice: Int = 275
    public static let tee: Int = 276
    public static let sync_file_range: Int = 277
    public static let vmsplice: Int = 278
    public static let move_pages: Int = 279
    public static let utimensat: Int = 280
    public static let epoll_pwait: Int = 281
    public static let signalfd: Int = 282
    public static let timerfd_create: Int = 283
    public static let eventfd: Int = 284
    public static let fallocate: Int = 285
    public static let timerfd_settime: Int = 286
    public static let timerfd_gettime: Int = 287
    public static let accept4: Int = 288
    public static let signalfd4: Int = 289
    public static let eventfd2: Int = 290
    public static let epoll_create1: Int = 291
    public static let dup3: Int = 292
    public static let pipe2: Int = 293
    public static let inotify_init1: Int = 294
    public static let preadv: Int = 295
    public static let pwritev: Int = 296
    public static let rt_tgsigqueueinfo: Int = 297
    public static let perf_event_open: Int = 298
    public static let recvmmsg: Int = 299
    public static let fanotify_init: Int = 300
    public static let fanotify_mark: Int = 301
    public static let prlimit64: Int = 302
    public static let name_to_handle_at: Int = 303
    public static let open_by_handle_at: Int = 304
    public static let clock_adjtime: Int = 305
    public static let syncfs: Int = 306
    public static let sendmmsg: Int = 307
    public static let setns: Int = 308
    public static let getcpu: Int = 309
    public static let process_vm_readv: Int = 310
    public static let process_vm_writev: Int = 311
    public static let kcmp: Int = 312
    public static let finit_module: Int = 313
    public static let sched_setattr: Int = 314
    public static let sched_getattr: Int = 315
    public static let renameat2: Int = 316
    public static let seccomp: Int = 317
    public static let getrandom: Int = 318
    public static let memfd_create: Int = 319
    public static let kexec_file_load: Int = 320
    public static let bpf: Int = 321
    public static let execveat: Int = 322
    public static let userfaultfd: Int = 323
    public static let membarrier: Int = 324
    public static let mlock2: Int = 325
    public static let copy_file_range: Int = 326
    public static let preadv2: Int = 327
    public static let pwritev2: Int = 328
    public static let pkey_mprotect: Int = 329
    public static let pkey_alloc: Int = 330
    public static let pkey_free: Int = 331
    public static let statx: Int = 332
    public static let io_pgetevents: Int = 333
    public static let rseq: Int = 334
    public static let pidfd_send_signal: Int = 424
    public static let io_uring_setup: Int = 425
    public static let io_uring_enter: Int = 426
    public static let io_uring_register: Int = 427
    public static let open_tree: Int = 428
    public static let move_mount: Int = 429
    public static let fsopen: Int = 430
    public static let fsconfig: Int = 431
    public static let fsmount: Int = 432
    public static let fspick: Int = 433
    public static let pidfd_open: Int = 434
    public static let clone3: Int = 435
    public static let close_range: Int = 436
    public static let openat2: Int = 437
    public static let pidfd_getfd: Int = 438
    public static let faccessat2: Int = 439
    public static let process_madvise: Int = 440
    public static let epoll_pwait2: Int = 441
    public static let mount_setattr: Int = 442
    public static let quotactl_fd: Int = 443
    public static let landlock_create_ruleset: Int = 444
    public static let landlock_add_rule: Int = 445
    public static let landlock_restrict_self: Int = 446
    public static let memfd_secret: Int = 447
    public static let process_mrelease: Int = 448
    public static let futex_waitv: Int = 449
    public static let set_mempolicy_home_node: Int = 450
}

/// Names of the x86-64 system calls indexed by number (empty where the number is unused).
public let syscallNames: [String] = [
    "read", "write", "open", "close", "stat", "fstat",
    "lstat", "poll", "lseek", "mmap", "mprotect", "munmap",
    "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl", "pread64",
    "pwrite64", "readv", "writev", "access", "pipe", "select",
    "sched_yield", "mremap", "msync", "mincore", "madvise", "shmget",
    "shmat", "shmctl", "dup", "dup2", "pause", "nanosleep",
    "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",
    "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg",
    "shutdown", "bind", "listen", "getsockname", "getpeername", "socketpair",
    "setsockopt", "getsockopt", "clone", "fork", "vfork", "execve",
    "exit", "wait4", "kill", "uname", "semget", "semop",
    "semctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl",
    "fcntl", "flock", "fsync", "fdatasync", "truncate", "ftruncate",
    "getdents", "getcwd", "chdir", "fchdir", "rename", "mkdir",
    "rmdir", "creat", "link", "unlink", "symlink", "readlink",
    "chmod", "fchmod", "chown", "fchown", "lchown", "umask",
    "gettimeofday", "getrlimit", "getrusage", "sysinfo", "times", "ptrace",
    "getuid", "syslog", "getgid", "setuid", "setgid", "geteuid",
    "getegid", "setpgid", "getppid", "getpgrp", "setsid", "setreuid",
    "setregid", "getgroups", "setgroups", "setresuid", "getresuid", "setresgid",
    "getresgid", "getpgid", "setfsuid", "setfsgid", "getsid", "capget",
    "capset", "rt_sigpending", "rt_sigtimedwait", "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack",
    "utime", "mknod", "uselib", "personality", "ustat", "statfs",
    "fstatfs", "sysfs", "getpriority", "setpriority", "sched_setparam", "sched_getparam",
    "sched_setscheduler", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "mlock",
    "munlock", "mlockall", "munlockall", "vhangup", "modify_ldt", "pivot_root",
    "_sysctl", "prctl", "arch_prctl", "adjtimex", "setrlimit", "chroot",
    "sync", "acct", "settimeofday", "mount", "umount2", "swapon",
    "swapoff", "reboot", "sethostname", "setdomainname", "iopl", "ioperm",
    "create_module", "init_module", "delete_module", "get_kernel_syms", "query_module", "quotactl",
    "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security",
    "gettid", "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
    "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
    "lremovexattr", "fremovexattr", "tkill", "time", "futex", "sched_setaffinity",
    "sched_getaffinity", "set_thread_area", "io_setup", "io_destroy", "io_getevents", "io_submit",
    "io_cancel", "get_thread_area", "lookup_dcookie", "epoll_create", "epoll_ctl_old", "epoll_wait_old",
    "remap_file_pages", "getdents64", "set_tid_address", "restart_syscall", "semtimedop", "fadvise64",
    "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete", "clock_settime",
    "clock_gettime", "clock_getres", "clock_nanosleep", "exit_group", "epoll_wait", "epoll_ctl",
    "tgkill", "utimes", "vserver", "mbind", "set_mempolicy", "get_mempolicy",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
    "kexec_load", "waitid", "add_key", "request_key", "keyctl", "ioprio_set",
    "ioprio_get", "inotify_init", "inotify_add_watch", "inotify_rm_watch", "migrate_pages", "openat",
    "mkdirat", "mknodat", "fchownat", "futimesat", "newfstatat", "unlinkat",
    "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat", "faccessat",
    "pselect6", "ppoll", "unshare", "set_robust_list", "get_robust_list", "splice",
    "tee", "sync_file_range", "vmsplice", "move_pages", "utimensat", "epoll_pwait",
    "signalfd", "timerfd_create", "eventfd", "fallocate", "timerfd_settime", "timerfd_gettime",
    "accept4", "signalfd4", "eventfd2", "epoll_create1", "dup3", "pipe2",
    "inotify_init1", "preadv", "pwritev", "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg",
    "fanotify_init", "fanotify_mark", "prlimit64", "name_to_handle_at", "open_by_handle_at", "clock_adjtime",
    "syncfs", "sendmmsg", "setns", "getcpu", "process_vm_readv", "process_vm_writev",
    "kcmp", "finit_module", "sched_setattr", "sched_getattr", "renameat2", "seccomp",
    "getrandom", "memfd_create", "kexec_file_load", "bpf", "execveat", "userfaultfd",
    "membarrier", "mlock2", "copy_file_range", "preadv2", "pwritev2", "pkey_mprotect",
    "pkey_alloc", "pkey_free", "statx", "io_pgetevents", "rseq", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "", "",
    "", "", "", "", "pidfd_send_signal", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig",
    "fsmount", "fspick", "pidfd_open", "clone3", "close_range", "openat2",
    "pidfd_getfd", "faccessat2", "process_madvise", "epoll_pwait2", "mount_setattr", "quotactl_fd",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "memfd_secret", "process_mrelease", "futex_waitv",
    "set_mempolicy_home_node",
]

/// The name of system call `number`, or `syscall_N` when the number is not a known one.
public func syscallName(_ number: Int) -> String {
    if number >= 0, number < syscallNames.count, !syscallNames[number].isEmpty { return syscallNames[number] }
    return "syscall_\(number)"
}
