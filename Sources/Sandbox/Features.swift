// `runsc features`: runc's features document (types/features in runc), filled in with what this runtime
// really does. An empty list means "none"; a field left out means "unknown". Keep it true when a feature
// lands: the integration test only checks the shape.
import FoundationEssentials
import LinuxABI
import OCI
import Sentry

/// The document `runsc features` prints.
public struct RuntimeFeatures: Encodable, Sendable {
    public struct Seccomp: Encodable, Sendable {
        public var enabled: Bool
        public var actions: [String]
        public var operators: [String]
        public var archs: [String]
    }
    public struct Enabled: Encodable, Sendable { public var enabled: Bool }
    public struct Cgroup: Encodable, Sendable {
        public var v1: Bool
        public var v2: Bool
        public var systemd: Bool
        public var systemdUser: Bool
    }
    public struct Linux: Encodable, Sendable {
        public var namespaces: [String]
        public var capabilities: [String]
        public var cgroup: Cgroup
        public var seccomp: Seccomp
        public var apparmor: Enabled
        public var selinux: Enabled
    }

    public var ociVersionMin: String
    public var ociVersionMax: String
    public var hooks: [String]
    public var mountOptions: [String]
    public var linux: Linux
    public var annotations: [String: String]

    /// What this build supports.
    public static func current(version: String) -> RuntimeFeatures {
        RuntimeFeatures(
            ociVersionMin: "1.0.0",
            ociVersionMax: Spec.version,
            // Run by the CLI on the host (Hooks.swift); createContainer/startContainer are refused.
            hooks: ["prestart", "createRuntime", "poststart", "poststop"],
            // Honoured: ro/rw (the Sentry and the Gofer refuse writes), bind/rbind (served by the Gofer) and
            // nosuid/nodev/noexec (the mount's flags in the Sentry). Propagation flags have no effect: not listed.
            mountOptions: ["bind", "nodev", "noexec", "nosuid", "rbind", "ro", "rw"],
            linux: Linux(
                // The Sentry gives every container its own mount, pid, ipc, uts and network namespace (and the
                // sandbox process a user namespace), whatever the spec lists; a spec cannot join host namespaces.
                namespaces: ["ipc", "mount", "network", "pid", "uts"],
                // process.capabilities sets the app's capabilities in the Sentry (they never reach the host).
                capabilities: Capability.names,
                cgroup: Cgroup(v1: false, v2: false, systemd: false, systemdUser: false),
                // linux.seccomp becomes a filter the Sentry runs on the app's syscalls (AppLimitsPlan.swift).
                seccomp: Seccomp(enabled: true, actions: AppLimitsPlan.actions.keys.sorted(),
                                 operators: AppSeccompProfile.Operator.allCases.map(\.rawValue).sorted(),
                                 archs: AppLimitsPlan.architectures.keys.sorted()),
                apparmor: Enabled(enabled: false),
                selinux: Enabled(enabled: false)),
            annotations: [
                "org.opencontainers.runc.checkpoint.enabled": "false",
                "dev.runsc-swift.version": version,
                "dev.runsc-swift.platforms": RuntimeOptions.supportedPlatforms.joined(separator: ","),
            ])
    }

    /// Pretty-printed JSON, as runc prints it.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
