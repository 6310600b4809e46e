import Foundation
import Testing

extension EndToEnd {
    @Suite("Failures") struct FailureTests {
        /// A correctness bound for "closed promptly, not left hanging", not a performance figure.
        static let promptClose: Duration = .seconds(5)

        @Test("ss-server down: new connections are closed promptly, and served again once it is back")
        func serverDown() throws {
            try Testbed.with { bed in
                let password = UUID().uuidString
                let chain = try bed.startChain(password: password)
                let before = try bed.download(size: 64 << 10, tag: "before")
                #expect(before.curl.succeeded && before.sha256 == before.expectedSHA256, "\(bed.diagnostics)")

                chain.ssServer.stop()
                let during = try bed.download(size: 64 << 10, tag: "during")
                #expect(!during.curl.succeeded)
                #expect(during.bytes == 0)
                #expect(during.curl.elapsed < Self.promptClose, "\(during.curl.summary)")
                #expect(chain.ssRedir.isRunning, "\(bed.diagnostics)")

                _ = try bed.startSSServer(method: "aes-256-gcm", password: password)
                let after = try bed.download(size: 1 << 20, tag: "after")
                #expect(after.curl.succeeded, "\(after.curl.summary)\n\(bed.diagnostics)")
                #expect(after.sha256 == after.expectedSHA256)
                #expect(chain.ssRedir.isRunning, "ss-redir must serve again without a restart")
            }
        }

        /// ss-libev's ss-server answers an authentication error by draining the connection without ever replying
        /// or closing (against active probing), so no proxy in front of it can tell a wrong key from a slow server:
        /// the client must get no data, but whether and when the connection closes is the proxy's idle timeout.
        @Test("Wrong password: the client gets no data and ss-redir stays up")
        func wrongPassword() throws {
            try Testbed.with { bed in
                let chain = try bed.startChain(password: "server-password", redirPassword: "other-password")
                let attempt = try bed.download(size: 64 << 10, tag: "wrong", maxTime: 3)
                #expect(!attempt.curl.succeeded)
                #expect(attempt.bytes == 0, "\(attempt.curl.summary)")
                #expect(chain.ssServer.log.contains("authentication error"), "\(bed.diagnostics)")
                #expect(chain.ssRedir.isRunning, "\(bed.diagnostics)")
            }
        }
    }
}
