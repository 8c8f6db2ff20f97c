// Pure logic behind `runsc update`, `events`, `features` and `install`: flag and document parsing, the
// runc event shape, and daemon.json edits.
import FoundationEssentials
import Glibc
import XCTest
import OCI
@testable import Sandbox

final class ResourceUpdateTests: XCTestCase {
    func testFlagsMapToOCIResources() throws {
        var update = ResourceUpdate()
        try update.set(flag: "memory", "512m")
        try update.set(flag: "pids-limit", "20")
        try update.set(flag: "cpu-shares", "512")
        try update.set(flag: "cpu-quota", "50000")
        try update.set(flag: "cpuset-cpus", "0-1,3")
        XCTAssertEqual(update.memoryLimit, 512 << 20)
        XCTAssertEqual(update.pidsLimit, 20)
        XCTAssertEqual(update.sections["cpu"]?["shares"], .unsigned(512))
        XCTAssertEqual(update.sections["cpu"]?["quota"], .integer(50000))
        XCTAssertTrue(update.unappliedWarnings.first?.contains("cpu.cpus, cpu.quota, cpu.shares") ?? false,
                      "\(update.unappliedWarnings)")
    }

    func testSizesAndUnlimited() throws {
        XCTAssertEqual(try ResourceUpdate.parseBytes("1024", flag: "memory"), 1024)
        XCTAssertEqual(try ResourceUpdate.parseBytes("1.5g", flag: "memory"), 3 << 29)
        XCTAssertEqual(try ResourceUpdate.parseBytes("64MiB", flag: "memory"), 64 << 20)
        XCTAssertEqual(try ResourceUpdate.parseBytes("-1", flag: "memory"), -1)
        for bad in ["", "abc", "12q", "-5", "1..2m", "m"] {
            XCTAssertThrowsError(try ResourceUpdate.parseBytes(bad, flag: "memory")) { error in
                XCTAssertTrue("\(error)".contains("--memory"), "\(error)")
            }
        }
        var update = ResourceUpdate()
        try update.set(flag: "pids-limit", "-1")
        XCTAssertEqual(update.pidsLimit, -1)
        try update.set(flag: "memory", "0")
        XCTAssertNil(update.memoryLimit, "0 leaves the limit unchanged, as in runc")
    }

    func testInvalidFlagValuesNameTheFlag() {
        var update = ResourceUpdate()
        for (flag, value) in [("cpu-period", "10"), ("cpu-period", "x"), ("cpu-quota", "5"), ("blkio-weight", "5"),
                              ("cpuset-cpus", "0-"), ("pids-limit", "many"), ("cpu-share", "1")] {
            XCTAssertThrowsError(try update.set(flag: flag, value), "\(flag)=\(value)") { error in
                XCTAssertTrue("\(error)".contains("--\(flag)"), "\(error)")
            }
        }
    }

