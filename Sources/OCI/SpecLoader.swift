// Reading config.json: file errors, JSON syntax errors and type errors all become one-line messages that
// name the file and the field (as a JSON path such as "process.args[1]") and say what was expected.
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A problem with a bundle's config.json, as a one-line message ("config.json: process.args: ...").
public struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Loads and validates OCI specs.
public enum SpecLoader {
    /// The file name that prefixes every message.
    public static let fileName = "config.json"

    /// Reads `<bundle>/config.json`, decodes and validates it.
    public static func load(bundle: String) throws(SpecError) -> Spec {
        let path = bundle.hasSuffix("/") ? bundle + fileName : bundle + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try HostFile.readAll(path: path)
        } catch {
            throw SpecError("\(fileName): cannot read \(path): \(error.reason)")
        }
        let spec = try decode(Data(bytes))
        try SpecValidator.validate(spec)
        return spec
    }

    /// Decodes a spec, translating `DecodingError` into a message with the JSON path. Does not validate.
    public static func decode(_ data: Data) throws(SpecError) -> Spec {
        // First parse generically: a syntax error is reported as such, and a type error can say what the
        // user actually wrote at that path.
        let tree: JSONValue
        do {
            tree = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            let location = JSONSyntax.firstError(in: Array(data)) ?? syntaxReason(error)
            throw SpecError("\(fileName): invalid JSON: \(location)")
        }
        guard case .object = tree else {
            throw SpecError("\(fileName): must be a JSON object, got \(tree.typeName)")
        }
        do {
            return try JSONDecoder().decode(Spec.self, from: data)
        } catch let error as DecodingError {
            throw SpecError(message(for: error, in: tree))
        } catch {
            throw SpecError("\(fileName): \(error)")
        }
    }

    /// "process.args[1]" for a coding path.
    public static func pathString(_ path: [any CodingKey]) -> String {
        var result = ""
        for key in path {
            if let index = key.intValue, key.stringValue == "Index \(index)" || key.stringValue == "\(index)" {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return result
    }

    static func message(for error: DecodingError, in tree: JSONValue) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            let path = pathString(context.codingPath)
            let got = tree.value(at: context.codingPath)?.typeName ?? "nothing"
            if path.isEmpty { return "\(fileName): must be a JSON object, got \(got)" }
            return "\(fileName): field \"\(path)\" must be \(expectation(path: path, type: type)), got \(got)"
        case .valueNotFound(let type, let context):
            let path = pathString(context.codingPath)
            return "\(fileName): field \"\(path)\" must be \(expectation(path: path, type: type)), got null"
        case .keyNotFound(let key, let context):
            let path = pathString(context.codingPath + [key])
            return "\(fileName): field \"\(path)\" is required"
        case .dataCorrupted(let context):
            let path = pathString(context.codingPath)
            let got = tree.value(at: context.codingPath).map { " (got \($0.typeName) \(render($0)))" } ?? ""
            if path.isEmpty {
                // swift-foundation reports an unrepresentable number without its path: find it ourselves.
                if let (badPath, value) = outOfRangeNumber(in: tree) {
                    return "\(fileName): field \"\(badPath)\" must be a non-negative integer that fits in \(value.bits) bits, got \(value.text)"
                }
                return "\(fileName): \(firstLine(context.debugDescription))"
            }
            return "\(fileName): field \"\(path)\" has an invalid value\(got): \(firstLine(context.debugDescription))"
        @unknown default:
            return "\(fileName): \(error)"
        }
    }

    /// Fields whose element type the decoder cannot tell us when the whole value has the wrong type.
    static let arrayOfStrings: Set<String> = [
        "process.args", "process.env", "mounts[].options", "linux.maskedPaths", "linux.readonlyPaths",
        "process.capabilities.bounding", "process.capabilities.effective", "process.capabilities.inheritable",
        "process.capabilities.permitted", "process.capabilities.ambient",
    ]

    static func expectation(path: String, type: Any.Type) -> String {
        let generic = path.replacing(/\[\d+\]/, with: "[]")
        if arrayOfStrings.contains(generic) { return "an array of strings" }
        if generic == "process.user.additionalGids" { return "an array of non-negative integers" }
        if generic == "mounts" { return "an array of objects" }
        if generic == "annotations" || generic == "linux.sysctl" { return "an object with string values" }
        let name = String(describing: type)
        if name.hasPrefix("Array") { return "an array" }
        if name.hasPrefix("Dictionary") { return "an object" }
        switch name {
        case "String": return "a string"
        case "Bool": return "a boolean"
        case "UInt32", "UInt64", "UInt": return "a non-negative integer"
        case "Int", "Int64", "Int32": return "an integer"
        case "Double", "Float": return "a number"
        default: return "an object"
        }
    }

    /// Unsigned numeric fields of the spec and their widths ("[]" stands for every array element).
    static let unsignedFields: [(path: [String], bits: Int)] = [
        (["process", "user", "uid"], 32), (["process", "user", "gid"], 32), (["process", "user", "umask"], 32),
        (["process", "user", "additionalGids", "[]"], 32),
        (["process", "consoleSize", "height"], 32), (["process", "consoleSize", "width"], 32),
        (["process", "rlimits", "[]", "hard"], 64), (["process", "rlimits", "[]", "soft"], 64),
        (["linux", "uidMappings", "[]", "containerID"], 32), (["linux", "uidMappings", "[]", "hostID"], 32),
        (["linux", "uidMappings", "[]", "size"], 32), (["linux", "gidMappings", "[]", "containerID"], 32),
        (["linux", "gidMappings", "[]", "hostID"], 32), (["linux", "gidMappings", "[]", "size"], 32),
        (["linux", "devices", "[]", "fileMode"], 32), (["linux", "devices", "[]", "uid"], 32),
        (["linux", "devices", "[]", "gid"], 32),
    ]

    /// The first unsigned field whose number is negative, fractional or too large.
    static func outOfRangeNumber(in tree: JSONValue) -> (String, (bits: Int, text: String))? {
        func walk(_ value: JSONValue, _ rest: ArraySlice<String>, _ path: String, bits: Int) -> (String, (bits: Int, text: String))? {
            guard let head = rest.first else {
                switch value {
                case .integer(let v) where v < 0: return (path, (bits, String(v)))
                case .integer(let v) where bits == 32 && v > Int64(UInt32.max): return (path, (bits, String(v)))
                case .unsigned(let v) where bits == 32 && v > UInt64(UInt32.max): return (path, (bits, String(v)))
                case .double(let v): return (path, (bits, String(v)))
                default: return nil
                }
            }
            if head == "[]" {
                guard case .array(let elements) = value else { return nil }
                for (index, element) in elements.enumerated() {
                    if let found = walk(element, rest.dropFirst(), path + "[\(index)]", bits: bits) { return found }
                }
                return nil
            }
            guard case .object(let members) = value, let next = members[head] else { return nil }
            return walk(next, rest.dropFirst(), path.isEmpty ? head : path + "." + head, bits: bits)
        }
        for field in unsignedFields {
            if let found = walk(tree, field.path[...], "", bits: field.bits) { return found }
        }
        return nil
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .integer(let v): return String(v)
        case .unsigned(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        case .bool(let v): return String(v)
        default: return value.typeName
        }
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    /// The most useful line of a JSON syntax error (swift-foundation puts line/column in the underlying error).
    static func syntaxReason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                let text = String(describing: underlying)
                return firstLine(text)
            }
            return firstLine(context.debugDescription)
        }
        return firstLine(String(describing: error))
    }
}

/// Small POSIX file helpers with errno-derived messages (the OCI target must not depend on ours).
public enum HostFile {
    /// An errno with its strerror text.
    public struct Failure: Error, Sendable {
        public let errno: Int32
        public var reason: String { String(cString: strerror(errno)) }
    }

    /// Reads a whole file.
    public static func readAll(path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Failure(errno: errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { throw Failure(errno: EISDIR) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(errno: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }
}
