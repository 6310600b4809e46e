// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ss-redir",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ss-redir", targets: ["ss-redir"]),
        .executable(name: "ss-server", targets: ["ss-server"]),
        .executable(name: "ss-local", targets: ["ss-local"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // C shims, one job each: Linux socket options NIO does not expose (SO_ORIGINAL_DST and friends).
        .target(name: "CShadowsocksLinux"),
        // C shim, one job: switch user keeping the network capabilities (prctl/capset are not callable from Swift).
        .target(name: "CPrivileges"),
        // -f pid file + background, -a user, --log-file, the seed's -d start|stop|restart; shared by the executables.
        .target(
            name: "Daemon",
            dependencies: [
                "CPrivileges", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        // nftables rulesets as values: rendered as nft text, sent as one netlink batch; rtnetlink policy routing.
        .target(name: "Netfilter", dependencies: ["CMnl", "CNftnl", "IPAddresses"]),
        // IPv4/IPv6 address and range values shared by rules, the resolver and the ruleset builder.
        .target(name: "IPAddresses"),
        .target(name: "ShadowsocksCrypto", dependencies: ["CLibCrypto"]),
        .target(
            name: "ShadowsocksProtocol",
            dependencies: ["ShadowsocksCrypto", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // /etc/hosts + resolv.conf, the DNS message codec, an async caching stub resolver.
        .target(
            name: "Resolver",
            dependencies: [
                "IPAddresses",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Bypass/proxy decisions: CIDR and domain tries, rule files (lists, hosts, ss-libev ACL), sniffers.
        .target(name: "Rules", dependencies: ["IPAddresses", "Resolver"]),
        // RFC 1928/1929 messages and their incremental parser.
        .target(
            name: "SOCKS5", dependencies: ["ShadowsocksProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "Config", dependencies: ["ShadowsocksCrypto", "ShadowsocksProtocol", "Rules", "IPAddresses"]),
        .target(
            name: "ServerPool",
            dependencies: [
                "Config",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Redir",
            dependencies: [
                "CShadowsocksLinux", "ShadowsocksCrypto", "ShadowsocksProtocol", "Config", "ServerPool", "Resolver",
                "Rules", "SOCKS5", "Netfilter",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ss-redir",
            dependencies: [
                "Redir", "Config", "Netfilter", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The seed's ssserver on our relay code: single port or port_password, replay filter, forbidden_ip.
        .target(
            name: "ShadowsocksServer",
            dependencies: [
                "Redir", "ShadowsocksCrypto", "ShadowsocksProtocol", "Config", "Resolver", "IPAddresses",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ss-server",
            dependencies: [
                "ShadowsocksServer", "Config", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ss-local",
            dependencies: [
                "Redir", "Config", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Load and lookup costs of the rule tries (issue 5's figures); run with `swift run -c release rules-benchmark`.
        .executableTarget(name: "rules-benchmark", dependencies: ["Rules"]),
        .testTarget(
            name: "ResolverTests",
            dependencies: [
                "Resolver", "IPAddresses",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Resolver", "IPAddresses"]),
        .testTarget(name: "SOCKS5Tests", dependencies: ["SOCKS5", "ShadowsocksProtocol"]),
        .testTarget(
            name: "ShadowsocksServerTests",
            dependencies: [
                "ShadowsocksServer", "ShadowsocksProtocol", "ShadowsocksCrypto", "Config", "IPAddresses",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShadowsocksCryptoTests", dependencies: ["ShadowsocksCrypto"]),
        .testTarget(
            name: "ShadowsocksProtocolTests",
            dependencies: ["ShadowsocksProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "ShadowsocksCrypto"]),
        .testTarget(
            name: "ServerPoolTests",
            dependencies: [
                "ServerPool", "Config", "ShadowsocksCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Golden/ holds the expected nft text, read from the source tree (found via #filePath).
        .testTarget(name: "NetfilterTests", dependencies: ["Netfilter", "Config"], exclude: ["Golden"]),
        .testTarget(
            name: "RedirTests",
            dependencies: [
                "Redir", "ShadowsocksProtocol", "ShadowsocksCrypto", "Config",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Seeded fuzz loops over every wire, config and rule parser (issue 9); Corpus/ is read via #filePath.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "ShadowsocksProtocol", "ShadowsocksCrypto", "ShadowsocksServer", "SOCKS5", "Config", "Rules", "Resolver",
                "IPAddresses", .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Corpus"]
        ),
        // Resources/ holds python helpers the tests run from the source tree (found via #filePath).
        // Netfilter: the DNS bypass set updater is a library API, driven in-process inside the testbed's gw namespace.
        .testTarget(name: "EndToEndTests", dependencies: ["Netfilter"], exclude: ["Resources"]),
    ],
    swiftLanguageModes: [.v6]
)
