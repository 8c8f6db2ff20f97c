// A detached host thread running a closure (FoundationEssentials has no Thread; the boot role must not
// depend on full Foundation).
import Glibc

enum HostThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached pthread.
    static func detach(_ body: @escaping @Sendable () -> Void) throws(RuntimeError) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(context).release()
            throw RuntimeError.errno("pthread_create", rc)
        }
        pthread_detach(thread)
    }
}
