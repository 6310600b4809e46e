import NIOCore
import NIOEmbedded
import Testing

@testable import Redir

/// The relay's idle timeout, kept by one `IdleSweeper` per event loop (a 250 ms tick): a connection silent for
/// its timeout is closed, never before, at most a tick after; bytes read restart its clock.
@Suite struct IdleSweeperTests {
    /// An active LAN-side relay handler with `timeout`, on `loop`, sharing `sweepers`.
    private func relay(
        on loop: EmbeddedEventLoop, sweepers: IdleSweepers, timeout: TimeAmount = .seconds(1)
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(
            RelayGlueHandler(side: .lan, idleTimeout: timeout, idleSweepers: sweepers))
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 80)).wait()
        return channel
    }

    @Test func ticksNeverShortenTheTimeout() {
        #expect(IdleSweeper.ticks(for: .seconds(1)) == 4)
        #expect(IdleSweeper.ticks(for: .milliseconds(1_001)) == 5)
        #expect(IdleSweeper.ticks(for: .seconds(60)) == 240)
        #expect(IdleSweeper.ticks(for: .milliseconds(1)) == 1)
    }

    @Test func aSilentConnectionClosesAfterItsTimeoutAndNotBefore() throws {
        let loop = EmbeddedEventLoop()
        let sweepers = IdleSweepers()
        let channel = try relay(on: loop, sweepers: sweepers)
        loop.advanceTime(by: .milliseconds(1_000))
        #expect(channel.isActive, "closed before its 1 s timeout")
        loop.advanceTime(by: .milliseconds(250))
        #expect(!channel.isActive, "still open a tick after its timeout")
        #expect(sweepers.sweeper(for: loop).count == 0)
    }

    @Test func bytesReadRestartTheClock() throws {
        let loop = EmbeddedEventLoop()
        let channel = try relay(on: loop, sweepers: IdleSweepers())
        // 3 s in all, a byte every 750 ms: never 1 s of silence.
        for _ in 0..<4 {
            loop.advanceTime(by: .milliseconds(750))
            try channel.writeInbound(ByteBuffer(bytes: [1]))
            #expect(channel.isActive)
        }
        loop.advanceTime(by: .milliseconds(1_250))
        #expect(!channel.isActive)
    }

    @Test func connectionsLeavingInAnyOrderKeepTheOthersClocks() throws {
        let loop = EmbeddedEventLoop()
        let sweepers = IdleSweepers()
        let short = try (0..<3).map { _ in try relay(on: loop, sweepers: sweepers) }
        let long = try (0..<3).map { _ in try relay(on: loop, sweepers: sweepers, timeout: .seconds(2)) }
        #expect(sweepers.sweeper(for: loop).count == 6)
        // The middle one goes first (its slot is taken by the last one tracked).
        try short[1].close().wait()
        #expect(sweepers.sweeper(for: loop).count == 5)
        loop.advanceTime(by: .milliseconds(1_250))
        #expect(short.allSatisfy { !$0.isActive })
        #expect(long.allSatisfy { $0.isActive })
        #expect(sweepers.sweeper(for: loop).count == 3)
        loop.advanceTime(by: .milliseconds(1_000))
        #expect(long.allSatisfy { !$0.isActive })
        #expect(sweepers.sweeper(for: loop).count == 0)
    }

    @Test func eachLoopHasItsOwnSweeper() {
        let sweepers = IdleSweepers()
        let first = EmbeddedEventLoop()
        let second = EmbeddedEventLoop()
        #expect(sweepers.sweeper(for: first) === sweepers.sweeper(for: first))
        #expect(sweepers.sweeper(for: first) !== sweepers.sweeper(for: second))
    }
}
