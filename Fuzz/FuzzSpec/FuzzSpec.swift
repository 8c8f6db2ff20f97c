// libFuzzer target: a bundle's config.json through the path `create` takes before it spawns anything
// (Container.loadBundle, then createSandbox's BootPlan.make): decode, validate, plan the boot. The boot role
// repeats decode + plan on the bytes it is handed. Every input must give a Spec or a one-line error.
import FoundationEssentials
import OCI
import Sandbox
import FuzzDriver

@_cdecl("FuzzSpec_main")
public func fuzzSpecMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzSpec)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    // Other JSON documents (daemon.json, `update --resources`) share the parser.
    if case .success(let value) = JSONDocument.parse(bytes) {
        _ = JSONDocument.print(value)
    }
    let spec: Spec
    do {
        spec = try SpecLoader.decode(Data(bytes))
    } catch {
        precondition(!error.description.isEmpty)
        return 0
    }
    let plan: BootPlan
    do {
        try SpecValidator.validate(spec)
        plan = try BootPlan.make(from: spec)
    } catch {
        return 0
    }
    // createSandbox hands the boot JSONEncoder's encoding of the spec (--spec-fd); the boot decodes and plans
    // it again, and must arrive at the same plan.
    guard let encoded = try? JSONEncoder().encode(spec) else { preconditionFailure("an accepted spec does not encode") }
    let bootPlan: BootPlan
    do {
        bootPlan = try BootPlan.make(from: try SpecLoader.decode(encoded))
    } catch {
        preconditionFailure("the boot rejects the spec create accepted: \(error)")
    }
    precondition(bootPlan == plan, "the boot plans differently from create")
    return 0
}
