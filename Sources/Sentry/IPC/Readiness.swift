// Readiness notification for poll/select/epoll: a file tells its ReadinessQueue whenever its poll events
// may have changed; blocked pollers sleep on the queue's WaitQueue and epoll entries observe it.
import LinuxABI

/// Something told about readiness changes without sleeping (an epoll interest entry).
protocol ReadinessObserver: AnyObject, Sendable {
    /// `events` are the poll bits that may have changed (0: unknown, any). Called without the queue's lock.
    func readinessChanged(_ events: UInt32)
    /// The last descriptor of `file` was closed: an epoll entry watching it removes itself.
    func descriptionReleased(_ file: FileDescription)
}

/// The notification point of one file (or of one object shared by several descriptions, like a pipe).
final class ReadinessQueue: @unchecked Sendable {
    /// Tasks blocked in poll/select/epoll_wait (and in the file's own blocking operations) wait here.
    let waiters = WaitQueue()
    private let lock = Lock()
    private var observers: [ObjectIdentifier: ReadinessObserver] = [:]

    init() {}

    func addObserver(_ o: ReadinessObserver) { lock.withLock { observers[ObjectIdentifier(o)] = o } }
    func removeObserver(_ o: ReadinessObserver) { lock.withLock { _ = observers.removeValue(forKey: ObjectIdentifier(o)) } }

    /// Wakes everyone interested. Call it after the state change is visible and without holding the
    /// object's own lock (observers take their epoll's lock, which may call back into the file's poll).
    func notify(_ events: UInt32 = 0) {
        waiters.notifyAll()
        let all = lock.withLock { Array(observers.values) }
        for o in all { o.readinessChanged(events) }
    }

    /// Tells observers that `file` (one of possibly several descriptions sharing this queue) is closed.
    func notifyReleased(_ file: FileDescription) {
        waiters.notifyAll()
        let all = lock.withLock { Array(observers.values) }
        for o in all { o.descriptionReleased(file) }
    }
}

extension FileDescription {
    /// The poll bits of a file as the old (readable, writable, hung-up) triple reports them.
    static func pollEvents(fromTriple t: (Bool, Bool, Bool)) -> UInt32 {
        var e: UInt32 = 0
        if t.0 { e |= PollEvents.POLLIN | PollEvents.POLLRDNORM }
        if t.1 { e |= PollEvents.POLLOUT | PollEvents.POLLWRNORM }
        if t.2 { e |= PollEvents.POLLHUP }
        return e
    }
}

/// How long a poller that watches a host-backed file (which cannot notify) sleeps between re-checks.
let hostReadinessRecheckNanos: UInt64 = 10_000_000

extension Task {
    /// Sleeps until `check()` finds something ready (true), the monotonic `deadline` passes (false), or a
    /// signal arrives (ERESTARTNOHAND: poll-like calls restart only when no handler ran). With
    /// `recheck`, the sleep is cut into short slices so files that cannot notify are looked at again.
    func blockForReadiness(on queues: [WaitQueue], deadline: UInt64?, recheck: Bool,
                           _ check: () throws(Errno) -> Bool) throws(Errno) -> Bool {
        if let deadline, monotonicNanoseconds() >= deadline { return try check() }
        while true {
            var slice = deadline
            if recheck {
                let next = monotonicNanoseconds() + hostReadinessRecheckNanos
                slice = deadline.map { min($0, next) } ?? next
            }
            do {
                try block(on: queues, deadline: slice, until: check)
                return true
            } catch {
                switch error {
                case .ETIMEDOUT:
                    if let deadline, monotonicNanoseconds() >= deadline { return false }
                case .ERESTARTSYS: throw Errno.ERESTARTNOHAND
                default: throw error
                }
            }
        }
    }
}
