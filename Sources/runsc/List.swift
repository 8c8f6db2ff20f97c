import ArgumentParser
import Sandbox

/// `runsc list`: the containers under --root.
struct ListCommand: ParsableCommand, RunscCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "list", abstract: "List containers.")
    }

    @Option(name: .shortAndLong, help: "text or json.") var format: String = "text"
    @Flag(name: .shortAndLong, help: "Print only the ids.") var quiet = false

    func execute(_ options: RuntimeOptions, _ log: RuntimeLog) throws -> Int32 {
        let states = ContainerManager(options: options, log: log).list()
        switch format {
        case "json": print(try JSONOutput.compact(states))
        case "text": print(ContainerTable.render(states, quiet: quiet), terminator: "")
        default: throw RuntimeError("list: --format must be text or json, got \"\(format)\"")
        }
        return 0
    }
}
