import Foundation

/// The path under test: lan client -> gw REDIRECT -> ss-redir :1080 -> wan ss-server :8388 -> wan target.
struct ProxyChain {
    static let redirPort = 1080
    static let serverPort = 8388
    static let httpPort = 80
    static let linePort = 9000

    var target: BackgroundProcess
    var ssServer: BackgroundProcess
    var ssRedir: BackgroundProcess
}

extension Testbed {
    /// Starts target, Debian's ss-server and the ss-redir under test; `redirPassword` defaults to the server's.
    func startChain(
        method: String = "aes-256-gcm", password: String = UUID().uuidString, redirPassword: String? = nil,
        extraRedirArguments: [String] = []
    ) throws -> ProxyChain {
        let target = try startTarget()
        let ssServer = try startSSServer(method: method, password: password)
        let ssRedir = try startSSRedir([
            "-s", Testbed.wanIPv4, "-p", "\(ProxyChain.serverPort)", "-l", "\(ProxyChain.redirPort)", "-b", "::",
            "-k", redirPassword ?? password, "-m", method, "-v",
        ] + extraRedirArguments)
        return ProxyChain(target: target, ssServer: ssServer, ssRedir: ssRedir)
    }

    /// Resources/target_server.py in wan: HTTP on :80 and the line protocol on :9000, IPv4 and IPv6.
    func startTarget() throws -> BackgroundProcess {
        let script = Testbed.resources.appendingPathComponent("target_server.py").path
        let target = try start(.wan, name: "target", ["python3", "-B", script])
        try waitUntilListening(.wan, port: ProxyChain.httpPort, for: target)
        try waitUntilListening(.wan, port: ProxyChain.linePort, for: target)
        return target
    }

    /// Resources/udp_echo.py in wan on `port` (UDP, every address), waited for until it listens.
    @discardableResult
    func startUDPEcho(port: Int = 7) throws -> BackgroundProcess {
        let script = Testbed.resources.appendingPathComponent("udp_echo.py").path
        let echo = try start(.wan, name: "udp-echo", ["python3", "-B", script, "\(port)"])
        try waitUntilListening(.wan, port: port, for: echo, udp: true)
        return echo
    }

    func startSSServer(
        method: String, password: String, port: Int = ProxyChain.serverPort, udp: Bool = true
    ) throws -> BackgroundProcess {
        let server = try start(
            .wan, name: "ss-server-\(port)",
            ["ss-server", "-s", Testbed.wanIPv4, "-p", "\(port)", "-k", password, "-m", method]
                + (udp ? ["-u"] : []) + ["-v"])
        try waitUntilListening(.wan, port: port, for: server)
        return server
    }

    /// The binary under test in gw with the given arguments; waits for its TCP listener, or its UDP one with -U.
    func startSSRedir(_ arguments: [String]) throws -> BackgroundProcess {
        let redir = try start(.gw, name: "ss-redir", [Testbed.ssRedirBinary] + arguments)
        try waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: arguments.contains("-U"))
        if arguments.contains("-u") {
            try waitUntilListening(.gw, port: ProxyChain.redirPort, for: redir, udp: true)
        }
        return redir
    }
}
