// swift-tools-version:6.0
import PackageDescription

// What `--version` reports, set by the Makefile (make deb); a plain `swift build` says "unknown". Only
// CBuildInfo sees them, so a new commit recompiles one C file.
let buildCommit = Context.environment["SS_REDIR_GIT_COMMIT"] ?? "unknown"
let buildSwiftVersion = Context.environment["SS_REDIR_SWIFT_VERSION"] ?? ""

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
        // C shim, one job: the commit and compiler strings of this build, from the environment (see above).
        .target(
            name: "CBuildInfo",
            cSettings: [
                .define("SS_REDIR_GIT_COMMIT", to: "\"\(buildCommit)\""),
                .define("SS_REDIR_SWIFT_VERSION", to: "\"\(buildSwiftVersion)\""),
            ]
        ),
        // The commit and Swift version `--version` prints next to SSRedirVersion.
        .target(name: "BuildInfo", dependencies: ["CBuildInfo"]),
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
        // One seeded generator (SplitMix64) for the pool's random strategy, the tests and the benchmarks.
        .target(name: "SeededRandom"),
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
                "Config", "SeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Clash-compatible external controller (REST + WebSocket, static dashboard files) over a backend protocol.
        .target(
            name: "Controller",
            dependencies: [
                "Config",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Redir",
            dependencies: [
                "Controller",
                "CShadowsocksLinux", "ShadowsocksCrypto", "ShadowsocksProtocol", "Config", "ServerPool", "Resolver",
                "Rules", "SOCKS5", "Netfilter", "BuildInfo",
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
                "Redir", "Config", "Netfilter", "Daemon", "Controller", "ServerCommand", "LocalCommand",
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
        // ss-server's and ss-local's commands are libraries (all of their folder but Main/) so that ss-redir
        // also runs them when called by those names: the .deb ships one binary and two links (docs/debian.md).
        .target(
            name: "ServerCommand",
            dependencies: [
                "ShadowsocksServer", "Config", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/ss-server", exclude: ["Main"]
        ),
        .executableTarget(name: "ss-server", dependencies: ["ServerCommand"], path: "Sources/ss-server/Main"),
        .target(
            name: "LocalCommand",
            dependencies: [
                "Redir", "Config", "Daemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/ss-local", exclude: ["Main"]
        ),
        .executableTarget(name: "ss-local", dependencies: ["LocalCommand"], path: "Sources/ss-local/Main"),
        // Load and lookup costs of the rule tries (issue 5's figures); run with `swift run -c release rules-benchmark`.
        .executableTarget(name: "rules-benchmark", dependencies: ["Rules", "SeededRandom"]),
        // AEAD seal/open, the stream decoder, session setup, UDP packets, DNS cache hits (issue 8's microbenchmarks);
        // scripts/bench/micro.sh sets them beside `openssl speed`.
        .executableTarget(
            name: "hotpath-benchmark",
            dependencies: [
                "Redir", "Resolver", "IPAddresses", "ShadowsocksCrypto", "ShadowsocksProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
        .testTarget(
            name: "ResolverTests",
            dependencies: [
                "Resolver", "IPAddresses", "SeededRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Resolver", "IPAddresses", "SeededRandom"]),
        .testTarget(name: "SOCKS5Tests", dependencies: ["SOCKS5", "ShadowsocksProtocol", "SeededRandom"]),
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
        .testTarget(name: "ControllerTests", dependencies: ["Controller", .product(name: "NIOHTTP1", package: "swift-nio")]),
        .testTarget(
            name: "ServerPoolTests",
            dependencies: [
                "ServerPool", "Config", "ShadowsocksCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Golden/ holds the expected nft text, read from the source tree (found via #filePath).
        .testTarget(name: "NetfilterTests", dependencies: ["Netfilter", "Config", "SeededRandom"], exclude: ["Golden"]),
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
                "IPAddresses", "SeededRandom", .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Corpus"]
        ),
        // Resources/ holds python helpers the tests run from the source tree (found via #filePath).
        // Netfilter: the DNS bypass set updater is a library API, driven in-process inside the testbed's gw namespace.
        .testTarget(name: "EndToEndTests", dependencies: ["Netfilter"], exclude: ["Resources"]),
    ],
    swiftLanguageModes: [.v6]
)
