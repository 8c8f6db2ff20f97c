// The Sentry's public surface, as the boot role uses it. (Being filled in: see Kernel.swift.)
import Platform

/// An error that stops the Sentry from starting a container, with a message that names the cause.
public struct SentryError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The contract the boot role relies on (implemented by `Kernel`):
///
///     let memory = try MemoryFile()                       // the sandbox's one memfd
///     let platform = try PtracePlatform(memoryFileFD: memory.fd)
///     let kernel = try Kernel(config: config, platform: platform, memoryFile: memory)
///     try kernel.prepare()     // resolves and loads init's executable: a missing binary fails here, at create
///     try kernel.start()       // runs init on its own host thread
///     let status = kernel.wait()            // blocks until init has exited and every task is gone
///     kernel.signal(15, allProcesses: false)   // from the control socket
public protocol SentryKernel: AnyObject, Sendable {
    func prepare() throws
    func start() throws
    func wait() -> ExitStatus
    func signal(_ signal: Int32, allProcesses: Bool) throws
    /// A signal from outside to one process of the sandbox (by its pid inside).
    func signal(_ signal: Int32, process pid: Int32) throws
    /// Host-visible process list for `runsc ps`: (pid inside the sandbox, command name).
    func processes() -> [(pid: Int32, command: String)]
    /// `runsc exec`: starts a new process in the running container (Kernel/Exec.swift); returns its pid.
    func exec(_ request: ExecRequest) throws -> Int32
    /// The exit status of an exec'd process, nil while it runs; throws for an unknown pid.
    func execExitStatus(pid: Int32) throws -> ExitStatus?
    /// `runsc ps`: every live process with its parent, owner and CPU time.
    func processTable() -> [SentryProcessInfo]
    /// `runsc pause`/`resume` (Kernel/SandboxControls.swift); false if already in that state.
    func pause() -> Bool
    func resume() -> Bool
    var isPaused: Bool { get }
    /// `runsc events`: CPU time, memory and tasks of the whole sandbox.
    func resourceUsage() -> SentryResourceUsage
    /// `runsc update`: new memory and pids limits (nil: unchanged).
    func updateLimits(memory: SentryLimit?, pids: SentryLimit?)
}
