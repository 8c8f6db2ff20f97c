// Linux errno values (x86-64), generated from asm-generic/errno*.h. Pure data.

/// An errno value of the app-facing ABI. Handlers return these; the Sentry negates them into rax.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let EPERM = Errno(1)
    public static let ENOENT = Errno(2)
    public static let ESRCH = Errno(3)
    public static let EINTR = Errno(4)
    public static let EIO = Errno(5)
    public static let ENXIO = Errno(6)
    public static let E2BIG = Errno(7)
    public static let ENOEXEC = Errno(8)
    public static let EBADF = Errno(9)
    public static let ECHILD = Errno(10)
    public static let EAGAIN = Errno(11)
    public static let ENOMEM = Errno(12)
    public static let EACCES = Errno(13)
    public static let EFAULT = Errno(14)
    public static let ENOTBLK = Errno(15)
    public static let EBUSY = Errno(16)
    public static let EEXIST = Errno(17)
    public static let EXDEV = Errno(18)
    public static let ENODEV = Errno(19)
    public static let ENOTDIR = Errno(20)
    public static let EISDIR = Errno(21)
    public static let EINVAL = Errno(22)
    public static let ENFILE = Errno(23)
    public static let EMFILE = Errno(24)
    public static let ENOTTY = Errno(25)
    public static let ETXTBSY = Errno(26)
    public static let EFBIG = Errno(27)
    public static let ENOSPC = Errno(28)
    public static let ESPIPE = Errno(29)
    public static let EROFS = Errno(30)
    public static let EMLINK = Errno(31)
    public static let EPIPE = Errno(32)
    public static let EDOM = Errno(33)
    public static let ERANGE = Errno(34)
    public static let EDEADLK = Errno(35)
    public static let ENAMETOOLONG = Errno(36)
    public static let ENOLCK = Errno(37)
    public static let ENOSYS = Errno(38)
    public static let ENOTEMPTY = Errno(39)
    public static let ELOOP = Errno(40)
    public static let ENOMSG = Errno(42)
    public static let EIDRM = Errno(43)
    public static let ECHRNG = Errno(44)
    public static let EL2NSYNC = Errno(45)
    public static let EL3HLT = Errno(46)
    public static let EL3RST = Errno(47)
    public static let ELNRNG = Errno(48)
    public static let EUNATCH = Errno(49)
    public static let ENOCSI = Errno(50)
    public static let EL2HLT = Errno(51)
    public static let EBADE = Errno(52)
    public static let EBADR = Errno(53)
    public static let EXFULL = Errno(54)
    public static let ENOANO = Errno(55)
    public static let EBADRQC = Errno(56)
    public static let EBADSLT = Errno(57)
    public static let EBFONT = Errno(59)
    public static let ENOSTR = Errno(60)
    public static let ENODATA = Errno(61)
    public static let ETIME = Errno(62)
    public static let ENOSR = Errno(63)
    public static let ENONET = Errno(64)
    public static let ENOPKG = Errno(65)
    public static let EREMOTE = Errno(66)
    public static let ENOLINK = Errno(67)
    public static let EADV = Errno(68)
    public static let ESRMNT = Errno(69)
    public static let ECOMM = Errno(70)
    public static let EPROTO = Errno(71)
    public static let EMULTIHOP = Errno(72)
    public static let EDOTDOT = Errno(73)
    public static let EBADMSG = Errno(74)
    public static let EOVERFLOW = Errno(75)
    public static let ENOTUNIQ = Errno(76)
    public static let EBADFD = Errno(77)
    public static let EREMCHG = Errno(78)
    public static let ELIBACC = Errno(79)
    public static let ELIBBAD = Errno(80)
    public static let ELIBSCN = Errno(81)
    public static let ELIBMAX = Errno(82)
    public static let ELIBEXEC = Errno(83)
    public static let EILSEQ = Errno(84)
    public static let ERESTART = Errno(85)
    public static let ESTRPIPE = Errno(86)
    public static let EUSERS = Errno(87)
    public static let ENOTSOCK = Errno(88)
    public static let EDESTADDRREQ = Errno(89)
    public static let EMSGSIZE = Errno(90)
    public static let EPROTOTYPE = Errno(91)
    public static let ENOPROTOOPT = Errno(92)
    public static let EPROTONOSUPPORT = Errno(93)
    public static let ESOCKTNOSUPPORT = Errno(94)
    public static let EOPNOTSUPP = Errno(95)
    public static let EPFNOSUPPORT = Errno(96)
    public static let EAFNOSUPPORT = Errno(97)
    public static let EADDRINUSE = Errno(98)
    public static let EADDRNOTAVAIL = Errno(99)
    public static let ENETDOWN = Errno(100)
    public static let ENETUNREACH = Errno(101)
    public static let ENETRESET = Errno(102)
    public static let ECONNABORTED = Errno(103)
    public static let ECONNRESET = Errno(104)
    public static let ENOBUFS = Errno(105)
    public static let EISCONN = Errno(106)
    public static let ENOTCONN = Errno(107)
    public static let ESHUTDOWN = Errno(108)
    public static let ETOOMANYREFS = Errno(109)
    public static let ETIMEDOUT = Errno(110)
    public static let ECONNREFUSED = Errno(111)
    public static let EHOSTDOWN = Errno(112)
    public static let EHOSTUNREACH = Errno(113)
    public static let EALREADY = Errno(114)
    public static let EINPROGRESS = Errno(115)
    public static let ESTALE = Errno(116)
    public static let EUCLEAN = Errno(117)
    public static let ENOTNAM = Errno(118)
    public static let ENAVAIL = Errno(119)
    public static let EISNAM = Errno(120)
    public static let EREMOTEIO = Errno(121)
    public static let EDQUOT = Errno(122)
    public static let ENOMEDIUM = Errno(123)
    public static let EMEDIUMTYPE = Errno(124)
    public static let ECANCELED = Errno(125)
    public static let ENOKEY = Errno(126)
    public static let EKEYEXPIRED = Errno(127)
    public static let EKEYREVOKED = Errno(128)
    public static let EKEYREJECTED = Errno(129)
    public static let EOWNERDEAD = Errno(130)
    public static let ENOTRECOVERABLE = Errno(131)
    public static let ERFKILL = Errno(132)
    public static let EHWPOISON = Errno(133)
    // Kernel-internal restart codes: never seen by the app.
    public static let ERESTARTSYS = Errno(512)
    public static let ERESTARTNOINTR = Errno(513)
    public static let ERESTARTNOHAND = Errno(514)
    public static let ERESTART_RESTARTBLOCK = Errno(516)

    public var name: String {
        switch rawValue {
        case 1: return "EPERM"
        case 2: return "ENOENT"
        case 3: return "ESRCH"
        case 4: return "EINTR"
        case 5: return "EIO"
        case 6: return "ENXIO"
        case 7: return "E2BIG"
        case 8: return "ENOEXEC"
        case 9: return "EBADF"
        case 10: return "ECHILD"
        case 11: return "EAGAIN"
        case 12: return "ENOMEM"
        case 13: return "EACCES"
        case 14: return "EFAULT"
        case 15: return "ENOTBLK"
        case 16: return "EBUSY"
        case 17: return "EEXIST"
        case 18: return "EXDEV"
        case 19: return "ENODEV"
        case 20: return "ENOTDIR"
        case 21: return "EISDIR"
        case 22: return "EINVAL"
        case 23: return "ENFILE"
        case 24: return "EMFILE"
        case 25: return "ENOTTY"
        case 26: return "ETXTBSY"
        case 27: return "EFBIG"
        case 28: return "ENOSPC"
        case 29: return "ESPIPE"
        case 30: return "EROFS"
        case 31: return "EMLINK"
        case 32: return "EPIPE"
        case 33: return "EDOM"
        case 34: return "ERANGE"
        case 35: return "EDEADLK"
        case 36: return "ENAMETOOLONG"
        case 37: return "ENOLCK"
        case 38: return "ENOSYS"
        case 39: return "ENOTEMPTY"
        case 40: return "ELOOP"
        case 42: return "ENOMSG"
        case 43: return "EIDRM"
        case 44: return "ECHRNG"
        case 45: return "EL2NSYNC"
        case 46: return "EL3HLT"
        case 47: return "EL3RST"
        case 48: return "ELNRNG"
        case 49: return "EUNATCH"
        case 50: return "ENOCSI"
        case 51: return "EL2HLT"
        case 52: return "EBADE"
        case 53: return "EBADR"
        case 54: return "EXFULL"
        case 55: return "ENOANO"
        case 56: return "EBADRQC"
        case 57: return "EBADSLT"
        case 59: return "EBFONT"
        case 60: return "ENOSTR"
        case 61: return "ENODATA"
        case 62: return "ETIME"
        case 63: return "ENOSR"
        case 64: return "ENONET"
        case 65: return "ENOPKG"
        case 66: return "EREMOTE"
        case 67: return "ENOLINK"
        case 68: return "EADV"
        case 69: return "ESRMNT"
        case 70: return "ECOMM"
        case 71: return "EPROTO"
        case 72: return "EMULTIHOP"
        case 73: return "EDOTDOT"
        case 74: return "EBADMSG"
        case 75: return "EOVERFLOW"
        case 76: return "ENOTUNIQ"
        case 77: return "EBADFD"
        case 78: return "EREMCHG"
        case 79: return "ELIBACC"
        case 80: return "ELIBBAD"
        case 81: return "ELIBSCN"
        case 82: return "ELIBMAX"
        case 83: return "ELIBEXEC"
        case 84: return "EILSEQ"
        case 85: return "ERESTART"
        case 86: return "ESTRPIPE"
        case 87: return "EUSERS"
        case 88: return "ENOTSOCK"
        case 89: return "EDESTADDRREQ"
        case 90: return "EMSGSIZE"
        case 91: return "EPROTOTYPE"
        case 92: return "ENOPROTOOPT"
        case 93: return "EPROTONOSUPPORT"
        case 94: return "ESOCKTNOSUPPORT"
        case 95: return "EOPNOTSUPP"
        case 96: return "EPFNOSUPPORT"
        case 97: return "EAFNOSUPPORT"
        case 98: return "EADDRINUSE"
        case 99: return "EADDRNOTAVAIL"
        case 100: return "ENETDOWN"
        case 101: return "ENETUNREACH"
        case 102: return "ENETRESET"
        case 103: return "ECONNABORTED"
        case 104: return "ECONNRESET"
        case 105: return "ENOBUFS"
        case 106: return "EISCONN"
        case 107: return "ENOTCONN"
        case 108: return "ESHUTDOWN"
        case 109: return "ETOOMANYREFS"
        case 110: return "ETIMEDOUT"
        case 111: return "ECONNREFUSED"
        case 112: return "EHOSTDOWN"
        case 113: return "EHOSTUNREACH"
        case 114: return "EALREADY"
        case 115: return "EINPROGRESS"
        case 116: return "ESTALE"
        case 117: return "EUCLEAN"
        case 118: return "ENOTNAM"
        case 119: return "ENAVAIL"
        case 120: return "EISNAM"
        case 121: return "EREMOTEIO"
        case 122: return "EDQUOT"
        case 123: return "ENOMEDIUM"
        case 124: return "EMEDIUMTYPE"
        case 125: return "ECANCELED"
        case 126: return "ENOKEY"
        case 127: return "EKEYEXPIRED"
        case 128: return "EKEYREVOKED"
        case 129: return "EKEYREJECTED"
        case 130: return "EOWNERDEAD"
        case 131: return "ENOTRECOVERABLE"
        case 132: return "ERFKILL"
        case 133: return "EHWPOISON"
        case 512: return "ERESTARTSYS"
        case 513: return "ERESTARTNOINTR"
        case 514: return "ERESTARTNOHAND"
        case 516: return "ERESTART_RESTARTBLOCK"
        default: return "E\(rawValue)"
        }
    }
    public var description: String { name }
}
