// Constants of the x86-64 Linux ABI for poll/epoll, eventfd, signalfd, timerfd and unix sockets. Pure data.

/// poll(2) / epoll(7) event bits (the same values in both).
public enum PollEvents {
    public static let POLLIN: UInt32 = 0x1, POLLPRI: UInt32 = 0x2, POLLOUT: UInt32 = 0x4, POLLERR: UInt32 = 0x8
    public static let POLLHUP: UInt32 = 0x10, POLLNVAL: UInt32 = 0x20, POLLRDNORM: UInt32 = 0x40
    public static let POLLRDBAND: UInt32 = 0x80, POLLWRNORM: UInt32 = 0x100, POLLWRBAND: UInt32 = 0x200
    public static let POLLMSG: UInt32 = 0x400, POLLRDHUP: UInt32 = 0x2000
}

public enum EpollABI {
    public static let EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3
    public static let EPOLL_CLOEXEC = 0o2000000
    public static let EPOLLEXCLUSIVE: UInt32 = 1 << 28, EPOLLWAKEUP: UInt32 = 1 << 29
    public static let EPOLLONESHOT: UInt32 = 1 << 30, EPOLLET: UInt32 = 1 << 31
    /// struct epoll_event is packed on x86-64: u32 events, u64 data.
    public static let eventSize = 12
    public static let maxEvents = 0x7fff_ffff / 12
}

public enum EventFDFlags {
    public static let EFD_SEMAPHORE = 1, EFD_NONBLOCK = 0o4000, EFD_CLOEXEC = 0o2000000
}

public enum SignalFDFlags {
    public static let SFD_NONBLOCK = 0o4000, SFD_CLOEXEC = 0o2000000
    public static let siginfoSize = 128
}

public enum TimerFDFlags {
    public static let TFD_NONBLOCK = 0o4000, TFD_CLOEXEC = 0o2000000
    public static let TFD_TIMER_ABSTIME = 1, TFD_TIMER_CANCEL_ON_SET = 2
}

public enum SocketABI {
    public static let AF_UNSPEC: Int32 = 0, AF_UNIX: Int32 = 1, AF_INET: Int32 = 2, AF_INET6: Int32 = 10
    public static let AF_NETLINK: Int32 = 16, AF_PACKET: Int32 = 17
    public static let SOCK_STREAM: Int32 = 1, SOCK_DGRAM: Int32 = 2, SOCK_RAW: Int32 = 3, SOCK_SEQPACKET: Int32 = 5
    public static let SOCK_TYPE_MASK: Int32 = 0xf
    public static let SOCK_NONBLOCK: Int32 = 0o4000, SOCK_CLOEXEC: Int32 = 0o2000000

    public static let SOL_SOCKET: Int32 = 1
    public static let SO_DEBUG: Int32 = 1, SO_REUSEADDR: Int32 = 2, SO_TYPE: Int32 = 3, SO_ERROR: Int32 = 4
    public static let SO_DONTROUTE: Int32 = 5, SO_BROADCAST: Int32 = 6, SO_SNDBUF: Int32 = 7, SO_RCVBUF: Int32 = 8
    public static let SO_KEEPALIVE: Int32 = 9, SO_OOBINLINE: Int32 = 10, SO_LINGER: Int32 = 13
    public static let SO_REUSEPORT: Int32 = 15, SO_PASSCRED: Int32 = 16, SO_PEERCRED: Int32 = 17
    public static let SO_RCVLOWAT: Int32 = 18, SO_SNDLOWAT: Int32 = 19, SO_RCVTIMEO: Int32 = 20, SO_SNDTIMEO: Int32 = 21
    public static let SO_ACCEPTCONN: Int32 = 30, SO_SNDBUFFORCE: Int32 = 32, SO_RCVBUFFORCE: Int32 = 33
    public static let SO_PROTOCOL: Int32 = 38, SO_DOMAIN: Int32 = 39

    public static let SCM_RIGHTS: Int32 = 1, SCM_CREDENTIALS: Int32 = 2

    public static let MSG_OOB: Int32 = 0x1, MSG_PEEK: Int32 = 0x2, MSG_DONTROUTE: Int32 = 0x4, MSG_CTRUNC: Int32 = 0x8
    public static let MSG_TRUNC: Int32 = 0x20, MSG_DONTWAIT: Int32 = 0x40, MSG_EOR: Int32 = 0x80
    public static let MSG_WAITALL: Int32 = 0x100, MSG_NOSIGNAL: Int32 = 0x4000, MSG_MORE: Int32 = 0x8000
    public static let MSG_CMSG_CLOEXEC: Int32 = 0x4000_0000

    public static let SHUT_RD: Int32 = 0, SHUT_WR: Int32 = 1, SHUT_RDWR: Int32 = 2

    /// sizeof(struct sockaddr_un): family + 108 bytes of path.
    public static let sockaddrUnSize = 110
    /// struct msghdr and struct cmsghdr sizes on x86-64.
    public static let msghdrSize = 56, cmsghdrSize = 16
    /// Linux's default and limits for SO_SNDBUF/SO_RCVBUF.
    public static let defaultBufferSize = 212_992, minBufferSize = 4608, maxBufferSize = 4 << 20
    /// SCM_MAX_FD: descriptors in one SCM_RIGHTS message.
    public static let maxRightsPerMessage = 253
    public static let SIOCINQ: UInt64 = 0x541B, SIOCOUTQ: UInt64 = 0x5411
}
