import ArgumentParser

/// The entry point: the command is prepared (config, -f fork, -a user switch) while the process has one thread.
@main
enum Entry {
    static func main() async {
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
