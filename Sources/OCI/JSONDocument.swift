// JSON documents other than config.json (docker's daemon.json, `runsc update --resources`): parsed into a
// JSONValue, with the line and column of the first syntax error, and written back with sorted keys.
import FoundationEssentials

/// Parsing and printing of generic JSON documents.
public enum JSONDocument {
    /// The document in `bytes`, or a message such as "line 3, column 7: expected ',' or '}', found 'x'".
    public static func parse(_ bytes: [UInt8]) -> Result<JSONValue, SpecError> {
        do {
            return .success(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)))
        } catch {
            return .failure(SpecError(JSONSyntax.firstError(in: bytes) ?? "not valid JSON"))
        }
    }

    /// Pretty-printed with sorted keys and a final newline (docker's daemon.json is edited by people).
    public static func print(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One line with sorted keys.
    public static func compact(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
