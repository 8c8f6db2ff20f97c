// Constants of the x86-64 Linux ABI for interval and POSIX timers, CPU-time clocks, resource usage,
// System V IPC (shm, sem, msg) and POSIX message queues. Pure data.

/// siginfo si_code values the timers and queues use.
public enum SignalCodes {
    public static let SI_USER: Int32 = 0, SI_KERNEL: Int32 = 0x80, SI_QUEUE: Int32 = -1
    public static let SI_TIMER: Int32 = -2, SI_MESGQ: Int32 = -3
}

/// struct sigevent: sigev_value @0 (8 bytes), sigev_signo @8, sigev_notify @12, sigev_tid @16; 64 bytes.
public enum SigEvent {
    public static let SIGEV_SIGNAL: Int32 = 0, SIGEV_NONE: Int32 = 1, SIGEV_THREAD: Int32 = 2, SIGEV_THREAD_ID: Int32 = 4
    public static let size = 64
}

/// setitimer/getitimer and timer_settime.
public enum TimerABI {
    public static let ITIMER_REAL: Int32 = 0, ITIMER_VIRTUAL: Int32 = 1, ITIMER_PROF: Int32 = 2
    public static let TIMER_ABSTIME = 1
    /// DELAYTIMER_MAX: overrun counts saturate here.
    public static let delayTimerMax: Int32 = Int32.max
}

/// Clock ids of CPU-time clocks: `(~pid << 3) | perThread << 2 | which` (clock_getcpuclockid,
/// pthread_getcpuclockid).
public enum CPUClockABI {
    public static let CPUCLOCK_PROF: Int32 = 0, CPUCLOCK_VIRT: Int32 = 1, CPUCLOCK_SCHED: Int32 = 2
    public static let perThreadMask: Int32 = 4, whichMask: Int32 = 3
    /// The `which` value 3 marks a file-descriptor clock (dynamic POSIX clocks).
    public static let CLOCKFD: Int32 = 3
}

/// getrusage(2) `who` and the size of struct rusage.
public enum RusageABI {
    public static let RUSAGE_SELF: Int32 = 0, RUSAGE_CHILDREN: Int32 = -1, RUSAGE_THREAD: Int32 = 1
    public static let size = 144
    /// times(2) and the `clock_t` fields count in USER_HZ ticks.
    public static let ticksPerSecond: Int64 = 100
}

/// System V IPC flags, commands and struct layouts shared by shm, sem and msg.
public enum SysVIPCABI {
    public static let IPC_PRIVATE: Int32 = 0
    public static let IPC_CREAT = 0o1000, IPC_EXCL = 0o2000, IPC_NOWAIT = 0o4000
    public static let IPC_RMID: Int32 = 0, IPC_SET: Int32 = 1, IPC_STAT: Int32 = 2, IPC_INFO: Int32 = 3
    /// glibc may or the command with IPC_64 on some architectures; x86-64 ignores it.
    public static let IPC_64: Int32 = 0x100
    /// struct ipc64_perm: key, uid, gid, cuid, cgid, mode (u32), seq (u16 @24); 48 bytes.
    public static let permSize = 48
}

public enum ShmABI {
    public static let SHM_RDONLY = 0o10000, SHM_RND = 0o20000, SHM_REMAP = 0o40000, SHM_EXEC = 0o100000
    public static let SHM_LOCK: Int32 = 11, SHM_UNLOCK: Int32 = 12, SHM_STAT: Int32 = 13, SHM_INFO: Int32 = 14
    public static let SHM_STAT_ANY: Int32 = 15
    /// Mode bits reported by IPC_STAT.
    public static let SHM_DEST: UInt32 = 0o1000, SHM_LOCKED: UInt32 = 0o2000
    public static let SHM_HUGETLB = 0o4000, SHM_NORESERVE = 0o10000
    public static let SHMLBA: UInt64 = 4096
    public static let SHMMIN: UInt64 = 1, SHMMAX: UInt64 = 0x7fff_ffff_ffff_f000 >> 16, SHMMNI = 4096
    /// struct shmid64_ds: perm, segsz @48, atime @56, dtime @64, ctime @72, cpid @80, lpid @84, nattch @88; 112 bytes.
    public static let dsSize = 112
}

public enum SemABI {
    public static let GETPID: Int32 = 11, GETVAL: Int32 = 12, GETALL: Int32 = 13, GETNCNT: Int32 = 14
    public static let GETZCNT: Int32 = 15, SETVAL: Int32 = 16, SETALL: Int32 = 17
    public static let SEM_STAT: Int32 = 18, SEM_INFO: Int32 = 19, SEM_STAT_ANY: Int32 = 20
    public static let SEM_UNDO = 0x1000
    /// Limits: semaphores per set, ops per semop, largest value, sets per namespace.
    public static let SEMMSL = 32000, SEMOPM = 500, SEMVMX = 32767, SEMMNI = 32000
    /// struct sembuf: u16 sem_num, i16 sem_op, i16 sem_flg.
    public static let sembufSize = 6
    /// struct semid64_ds: perm, otime @48, ctime @64, nsems @80; 104 bytes.
    public static let dsSize = 104
}

public enum MsgABI {
    public static let MSG_NOERROR = 0o10000, MSG_EXCEPT = 0o20000, MSG_COPY = 0o40000
    public static let MSG_STAT: Int32 = 11, MSG_INFO: Int32 = 12, MSG_STAT_ANY: Int32 = 13
    /// Largest message and default queue capacity in bytes; queues per namespace.
    public static let MSGMAX = 8192, MSGMNB = 16384, MSGMNI = 32000
    /// struct msqid64_ds: perm, stime @48, rtime @56, ctime @64, cbytes @72, qnum @80, qbytes @88,
    /// lspid @96, lrpid @100; 120 bytes.
    public static let dsSize = 120
}

/// POSIX message queues (mq_overview(7)).
public enum MQueueABI {
    /// struct mq_attr: mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs (longs), 4 reserved; 64 bytes.
    public static let attrSize = 64
    public static let MQ_PRIO_MAX: UInt32 = 32768
    /// Defaults and the limits of /proc/sys/fs/mqueue (unprivileged) and the hard ceilings (privileged).
    public static let defaultMaxMessages = 10, defaultMessageSize = 8192
    public static let maxMessages = 10, maxMessageSize = 8192
    public static let hardMaxMessages = 65536, hardMaxMessageSize = 16 << 20
    public static let queuesMax = 256
    public static let NAME_MAX = 255
}
