import ArgumentParser

/// ss-server as a whole program: the ss-server executable's entry point, and ss-redir's when it is called as
/// ss-server. The command is prepared (config, -f fork, -a user switch) while the process has one thread.
public enum SSServerProgram {
    /// On the main actor, like an @main's main: a nonisolated async function would run on the concurrency
    /// pool, whose threads would then exist before prepare() forks (-f) and switches user (-a).
    @MainActor
    public static func main() async {
        do {
            let command = try SSServerCommand.parseAsRoot()
            guard let server = command as? SSServerCommand else {
                var other = command
                try other.run()
                return
            }
            try await server.run(prepared: server.prepare())
        } catch {
            SSServerCommand.exit(withError: error)
        }
    }
}
