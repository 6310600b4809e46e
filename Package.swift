// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ss-redir",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ss-redir", targets: ["ss-redir"])
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
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CMnl", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev"])]),
        // nftables rulesets as values: rendered as nft text, sent as one netlink batch; rtnetlink policy routing.
        .target(name: "Netfilter", dependencies: ["CMnl", "CNftnl"]),
        .target(name: "ShadowsocksCrypto", dependencies: ["CLibCrypto"]),
        .target(
            name: "ShadowsocksProtocol",
            dependencies: ["ShadowsocksCrypto", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "Config", dependencies: ["ShadowsocksCrypto", "ShadowsocksProtocol"]),
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
                "CShadowsocksLinux", "ShadowsocksCrypto", "ShadowsocksProtocol", "Config", "ServerPool",
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
                "Redir", "Config", "Netfilter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
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
                "Redir", "ShadowsocksProtocol", "ShadowsocksCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Resources/ holds python helpers the tests run from the source tree (found via #filePath).
        .testTarget(name: "EndToEndTests", dependencies: [], exclude: ["Resources"]),
    ],
    swiftLanguageModes: [.v6]
)
