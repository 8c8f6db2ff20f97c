// linux.maskedPaths, linux.readonlyPaths and linux.sysctl, checked at create the way runc checks them:
// paths must be absolute container paths; a sysctl must be one a container may set (a namespaced one),
// anything else (kernel.panic, vm.*) is refused with the key named.
import OCI
import Sentry

enum ContainerPathsPlan {
    /// Container paths for masking or read-only binding: absolute, without "..".
    static func paths(_ paths: [String]?, field: String) throws(RuntimeError) -> [String] {
        for (index, path) in (paths ?? []).enumerated() {
            guard path.hasPrefix("/") else {
                throw RuntimeError("config.json: \(field)[\(index)]: \"\(path)\" must be an absolute path in the container")
            }
            guard !path.split(separator: "/").contains("..") else {
                throw RuntimeError("config.json: \(field)[\(index)]: \"\(path)\" must not contain \"..\"")
            }
            // The root is not a mount point the Sentry can stack on (root.readonly makes it read-only).
            guard path.split(separator: "/").contains(where: { $0 != "." }) else {
                throw RuntimeError("config.json: \(field)[\(index)]: \"\(path)\" names the container's root (use root.readonly)")
            }
        }
        return paths ?? []
    }

    /// System V IPC keys a container may set in its own IPC namespace (runc's list); `fs.mqueue.*` too.
    static let ipcKeys: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                       "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// The sysctls the Sentry applies (key → value text, checked) and the accepted keys it has no model of
    /// (logged at debug level by the boot). Throws for a key outside the namespaced ones, or a bad value of a
    /// modeled key, naming `linux.sysctl["KEY"]`.
    static func sysctls(_ spec: Spec) throws(RuntimeError) -> (applied: [String: String], skipped: [String]) {
        let namespaces = spec.linux?.namespaces.map { Set($0.map(\.type)) }
        func has(_ type: String) -> Bool { namespaces?.contains(type) ?? true }
        var applied: [String: String] = [:]
        var skipped: [String] = []
        for key in (spec.linux?.sysctl ?? [:]).keys.sorted() {
            let value = spec.linux?.sysctl?[key] ?? ""
            let field = "config.json: linux.sysctl[\"\(key)\"]"
            if ipcKeys.contains(key) || key.hasPrefix("fs.mqueue.") {
                guard has("ipc") else { throw RuntimeError("\(field): not allowed without the container's own IPC namespace") }
            } else if key.hasPrefix("net.") {
                guard has("network") else {
                    throw RuntimeError("\(field): not allowed in the host's network namespace (add a network namespace)")
                }
            } else if key == "kernel.hostname" || key == "kernel.domainname" {
                guard has("uts") else { throw RuntimeError("\(field): not allowed without the container's own UTS namespace") }
            } else {
                throw RuntimeError("\(field): not a namespaced sysctl: a container may set only kernel.msg*, kernel.sem, "
                                   + "kernel.shm*, fs.mqueue.*, net.*, kernel.hostname and kernel.domainname")
            }
            if key == "kernel.hostname" {
                applied[key] = value
            } else if SysctlModel.defaults[key] != nil {
                switch SysctlModel.parse(key, value) {
                case .success: applied[key] = value
                case .failure(let reason): throw RuntimeError("\(field): \(reason)")
                }
            } else {
                skipped.append(key)
            }
        }
        return (applied, skipped)
    }
}
