// `--systemd-cgroup` (docker passes it with the systemd cgroup driver): linux.cgroupsPath is then
// "slice:prefix:name", naming the systemd unit "prefix-name.scope" in "slice". A malformed one fails `create`
// the way runc fails it; HostCgroup turns a valid one into the cgroup directory the sandbox joins.

/// A cgroupsPath in systemd's "slice:prefix:name" form.
public struct SystemdCgroupPath: Sendable, Equatable {
    public var slice: String
    public var unit: String

    /// Parses `path`; an empty slice means "system.slice", as with runc.
    public static func parse(_ path: String) throws(RuntimeError) -> SystemdCgroupPath {
        let parts = path.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw RuntimeError("config.json: linux.cgroupsPath: with --systemd-cgroup it must be \"slice:prefix:name\", got \"\(path)\"")
        }
        let slice = parts[0].isEmpty ? "system.slice" : parts[0]
        guard slice.hasSuffix(".slice"), !slice.contains("/") else {
            throw RuntimeError("config.json: linux.cgroupsPath: \"\(parts[0])\" is not a systemd slice (expected NAME.slice)")
        }
        let name = parts[2]
        guard !name.isEmpty, !name.contains("/"), !parts[1].contains("/") else {
            throw RuntimeError("config.json: linux.cgroupsPath: \"\(path)\" needs a name without '/' after the second ':'")
        }
        // A name that is itself a slice is used as is; otherwise the unit is a scope.
        let unit = name.hasSuffix(".slice") ? name : (parts[1].isEmpty ? name : parts[1] + "-" + name) + ".scope"
        return SystemdCgroupPath(slice: slice, unit: unit)
    }
}
