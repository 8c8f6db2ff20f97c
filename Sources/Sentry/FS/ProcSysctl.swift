// Parts of /proc that exist on Linux mostly to be hidden or made read-only by runtimes (docker's default
// linux.maskedPaths and linux.readonlyPaths name them): kcore, acpi, sysrq-trigger; and the /proc/sys files
// of the sysctls the Sentry models (Kernel/Sysctls.swift). None of them shows anything of the host.
import LinuxABI

extension Kernel {
    /// /proc/sys/kernel's files for the modeled IPC sysctls (shmmax, msgmnb, sem, ...).
    func procSysKernelEntries(device: UInt64) -> [(String, Inode)] {
        let table = sysctls
        return table.keys(under: "kernel.").map { (name, key) in
            (name, SyntheticFile(device: device) { _ in Array(table.text(key).utf8) })
        }
    }

    /// /proc/sys/fs: mqueue's limits.
    func procSysFSEntries(device: UInt64) -> [(String, Inode)] {
        let table = sysctls
        let mqueue: [(String, Inode)] = table.keys(under: "fs.mqueue.").map { (name, key) in
            (name, SyntheticFile(device: device) { _ in Array(table.text(key).utf8) })
        }
        return [("mqueue", StaticDirectory(device: device, mqueue))]
    }

    /// /proc/kcore, /proc/acpi and /proc/sysrq-trigger.
    static func procHardwareEntries(device: UInt64) -> [(String, Inode)] {
        [
            // The Sentry has no kernel memory to show: an ELF core header with no segments, root only.
            ("kcore", SyntheticFile(device: device, mode: 0o400) { _ in Kernel.emptyCoreHeader }),
            // No ACPI devices can wake a sandbox: the wakeup table's header only.
            ("acpi", StaticDirectory(device: device, [
                ("wakeup", SyntheticFile(device: device) { _ in Array("Device\tS-state\t  Status   Sysfs node\n".utf8) }),
            ])),
            // The magic SysRq key is the host's: a write is refused (EACCES) even without readonlyPaths.
            ("sysrq-trigger", SyntheticFile(device: device, mode: 0o200) { _ in [] }),
        ]
    }

    /// A 64-byte ELF64 header: ET_CORE, x86-64, no program or section headers.
    static let emptyCoreHeader: [UInt8] = {
        var b = [UInt8](repeating: 0, count: 64)
        b[0] = 0x7f; b[1] = 0x45; b[2] = 0x4c; b[3] = 0x46  // \x7fELF
        b[4] = 2; b[5] = 1; b[6] = 1                         // 64-bit, little-endian, version 1
        b[16] = 4                                            // e_type ET_CORE
        b[18] = 62                                           // e_machine EM_X86_64
        b[20] = 1                                            // e_version
        b[52] = 64                                           // e_ehsize
        b[54] = 56                                           // e_phentsize
        return b
    }()
}
