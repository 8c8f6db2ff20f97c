import FoundationEssentials
import XCTest
@testable import OCI

final class SpecDecodingTests: XCTestCase {
    private func decode(_ json: String) throws(SpecError) -> Spec {
        try SpecLoader.decode(Data(json.utf8))
    }

    private func decodeError(_ json: String) -> String {
        do {
            let spec = try decode(json)
            try SpecValidator.validate(spec)
            return "no error"
        } catch {
            return error.description
        }
    }

    private let minimal = """
        {"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}}
        """

    func testDecodesMinimalSpecAndIgnoresUnknownFields() throws {
        let json = """
            {"ociVersion":"1.0.2","unknownTopLevel":{"x":1},
             "process":{"user":{"uid":1000,"gid":100,"additionalGids":[5,6]},"args":["/bin/sh","-c","true"],
                        "env":["PATH=/bin"],"cwd":"/tmp","terminal":false,"somethingNew":true},
             "root":{"path":"rootfs","readonly":true},"hostname":"box",
             "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
             "linux":{"namespaces":[{"type":"pid"}],"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[]}},
             "annotations":{"a":"b"}}
            """
        let spec = try decode(json)
        XCTAssertEqual(spec.process?.args, ["/bin/sh", "-c", "true"])
        XCTAssertEqual(spec.process?.user.uid, 1000)
        XCTAssertEqual(spec.process?.user.additionalGids, [5, 6])
        XCTAssertEqual(spec.process?.cwd, "/tmp")
        XCTAssertEqual(spec.root, Root(path: "rootfs", readonly: true))
        XCTAssertEqual(spec.hostname, "box")
        XCTAssertEqual(spec.mounts?.first?.type, "proc")
        XCTAssertEqual(spec.annotations, ["a": "b"])
        XCTAssertEqual(spec.linux?.namespaces, [Namespace(type: "pid")])
        guard case .object(let seccomp) = spec.linux?.seccomp else { return XCTFail("seccomp kept as JSON") }
        XCTAssertEqual(seccomp["defaultAction"], .string("SCMP_ACT_ERRNO"))
        XCTAssertNoThrow(try SpecValidator.validate(spec))
    }

    func testMalformedJSON() {
        XCTAssertEqual(decodeError("{\"ociVersion\": "),
                       "config.json: invalid JSON: line 1, column 16: expected a value, found end of file")
        XCTAssertEqual(decodeError("{\"a\": 1\n \"b\": 2}"),
                       "config.json: invalid JSON: line 2, column 2: expected ',' or '}', found '\"'")
    }

    func testTopLevelMustBeObject() {
        XCTAssertEqual(decodeError("[1,2]"), "config.json: must be a JSON object, got array")
    }

    func testWrongTypeOfArgs() {
        let json = minimal.replacingOccurrences(of: "[\"sh\"]", with: "5")
        XCTAssertEqual(decodeError(json), "config.json: field \"process.args\" must be an array of strings, got number")
    }

    func testWrongTypeOfArgsElement() {
        let json = minimal.replacingOccurrences(of: "[\"sh\"]", with: "[\"sh\", 7]")
        XCTAssertEqual(decodeError(json), "config.json: field \"process.args[1]\" must be a string, got number")
    }

    func testWrongTypeOfUid() {
        let json = minimal.replacingOccurrences(of: "\"uid\":0", with: "\"uid\":\"root\"")
        XCTAssertEqual(decodeError(json),
                       "config.json: field \"process.user.uid\" must be a non-negative integer, got string")
    }

    func testWrongTypeOfReadonly() {
        let json = minimal.replacingOccurrences(of: "{\"path\":\"rootfs\"}", with: "{\"path\":\"rootfs\",\"readonly\":\"yes\"}")
        XCTAssertEqual(decodeError(json), "config.json: field \"root.readonly\" must be a boolean, got string")
    }

    func testMissingRequiredNestedField() {
        let json = minimal.replacingOccurrences(of: "{\"path\":\"rootfs\"}", with: "{}")
        XCTAssertEqual(decodeError(json), "config.json: field \"root.path\" is required")
    }

    func testMissingArgs() {
        let json = minimal.replacingOccurrences(of: "\"args\":[\"sh\"],", with: "")
        XCTAssertEqual(decodeError(json), "config.json: process.args: must contain at least one element")
    }

    func testEmptyArgs() {
        let json = minimal.replacingOccurrences(of: "[\"sh\"]", with: "[]")
        XCTAssertEqual(decodeError(json), "config.json: process.args: must contain at least one element")
    }

