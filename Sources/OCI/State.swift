// The runtime-spec "state" document that `runsc state` prints (what docker and containerd parse).

/// OCI container status values.
public enum ContainerStatus: String, Codable, Sendable {
    case creating, created, running, stopped
    /// runc's extra status (`runsc pause`): the container's processes exist but do not run.
    case paused
}

/// The OCI state of a container, plus the fields runc also reports (rootfs, created, owner).
public struct State: Codable, Sendable, Equatable {
    public var ociVersion: String
    public var id: String
    public var status: ContainerStatus
    public var pid: Int32
    public var bundle: String
    public var rootfs: String?
    /// RFC 3339 time with nanoseconds, as runc prints it.
    public var created: String?
    public var owner: String?
    public var annotations: [String: String]?

    public init(id: String, status: ContainerStatus, pid: Int32, bundle: String, rootfs: String? = nil,
                created: String? = nil, owner: String? = nil, annotations: [String: String]? = nil) {
        self.ociVersion = Spec.version; self.id = id; self.status = status; self.pid = pid; self.bundle = bundle
        self.rootfs = rootfs; self.created = created; self.owner = owner; self.annotations = annotations
    }
}
