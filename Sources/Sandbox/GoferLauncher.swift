// Glue to the Gofer target: the `runsc gofer` role's entry point. Kept small so it follows GoferRole's API.
import Gofer
import Glibc

public enum GoferLauncher {
    /// Runs the gofer role; never returns. Setup errors go to stderr (the CLI's) with exit status 1.
    public static func run(_ options: GoferOptions, runtime: RuntimeOptions) -> Never {
        do {
            try GoferRole.run(rootPath: options.rootfs, socket: options.goferFD, readOnly: options.readOnly,
                              binds: options.binds.map { (path: $0.source, readOnly: $0.readOnly) },
                              hostSocketConnect: runtime.hostUDS.allowsOpen,
                              hostSocketCreate: runtime.hostUDS.allowsCreate)
        } catch {
            let line = Array("runsc gofer \(options.id): \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            _exit(1)
        }
    }
}
