import ArgumentParser
import Redir

struct SSRedirCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ss-redir",
        abstract: "Transparent Shadowsocks proxy for Linux gateways (drop-in for shadowsocks-libev's ss-redir).",
        discussion: """
            LAN TCP that nftables/iptables REDIRECTs to the local port is relayed through a Shadowsocks AEAD server
            to its original destination. Flags and JSON keys are shadowsocks-libev's; flags override the file.
            Example: ss-redir -s 203.0.113.7 -p 8388 -k PASSWORD -m aes-256-gcm -b :: -l 1080
            """,
        version: SSRedirVersion.versionLine(program: "ss-redir"),
        subcommands: [RunCommand.self, SetupCommand.self, TeardownCommand.self, StatusCommand.self, ReloadCommand.self, CheckCommand.self],
        defaultSubcommand: RunCommand.self
    )
}
