import Foundation
import Testing

extension EndToEnd {
    /// The daemon says so when setup's rules vanish under it (a firewall reload or flush) and when they return.
    @Suite("Capture rules removed under the daemon") struct CaptureRulesWatchTests {
        @Test("Deleting setup's table gets one warning; setup again gets one notice and traffic is proxied again")
        func tableGoneAndBack() throws {
            try Testbed.with(rules: "none") { bed in
                let lan = try bed.interface(.gw, suffix: "-gwl")
                let setupArguments = [
                    "setup", "-s", PublicAddresses.server4, "-l", "\(ProxyChain.redirPort)", "-b", "::", "--lan-if", lan,
                ]
                let setup = try bed.ssRedir(setupArguments)
                #expect(setup.succeeded, "\(setup.summary)")
                let chain = try bed.startPublicChain(redirArguments: [])
                #expect(try bed.fetch(PublicAddresses.target4, tag: "before").succeeded)

                #expect(try bed.run(.gw, ["nft", "delete", "table", "inet", "ss_redir"]).succeeded)
                #expect(
                    bed.waitForLog(chain.ssRedir, "table inet ss_redir is gone", timeout: .seconds(12)),
                    "\(chain.ssRedir.logTail())")
                #expect(chain.ssRedir.isRunning)

                #expect(try bed.ssRedir(setupArguments).succeeded)
                #expect(
                    bed.waitForLog(chain.ssRedir, "table inet ss_redir is back", timeout: .seconds(12)),
                    "\(chain.ssRedir.logTail())")
                #expect(try bed.fetch(PublicAddresses.target4, tag: "after").succeeded)
                #expect(chain.target.log.contains("tag=after"))
                #expect(chain.ssRedir.log.components(separatedBy: "is gone").count == 2, "one warning")
                #expect(try bed.ssRedir(["teardown"]).succeeded)
            }
        }
    }
}
