// libFuzzer target: the Gofer wire decoders in both directions, as the two peers use them. The Gofer server
// decodes requests from the Sentry (GoferServer.respond); the Sentry's client decodes replies from the Gofer
// (GoferClient). Either peer may be compromised, so any byte string must decode or fail with a
// GoferDecodeError, never trap. What decodes must survive an encode/decode round trip unchanged.
import GoferProtocol
import FuzzDriver

@_cdecl("FuzzGofer_main")
public func fuzzGoferMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc: argc, argv: argv, fuzzGofer)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGofer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []

    // The server's path, including the header it reads to answer an undecodable request with the right tag.
    do {
        let request = try GoferWire.decodeRequest(bytes)
        let again = try GoferWire.decodeRequest(GoferWire.encode(request))
        precondition(again == request, "request changed in an encode/decode round trip: \(request) vs \(again)")
    } catch {
        _ = GoferWire.requestHeader(bytes)
    }

    // The client's path.
    if let reply = try? GoferWire.decodeReply(bytes) {
        let again = try? GoferWire.decodeReply(GoferWire.encode(reply))
        precondition(again == reply, "reply changed in an encode/decode round trip: \(reply) vs \(String(describing: again))")
    }
    return 0
}
