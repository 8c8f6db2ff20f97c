// swift-tools-version: 6.0
// runsc in Swift: one executable, several roles (CLI, boot = Sentry, gofer). See docs/architecture.md.
import PackageDescription

let staticStdlib: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib"], .when(configuration: .release)),
    // The static FoundationEssentials needs its collections and C shim libraries, which autolinking does not name.
    .linkedLibrary("_FoundationCollections", .when(configuration: .release)),
    .linkedLibrary("_FoundationCShims", .when(configuration: .release)),
]

let package = Package(
    name: "runsc",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "runsc", targets: ["runsc"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C shims for calls Swift cannot make directly (variadic ptrace/ioctl/prctl/syscall, raw clone).
        .target(name: "CLinux"),
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp"),
        .systemLibrary(name: "CCap", pkgConfig: "libcap"),
        .target(name: "LinuxABI"),
        .target(name: "OCI"),
        .target(name: "Platform", dependencies: ["LinuxABI"]),
        .target(name: "PlatformPtrace", dependencies: ["Platform", "LinuxABI", "CLinux", "CSeccomp"]),
        .target(name: "GoferProtocol", dependencies: ["LinuxABI", "CLinux"]),
        .target(name: "Gofer", dependencies: ["GoferProtocol", "LinuxABI", "CLinux", "CSeccomp"]),
        .target(name: "Sentry", dependencies: ["Platform", "GoferProtocol", "LinuxABI", "CLinux"]),
        .target(name: "Sandbox", dependencies: [
            "OCI", "Sentry", "Gofer", "GoferProtocol", "Platform", "PlatformPtrace", "LinuxABI", "CLinux",
            "CSeccomp", "CCap",
        ]),
        .executableTarget(
            name: "runsc",
            dependencies: ["Sandbox", "OCI", "LinuxABI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            linkerSettings: staticStdlib),

        .testTarget(name: "LinuxABITests", dependencies: ["LinuxABI"]),
        .testTarget(name: "OCITests", dependencies: ["OCI"]),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"]),
        .testTarget(name: "PlatformPtraceTests", dependencies: ["PlatformPtrace", "Platform", "CLinux"]),
        .testTarget(name: "GoferProtocolTests", dependencies: ["GoferProtocol"]),
        .testTarget(name: "GoferTests", dependencies: ["Gofer", "GoferProtocol", "CLinux"]),
        .testTarget(name: "SentryTests", dependencies: ["Sentry", "LinuxABI", "Platform", "PlatformPtrace", "Gofer", "GoferProtocol"],
                    // C programs the tests compile with the host's gcc and run on the Sentry.
                    exclude: ["programs"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "OCI"]),
        .testTarget(name: "IntegrationTests", dependencies: []),
    ]
)

// Fuzz targets (Fuzz/<Name>/, `make fuzz`): declared only when RUNSC_FUZZ is set, so a plain `swift build` or
// `swift test` never sees them. `make fuzz` builds them with -sanitize=fuzzer,address in .build-fuzz; each
// hands its LLVMFuzzerTestOneInput to libFuzzer's driver (Fuzz/FuzzDriver).
if Context.environment["RUNSC_FUZZ"] != nil {
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/FuzzDriver"))
    let fuzzTargets: [(name: String, dependencies: [String])] = [
        ("FuzzSpec", ["OCI", "Sandbox"]),
        ("FuzzGofer", ["GoferProtocol", "LinuxABI"]),
        ("FuzzELF", ["Sentry", "LinuxABI"]),
        ("FuzzControl", ["Sandbox"]),
    ]
    for target in fuzzTargets {
        package.targets.append(.executableTarget(
            name: target.name, dependencies: (target.dependencies + ["FuzzDriver"]).map { .target(name: $0) }, path: "Fuzz/\(target.name)"))
        package.products.append(.executable(name: target.name, targets: [target.name]))
    }
}
