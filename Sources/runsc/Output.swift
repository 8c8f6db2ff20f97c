// JSON and table output shared by state, list and wait.
import FoundationEssentials
import OCI
import Sandbox

enum JSONOutput {
    static func pretty<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func compact<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

struct WaitResult: Encodable {
    var id: String
    var exitStatus: Int32
}

enum ContainerTable {
    static func render(_ states: [State], quiet: Bool) -> String {
        if quiet { return states.map { $0.id + "\n" }.joined() }
        let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED"]]
            + states.map { [$0.id, String($0.pid), $0.status.rawValue, $0.bundle, $0.created ?? ""] }
        var widths = [Int](repeating: 0, count: 5)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3)
            }.joined() + "\n"
        }.joined()
    }
}
