import ArgumentParser

/// The entry point: the command is prepared (config, -f fork, -a user switch) while the process has one thread.
@main
enum Entry {
    static func main() async {
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
