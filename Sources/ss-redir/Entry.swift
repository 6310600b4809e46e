import ArgumentParser

/// The entry point. `run` is prepared (config read, -f fork, -a user switch) while the process still has one
/// thread, because fork and per-thread capabilities need that; ArgumentParser's own async main starts tasks
/// first.
@main
enum Entry {
    static func main() async {
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
