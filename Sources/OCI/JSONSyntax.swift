// Locates the first JSON syntax error (line and column), because the decoder only says "not valid JSON".

enum JSONSyntax {
    /// "line 3, column 7: expected ',' or '}'" for the first error, or nil if the text is valid JSON.
    static func firstError(in bytes: [UInt8]) -> String? {
        var scanner = Scanner(bytes: bytes)
        do throws(Failure) {
            scanner.skipSpace()
            try scanner.value(depth: 0)
            scanner.skipSpace()
            if scanner.index < bytes.count { throw scanner.failure("unexpected text after the JSON value") }
            return nil
        } catch {
            return error.message
        }
    }

    struct Failure: Error { let message: String }

    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        func failure(_ what: String) -> Failure {
            var line = 1, column = 1
            for byte in bytes[..<min(index, bytes.count)] {
                if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            }
            let found = index < bytes.count ? "'\(Character(Unicode.Scalar(bytes[index])))'" : "end of file"
            return Failure(message: "line \(line), column \(column): \(what), found \(found)")
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, byte == 0x20 || byte == 0x0a || byte == 0x0d || byte == 0x09 { index += 1 }
        }

        mutating func expect(_ char: Character) throws(Failure) {
            guard current == char.asciiValue else { throw failure("expected '\(char)'") }
            index += 1
        }

        mutating func value(depth: Int) throws(Failure) {
            if depth > 512 { throw failure("nesting too deep") }
            switch current {
            case UInt8(ascii: "{"):
                index += 1; skipSpace()
                if current == UInt8(ascii: "}") { index += 1; return }
                while true {
                    skipSpace()
                    guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
                    try string()
                    skipSpace(); try expect(":"); skipSpace()
                    try value(depth: depth + 1)
                    skipSpace()
                    if current == UInt8(ascii: ",") { index += 1; continue }
                    guard current == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
                    index += 1; return
                }
            case UInt8(ascii: "["):
                index += 1; skipSpace()
                if current == UInt8(ascii: "]") { index += 1; return }
                while true {
                    skipSpace()
                    try value(depth: depth + 1)
                    skipSpace()
                    if current == UInt8(ascii: ",") { index += 1; continue }
                    guard current == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
                    index += 1; return
                }
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case let byte? where byte == UInt8(ascii: "-") || (byte >= 0x30 && byte <= 0x39): number()
            default: throw failure("expected a value")
            }
        }

        mutating func string() throws(Failure) {
            index += 1
            while let byte = current {
                index += 1
                if byte == UInt8(ascii: "\"") { return }
                if byte == UInt8(ascii: "\\") { index += 1 }
                if byte < 0x20 { index -= 1; throw failure("control character in string") }
            }
            throw failure("unterminated string")
        }

        mutating func literal(_ word: String) throws(Failure) {
            for expected in word.utf8 {
                guard current == expected else { throw failure("expected '\(word)'") }
                index += 1
            }
        }

        mutating func number() {
            while let byte = current,
                  (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                index += 1
            }
        }
    }
}
