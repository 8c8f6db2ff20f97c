// runsc: the OCI runtime's command line. Global flags are parsed first (both Go and GNU style), then the
// subcommand by swift-argument-parser; each subcommand is a few lines over the Sandbox library.
import Glibc

exit(Entry.run(Array(CommandLine.arguments.dropFirst())))