    func testMissingProcess() {
        XCTAssertEqual(decodeError("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"}}"),
                       "config.json: process: is required (the container's init process)")
    }

    func testMissingRoot() {
        let json = minimal.replacingOccurrences(of: ",\"root\":{\"path\":\"rootfs\"}", with: "")
        XCTAssertEqual(decodeError(json), "config.json: root: is required (the container's root file system)")
    }

    func testRelativeCwd() {
        let json = minimal.replacingOccurrences(of: "\"cwd\":\"/\"", with: "\"cwd\":\"tmp\"")
        XCTAssertEqual(decodeError(json), "config.json: process.cwd: must be an absolute path, got \"tmp\"")
    }

    func testBadEnvEntry() {
        let json = minimal.replacingOccurrences(of: "\"cwd\"", with: "\"env\":[\"A=1\",\"B\"],\"cwd\"")
        XCTAssertEqual(decodeError(json), "config.json: process.env[1]: must be NAME=VALUE, got \"B\"")
    }

    func testUnknownNamespace() {
        let json = minimal.replacingOccurrences(of: "}}", with: "},\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}")
        XCTAssertTrue(decodeError(json).hasPrefix(
            "config.json: linux.namespaces[0].type: unknown namespace type \"bogus\""), decodeError(json))
    }

    func testNegativeUidIsRejected() {
        let json = minimal.replacingOccurrences(of: "\"uid\":0", with: "\"uid\":-1")
        let message = decodeError(json)
        XCTAssertEqual(message,
            "config.json: field \"process.user.uid\" must be a non-negative integer that fits in 32 bits, got -1")
    }

    func testBadRlimit() {
        let json = minimal.replacingOccurrences(of: "\"cwd\"",
            with: "\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"hard\":1,\"soft\":1}],\"cwd\"")
        XCTAssertEqual(decodeError(json), "config.json: process.rlimits[0].type: unknown resource limit \"RLIMIT_BOGUS\"")
    }

    func testNullForRequiredField() {
        let json = minimal.replacingOccurrences(of: "\"cwd\":\"/\"", with: "\"cwd\":null")
        XCTAssertEqual(decodeError(json), "config.json: field \"process.cwd\" must be a string, got null")
    }
}

final class DefaultSpecTests: XCTestCase {
    func testDefaultSpecRoundTripsAndValidates() throws {
        let spec = Spec.defaultSpec()
        let data = try JSONEncoder().encode(spec)
        let decoded = try SpecLoader.decode(data)
        XCTAssertEqual(decoded, spec)
        XCTAssertNoThrow(try SpecValidator.validate(decoded))
    }

    func testDefaultSpecMatchesRuncShape() {
        let spec = Spec.defaultSpec()
        XCTAssertEqual(spec.process?.args, ["sh"])
        XCTAssertEqual(spec.process?.terminal, true)
        XCTAssertEqual(spec.root?.path, "rootfs")
        XCTAssertEqual(spec.mounts?.map(\.destination), ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"])
        XCTAssertEqual(Set(spec.linux?.namespaces?.map(\.type) ?? []), ["pid", "network", "ipc", "uts", "mount"])
        XCTAssertEqual(spec.process?.capabilities?.bounding, Spec.defaultCapabilities)
        XCTAssertFalse(spec.linux?.maskedPaths?.isEmpty ?? true)
        XCTAssertFalse(spec.linux?.readonlyPaths?.isEmpty ?? true)
    }

    func testStateEncodesOCIFields() throws {
        let state = State(id: "abc", status: .running, pid: 42, bundle: "/b", annotations: ["k": "v"])
        let data = try JSONEncoder().encode(state)
        let tree = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let fields) = tree else { return XCTFail("state is an object") }
        XCTAssertEqual(fields["ociVersion"], .string(Spec.version))
        XCTAssertEqual(fields["id"], .string("abc"))
        XCTAssertEqual(fields["status"], .string("running"))
        XCTAssertEqual(fields["pid"], .integer(42))
        XCTAssertEqual(fields["bundle"], .string("/b"))
        XCTAssertEqual(fields["annotations"], .object(["k": .string("v")]))
    }

    func testPathString() {
        struct Key: CodingKey {
            var stringValue: String; var intValue: Int?
            init(stringValue: String) { self.stringValue = stringValue }
            init(intValue: Int) { self.stringValue = "Index \(intValue)"; self.intValue = intValue }
        }
        XCTAssertEqual(SpecLoader.pathString([Key(stringValue: "mounts"), Key(intValue: 2), Key(stringValue: "options")]),
                       "mounts[2].options")
    }
}
