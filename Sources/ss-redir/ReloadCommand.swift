import ArgumentParser
import Config
import Redir

#if canImport(Glibc)
import Glibc
#endif

/// `ss-redir reload`: tells the running daemon (found through its control socket) to re-read its
/// configuration, as SIGHUP does. The daemon logs whether the new configuration was taken.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Make the running daemon re-read its config and server lists (same as SIGHUP)."
    )

    @Option(name: .customLong("control"), help: "The daemon's control socket.")
    var controlSocket = RedirConfiguration.defaultControlSocket

    func run() throws {
        guard let text = ControlSocketClient.fetch(controlSocket),
            let root = try? JSONDocument.parse(text), case .object(let fields) = root.value,
            let pidNode = fields.first(where: { $0.key == "pid" })?.node, case .number(let pidText) = pidNode.value,
            let pid = Int32(pidText), pid > 1
        else {
            Console.error("no ss-redir answers on \(controlSocket); is it running? (--control PATH if it uses another socket)")
            throw ExitCode(1)
        }
        guard kill(pid, SIGHUP) == 0 else {
            Console.error("cannot signal ss-redir (pid \(pid)): \(String(cString: strerror(errno)))")
            throw ExitCode(1)
        }
        print("asked ss-redir (pid \(pid)) to reload; its log says whether the new configuration was taken")
    }
}
