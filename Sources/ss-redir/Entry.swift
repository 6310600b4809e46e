import ArgumentParser
import LocalCommand
import ServerCommand

/// The entry point. `run` is prepared (config read, -f fork, -a user switch) while the process still has one
/// thread, because fork and per-thread capabilities need that; ArgumentParser's own async main starts tasks
/// first. Called as ss-server or ss-local (a link to this binary, as the .deb installs them), it is that program.
@main
enum Entry {
    static func main() async {
        switch CommandLine.arguments.first?.split(separator: "/").last {
        case "ss-server": return await SSServerProgram.main()
        case "ss-local": return await SSLocalProgram.main()
        default: break
        }
        do {
            var command = try SSRedirCommand.parseAsRoot()
            if let run = command as? RunCommand {
                try await run.run(prepared: run.prepare())
            } else if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            SSRedirCommand.exit(withError: error)
        }
    }
}
