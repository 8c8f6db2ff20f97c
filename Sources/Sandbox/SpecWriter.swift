// `runsc spec`: writes the default config.json, never over an existing one.
import FoundationEssentials
import Glibc
import OCI

public enum SpecWriter {
    public static func writeDefault(bundle: String) throws(RuntimeError) {
        guard Sys.isDirectory(bundle) else { throw RuntimeError("spec: bundle directory \(bundle) does not exist") }
        let path = (bundle.hasSuffix("/") ? bundle : bundle + "/") + SpecLoader.fileName
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(Spec.defaultSpec()) } catch { throw RuntimeError("spec: \(error)") }
        // O_EXCL: refusing to overwrite must not race with another writer.
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { throw RuntimeError("spec: \(path) already exists; remove it first") }
            throw RuntimeError.errno("spec: cannot create \(path)")
        }
        defer { close(fd) }
        try Sys.writeAll(fd, Array(data) + [UInt8(ascii: "\n")], what: "spec: write \(path)")
    }
}
