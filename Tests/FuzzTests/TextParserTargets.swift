import Config
import IPAddresses
import NIOCore
import Resolver
import Rules
import ShadowsocksServer

/// One entry point per text/record parser the daemon reads from users or the network. Each returns whether the
/// input was accepted; every failure these parsers can report is a typed error (their `throws(...)` say so), so
/// the fuzz property is: no trap, no hang.
enum TextParserTargets {
    static let all: [String: @Sendable ([UInt8]) -> Bool] = [
        "config-json": configJSON, "server-config": serverConfig, "sip002": sip002, "sip008": sip008,
        "rules": rules, "acl": acl, "resolv-conf": resolvConf, "hosts": hosts, "dns": dns,
    ]

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func configJSON(_ bytes: [UInt8]) -> Bool {
        _ = try? JSONDocument.parse(text(bytes))
        guard let loaded = try? ConfigFile.parse(text(bytes), path: "fuzz.json") else { return false }
        return (try? RedirConfiguration.resolve(loaded.settings)) != nil
    }

    static func serverConfig(_ bytes: [UInt8]) -> Bool {
        guard let loaded = try? ServerConfigFile.parse(text(bytes), path: "fuzz.json") else { return false }
        return (try? ServerConfiguration.resolve(loaded.settings)) != nil
    }

    static func sip002(_ bytes: [UInt8]) -> Bool {
        (try? ServerURI.parse(text(bytes).trimmingSuffixNewline, origin: "fuzz")) != nil
    }

    static func sip008(_ bytes: [UInt8]) -> Bool {
        (try? SIP008Document.parse(text(bytes), path: "fuzz.json")) != nil
    }

    static func rules(_ bytes: [UInt8]) -> Bool {
        var accepted = false
        for format in [RuleFileFormat.auto, .cidr, .domains, .hosts] {
            var builder = RuleSetBuilder()
            if (try? builder.addRules(text(bytes), origin: "fuzz", format: format)) != nil {
                accepted = true
                exercise(builder.build())
            }
        }
        return accepted
    }

    static func acl(_ bytes: [UInt8]) -> Bool {
        var builder = RuleSetBuilder()
        guard (try? builder.addACL(text(bytes), origin: "fuzz.acl")) != nil else { return false }
        exercise(builder.build())
        return true
    }

    /// A parsed rule set must answer lookups too (the tries are built from fuzzed entries).
    static func exercise(_ rules: BypassRules) {
        for name in ["example.com", "a.cn", "ad12.example", "", "."] { _ = rules.decide(domain: name) }
        for address in ["10.0.0.1", "1.0.1.7", "2001:db8::1", "::ffff:1.2.3.4"] {
            if let parsed = IPAddress(address) { _ = rules.decide(address: parsed) }
        }
    }

    static func resolvConf(_ bytes: [UInt8]) -> Bool {
        let conf = ResolvConf(parsing: text(bytes))
        return conf.problems.isEmpty
    }

    static func hosts(_ bytes: [UInt8]) -> Bool {
        let file = HostsFile(parsing: text(bytes))
        return !file.addresses(for: "localhost").isEmpty || !file.addresses(for: "gw.lan").isEmpty
    }

    static func dns(_ bytes: [UInt8]) -> Bool {
        (try? DNSMessage(parsing: bytes)) != nil
    }
}

extension String {
    fileprivate var trimmingSuffixNewline: String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
