// Rules for the extended-attribute operations (getXattr 30 ... removeXattr 33): which names may cross
// the wire and how large a value or a list may be. Both sides apply them; the Gofer never trusts the
// Sentry's sizes, and the Sentry never trusts the Gofer's replies.
import LinuxABI

public enum XattrWire {
    /// XATTR_NAME_MAX.
    public static let maxNameLength = 255
    /// The largest value (and the largest name list) that fits a message with its header: a little under
    /// Linux's XATTR_SIZE_MAX (64 KiB). Host file systems (ext4: one block) allow far less anyway.
    public static let maxValueSize = GoferWire.maxMessageSize - 512
    /// setxattr flags.
    public static let create: UInt32 = 1   // XATTR_CREATE
    public static let replace: UInt32 = 2  // XATTR_REPLACE
    static let allFlags: UInt32 = create | replace

    /// The namespaces a name may be in. system.* (ACLs) is not served.
    public static let namespaces: [[UInt8]] = ["user.", "trusted.", "security."].map { Array($0.utf8) }

    /// Whether `name` starts with `prefix` and has something after it.
    public static func name(_ name: [UInt8], isIn prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        return name.count > p.count && Array(name.prefix(p.count)) == p
    }

    /// nil for a name the Gofer serves; else the errno Linux gives: ERANGE for an empty or over-long
    /// name, EOPNOTSUPP for a namespace not served, EINVAL for an embedded NUL.
    public static func nameError(_ name: [UInt8]) -> Errno? {
        if name.isEmpty || name.count > maxNameLength { return .ERANGE }
        if name.contains(0) { return .EINVAL }
        guard namespaces.contains(where: { name.count > $0.count && Array(name.prefix($0.count)) == $0 }) else {
            return .EOPNOTSUPP
        }
        return nil
    }

    /// Splits a listxattr buffer into names; nil if it is malformed (not NUL-terminated names).
    public static func splitList(_ list: [UInt8]) -> [[UInt8]]? {
        guard !list.isEmpty else { return [] }
        guard list.last == 0 else { return nil }
        let names = list.dropLast().split(separator: 0, omittingEmptySubsequences: false).map { Array($0) }
        guard names.allSatisfy({ !$0.isEmpty && $0.count <= maxNameLength }) else { return nil }
        return names
    }
}

extension WireReader {
    /// An attribute name that passes XattrWire.nameError.
    mutating func xattrName() throws(GoferDecodeError) -> [UInt8] {
        let n = try string(maxLength: XattrWire.maxNameLength)
        guard XattrWire.nameError(n) == nil else { throw .invalidName }
        return n
    }
}
