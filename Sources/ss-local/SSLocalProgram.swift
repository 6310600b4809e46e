import ArgumentParser

/// ss-local as a whole program: the ss-local executable's entry point, and ss-redir's when it is called as
/// ss-local. The command is prepared (config, -f fork, -a user switch) while the process has one thread.
public enum SSLocalProgram {
    /// On the main actor, like an @main's main: a nonisolated async function would run on the concurrency
    /// pool, whose threads would then exist before prepare() forks (-f) and switches user (-a).
    @MainActor
    public static func main() async {
        do {
            var command = try SSLocalCommand.parseAsRoot()
            guard let local = command as? SSLocalCommand else {
                try command.run()
                return
            }
            try await local.run(prepared: local.prepare())
        } catch {
            SSLocalCommand.exit(withError: error)
        }
    }
}
