// libFuzzer target: the control socket's JSON-line decoders. The sandbox decodes requests from any process
// that can reach its socket (ControlServer); the CLI decodes the sandbox's responses (ControlClient), and
// the sandbox runs untrusted code. Any line must decode or give an error message, never trap.
import Sandbox
import FuzzDriver

@_cdecl("FuzzControl_main")
public func fuzzControlMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzControl)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    // The server reads a line as UTF-8 (invalid bytes repaired), as Sys.readLine hands it over.
    let line = String(decoding: bytes, as: UTF8.self)

    if case .success(let request) = ControlProtocol.decodeRequest(line) {
        // What was accepted must be re-encodable and decode to the same request (the CLI sends encode's output).
        guard case .success(let again) = ControlProtocol.decodeRequest(ControlProtocol.encode(request)) else {
            preconditionFailure("an accepted request does not decode after encoding: \(request)")
        }
        precondition(again == request, "request changed in an encode/decode round trip")
    }
    if let response = try? ControlProtocol.decodeResponse(line) {
        let again = try? ControlProtocol.decodeResponse(ControlProtocol.encode(response))
        precondition(again == response, "response changed in an encode/decode round trip")
    }
    return 0
}