    func testResourcesDocument() throws {
        let json = #"{"memory":{"limit":1048576,"swap":-1},"pids":{"limit":7},"cpu":{"period":100000,"quota":-1},"unified":{"a":"b"}}"#
        let update = try ResourceUpdate.parse(json: Array(json.utf8), source: "r.json")
        XCTAssertEqual(update.memoryLimit, 1_048_576)
        XCTAssertEqual(update.pidsLimit, 7)
        XCTAssertEqual(update.sections["cpu"]?["period"], .integer(100000))

        XCTAssertThrowsError(try ResourceUpdate.parse(json: Array(#"{"memory":{"limit":1,}"#.utf8), source: "r.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("r.json: invalid JSON: line 1, column"), "\(error)")
        }
        XCTAssertThrowsError(try ResourceUpdate.parse(json: Array(#"{"memroy":{}}"#.utf8), source: "r.json")) { error in
            XCTAssertTrue("\(error)".contains("unknown resource section \"memroy\""), "\(error)")
        }
        XCTAssertThrowsError(try ResourceUpdate.parse(json: Array(#"{"memory":{"limit":"1g"}}"#.utf8), source: "stdin")) { error in
            XCTAssertTrue("\(error)".contains("stdin: memory.limit: expected an integer, got string"), "\(error)")
        }
    }

    func testMergeKeepsEarlierKeys() throws {
        var recorded = try ResourceUpdate.parse(json: Array(#"{"cpu":{"shares":100},"pids":{"limit":5}}"#.utf8), source: "x")
        var newer = ResourceUpdate()
        try newer.set(flag: "pids-limit", "9")
        recorded.merge(newer)
        XCTAssertEqual(recorded.ociJSON(), #"{"cpu":{"shares":100},"pids":{"limit":9}}"#)
    }
}

final class EventsFormatTests: XCTestCase {
    func testGoDurations() throws {
        XCTAssertEqual(try GoDuration.parse("5s", flag: "interval"), 5_000_000_000)
        XCTAssertEqual(try GoDuration.parse("250ms", flag: "interval"), 250_000_000)
        XCTAssertEqual(try GoDuration.parse("1m30s", flag: "interval"), 90_000_000_000)
        XCTAssertEqual(try GoDuration.parse("1.5h", flag: "interval"), 5_400_000_000_000)
        for bad in ["", "5", "s", "5x", "0s", "-1s"] {
            XCTAssertThrowsError(try GoDuration.parse(bad, flag: "interval"), bad) { error in
                XCTAssertTrue("\(error)".contains("--interval"), "\(error)")
            }
        }
    }

    func testStatsLineHasRuncFieldNames() throws {
        let stats = ControlStats(cpuUser: 3, cpuSystem: 4, memoryUsage: 8192, memoryLimit: nil, memoryFailures: 0,
                                 tasks: 2, pidsLimit: 10)
        let line = RuncEvent.stats(id: "c1", stats).jsonLine
        let object = try XCTUnwrap(try JSONSerializationShim.object(line))
        XCTAssertEqual(object["type"] as? String, "stats")
        XCTAssertEqual(object["id"] as? String, "c1")
        let data = try XCTUnwrap(object["data"] as? [String: Any])
        let usage = try XCTUnwrap((data["cpu"] as? [String: Any])?["usage"] as? [String: Any])
        XCTAssertEqual(usage["total"] as? Int, 7)
        XCTAssertEqual(usage["kernel"] as? Int, 4)
        XCTAssertEqual(usage["user"] as? Int, 3)
        let memory = try XCTUnwrap((data["memory"] as? [String: Any])?["usage"] as? [String: Any])
        XCTAssertEqual(memory["usage"] as? Int, 8192)
        XCTAssertEqual(memory["limit"] as? UInt64, UInt64.max)
        XCTAssertEqual(memory["failcnt"] as? Int, 0)
        let pids = try XCTUnwrap(data["pids"] as? [String: Any])
        XCTAssertEqual(pids["current"] as? Int, 2)
        XCTAssertEqual(pids["limit"] as? Int, 10)
        XCTAssertEqual(RuncEvent.oom(id: "c1").jsonLine, #"{"id":"c1","type":"oom"}"#)
    }
}

/// JSONSerialization lives in full Foundation; decode through JSONValue instead and convert.
enum JSONSerializationShim {
    static func object(_ text: String) throws -> [String: Any]? {
        guard case .success(let value) = JSONDocument.parse(Array(text.utf8)) else { return nil }
        return convert(value) as? [String: Any]
    }

    static func convert(_ value: JSONValue) -> Any {
        switch value {
        case .null: return NSNullShim()
        case .bool(let b): return b
        case .integer(let n): return Int(n)
        case .unsigned(let n): return n
        case .double(let d): return d
        case .string(let s): return s
        case .array(let a): return a.map(convert)
        case .object(let o): return o.mapValues(convert)
        }
    }
    struct NSNullShim {}
}

final class DaemonConfigTests: XCTestCase {
    func testInstallKeepsOtherKeysAndReplacesEntry() throws {
        let original = try DockerDaemonConfig.parse(Array(#"{"debug":true,"runtimes":{"other":{"path":"/x"}}}"#.utf8), file: "d.json")
        let installed = try DockerDaemonConfig.installing(runtime: "runsc", binary: "/usr/bin/runsc", arguments: ["--debug"],
                                                          into: original, file: "d.json")
        XCTAssertEqual(JSONDocument.compact(installed),
                       #"{"debug":true,"runtimes":{"other":{"path":"/x"},"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--debug"]}}}"#)
        let removed = try DockerDaemonConfig.uninstalling(runtime: "runsc", from: installed, file: "d.json")
        XCTAssertEqual(JSONDocument.compact(removed), #"{"debug":true,"runtimes":{"other":{"path":"/x"}}}"#)
        let empty = try DockerDaemonConfig.uninstalling(runtime: "other", from: removed, file: "d.json")
        XCTAssertEqual(JSONDocument.compact(empty), #"{"debug":true}"#)
    }

    func testErrorsNameFileAndPosition() {
        XCTAssertThrowsError(try DockerDaemonConfig.parse(Array("{\n  \"a\": 1\n  \"b\": 2\n}".utf8), file: "/etc/docker/daemon.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("/etc/docker/daemon.json: invalid JSON: line 3, column 3"), "\(error)")
        }
        XCTAssertThrowsError(try DockerDaemonConfig.installing(runtime: "runsc", binary: "/b", arguments: [],
                                                               into: .array([]), file: "d.json")) { error in
            XCTAssertTrue("\(error)".contains("must be a JSON object, got array"), "\(error)")
        }
        XCTAssertThrowsError(try DockerDaemonConfig.installing(runtime: "runsc", binary: "/b", arguments: [],
                                                               into: .object(["runtimes": .string("x")]), file: "d.json")) { error in
            XCTAssertTrue("\(error)".contains("\"runtimes\" must be an object"), "\(error)")
        }
        XCTAssertThrowsError(try DockerDaemonConfig.installing(runtime: "bad name", binary: "/b", arguments: [], into: nil, file: "d.json"))
        XCTAssertThrowsError(try DockerDaemonConfig.uninstalling(runtime: "runsc", from: .object([:]), file: "d.json")) { error in
            XCTAssertTrue("\(error)".contains("not installed"), "\(error)")
        }
        XCTAssertEqual(try DockerDaemonConfig.parse(Array(" \n".utf8), file: "d.json"), .object([:]))
    }
}

final class SystemdCgroupPathTests: XCTestCase {
    func testSliceprefixName() throws {
        XCTAssertEqual(try SystemdCgroupPath.parse("system.slice:docker:abc"), SystemdCgroupPath(slice: "system.slice", unit: "docker-abc.scope"))
        XCTAssertEqual(try SystemdCgroupPath.parse(":runsc:x").slice, "system.slice")
        XCTAssertEqual(try SystemdCgroupPath.parse("user.slice::x.slice").unit, "x.slice")
        for bad in ["/docker/abc", "a:b", "system:docker:abc", "system.slice:docker:", "a.slice:b:c/d"] {
            XCTAssertThrowsError(try SystemdCgroupPath.parse(bad), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("config.json: linux.cgroupsPath:"), "\(error)")
            }
        }
    }
}
