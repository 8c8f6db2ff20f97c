// Checks a decoded spec for what the runtime needs, with one exact message per problem:
// "config.json: <field path>: <what was expected>".

/// Validates specs; the first problem found is thrown.
public enum SpecValidator {
    /// Resource limits the Linux ABI defines (process.rlimits[].type).
    public static let knownRlimits: Set<String> = [
        "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
        "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
    ]

    public static func validate(_ spec: Spec) throws(SpecError) {
        let file = SpecLoader.fileName
        func fail(_ field: String, _ problem: String) -> SpecError { SpecError("\(file): \(field): \(problem)") }

        if spec.ociVersion.isEmpty { throw fail("ociVersion", "must not be empty") }

        guard let root = spec.root else { throw fail("root", "is required (the container's root file system)") }
        if root.path.isEmpty { throw fail("root.path", "must not be empty") }

        guard let process = spec.process else { throw fail("process", "is required (the container's init process)") }
        guard let args = process.args, !args.isEmpty else {
            throw fail("process.args", "must contain at least one element")
        }
        if args[0].isEmpty { throw fail("process.args[0]", "must not be empty") }
        if !process.cwd.hasPrefix("/") {
            throw fail("process.cwd", "must be an absolute path, got \"\(process.cwd)\"")
        }
        for (index, entry) in (process.env ?? []).enumerated() {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else {
                throw fail("process.env[\(index)]", "must be NAME=VALUE, got \"\(entry)\"")
            }
        }
        if let umask = process.user.umask, umask > 0o777 {
            throw fail("process.user.umask", "must be at most 0777 (511), got \(umask)")
        }
        for (index, limit) in (process.rlimits ?? []).enumerated() {
            if !knownRlimits.contains(limit.type) {
                throw fail("process.rlimits[\(index)].type", "unknown resource limit \"\(limit.type)\"")
            }
            if limit.soft > limit.hard {
                throw fail("process.rlimits[\(index)]", "soft limit \(limit.soft) exceeds hard limit \(limit.hard)")
            }
        }

        for (index, mount) in (spec.mounts ?? []).enumerated() {
            if !mount.destination.hasPrefix("/") {
                throw fail("mounts[\(index)].destination", "must be an absolute path, got \"\(mount.destination)\"")
            }
        }

        if let linux = spec.linux {
            var seen = Set<String>()
            for (index, namespace) in (linux.namespaces ?? []).enumerated() {
                if !Namespace.knownTypes.contains(namespace.type) {
                    let known = Namespace.knownTypes.sorted().joined(separator: ", ")
                    throw fail("linux.namespaces[\(index)].type",
                               "unknown namespace type \"\(namespace.type)\" (expected one of \(known))")
                }
                if !seen.insert(namespace.type).inserted {
                    throw fail("linux.namespaces[\(index)].type", "namespace \"\(namespace.type)\" is listed twice")
                }
            }
            for (name, mappings) in [("uidMappings", linux.uidMappings), ("gidMappings", linux.gidMappings)] {
                for (index, mapping) in (mappings ?? []).enumerated() where mapping.size == 0 {
                    throw fail("linux.\(name)[\(index)].size", "must be greater than 0")
                }
            }
        }
    }
}
