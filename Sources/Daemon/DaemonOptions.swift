import ArgumentParser

/// What the seed's `-d` does.
public enum DaemonAction: String, ExpressibleByArgument, CaseIterable, Sendable {
    case start, stop, restart
}

/// The process flags shadowsocks 2.8.2 and shadowsocks-libev users know: background with a pid file, a user to
/// run as, a log file, and the seed's `-d start|stop|restart`. Shared by ss-redir, ss-server and ss-local.
public struct DaemonOptions: ParsableArguments, Sendable {
    @Option(
        name: .customShort("f"),
        help: ArgumentHelp( "Run in the background and write the PID to this file; a second instance using it refuses to start.", valueName: "pidfile"))
    public var pidFile: String?

    @Option(
        name: .customShort("a"),
        help: ArgumentHelp( "Run as this user once started, keeping only CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE.", valueName: "user"))
    public var user: String?

    @Option(name: .customLong("log-file"), help: "Append log lines to this file instead of writing them to stderr.")
    public var logFile: String?

    @Option(
        name: .customShort("d"),
        help: ArgumentHelp( "The seed's daemon control: start, stop or restart (pid file from -f, default /run/PROGRAM.pid).", valueName: "action"))
    public var action: DaemonAction?

    public init() {}

    public func validate() throws {
        if let user, user.isEmpty { throw ValidationError("-a needs a user name") }
    }
}
