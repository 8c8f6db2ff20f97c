// The Sentry's /sys: the few files programs probe to size themselves (CPU lists read by glibc's
// get_nprocs/get_nprocs_conf, Python's os.cpu_count, `nproc --all`), the transparent huge page mode, an
// empty /sys/fs/cgroup, and the loopback interface under /sys/class/net. Read-only, computed by the
// Sentry; nothing here comes from the host's sysfs.
import Glibc
import LinuxABI

private let sysDevice: UInt64 = 0x17

/// /sys.
final class SysFSRoot: SyntheticDirectory, @unchecked Sendable {
    private var entries: [(String, Inode)] = []

    init(kernel: Kernel) {
        super.init(device: sysDevice)
        let cpus = SysFSRoot.cpuCount
        let list = cpus == 1 ? "0\n" : "0-\(cpus - 1)\n"
        func file(_ text: String) -> SyntheticFile { SyntheticFile(device: sysDevice) { _ in text } }
        func dir(_ e: [(String, Inode)]) -> StaticDirectory { StaticDirectory(device: sysDevice, e) }
        let cpuDirectories: [(String, Inode)] = (0..<cpus).map { i in
            ("cpu\(i)", dir([("topology", dir([("core_id", file("\(i)\n")), ("physical_package_id", file("0\n"))]))]))
        }
        let loopback = dir([
            ("address", file("00:00:00:00:00:00\n")), ("broadcast", file("00:00:00:00:00:00\n")), ("mtu", file("65536\n")),
            ("operstate", file("unknown\n")), ("type", file("772\n")), ("flags", file("0x9\n")), ("ifindex", file("1\n")),
            ("carrier", file("1\n")), ("addr_len", file("6\n")),
        ])
        entries = [
            ("block", dir([])),
            ("bus", dir([])),
            ("class", dir([("net", dir([("lo", SyntheticSymlink(device: sysDevice, target: { _ in "../../devices/virtual/net/lo" }))]))])),
            ("dev", dir([])),
            ("devices", dir([
                ("system", dir([("cpu", dir([("online", file(list)), ("possible", file(list)), ("present", file(list)),
                                               ("kernel_max", file("8191\n"))] + cpuDirectories))])),
                ("virtual", dir([("net", dir([("lo", loopback)]))])),
            ])),
            ("firmware", dir([])),
            ("fs", dir([("cgroup", dir([]))])),
            ("kernel", dir([("mm", dir([("transparent_hugepage", dir([
                ("enabled", file("always [madvise] never\n")), ("defrag", file("always defer defer+madvise [madvise] never\n")),
            ]))]))])),
            ("module", dir([])),
            ("power", dir([])),
        ]
    }

    /// The CPUs the sandbox reports everywhere (sched_getaffinity, /proc/cpuinfo, /proc/stat).
    static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    override func children(task: Task?) -> [(String, Inode)] { entries }
}
