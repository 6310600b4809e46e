import Foundation
import Testing

/// `make install` / `make uninstall` into throwaway directories (scripts/test-install.sh), and shellcheck over the
/// shell the project ships. No network and no root: they run everywhere.
@Suite("Install and packaging") struct InstallTests {
    @Test("make install lays out exactly the expected files, the unit verifies, uninstall removes them")
    func installAndUninstall() throws {
        let script = Testbed.repoRoot.appendingPathComponent("scripts/test-install.sh").path
        let result = try Command.run(
            ["env", "SS_REDIR_BIN=\(Testbed.ssRedirBinary)", script], timeout: .seconds(120))
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.stdout.contains("ok: make uninstall removes exactly"))
    }

    @Test(
        "shellcheck finds nothing in the scripts and the OpenWrt init script",
        .enabled(if: (try? Command.tool("shellcheck")) != nil, "shellcheck is not installed (scripts/install-deps.sh)")
    )
    func shellcheck() throws {
        let root = Testbed.repoRoot
        let scripts = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("scripts").path)
            .filter { $0.hasSuffix(".sh") }.sorted().map { root.appendingPathComponent("scripts/\($0)").path }
        #expect(!scripts.isEmpty)
        let shellScripts = try Command.run(["shellcheck"] + scripts, timeout: .seconds(60))
        #expect(shellScripts.succeeded, "\(shellScripts.summary)")
        // rc.common sources the init script into OpenWrt's busybox ash: check it as POSIX sh.
        let initScript = root.appendingPathComponent("packaging/openwrt/ss-redir.init").path
        let openWrt = try Command.run(["shellcheck", "--shell=sh", initScript], timeout: .seconds(60))
        #expect(openWrt.succeeded, "\(openWrt.summary)")
        // dpkg runs the Debian maintainer scripts with /bin/sh (dash).
        let maintainerScripts = ["postinst", "prerm", "postrm"].map {
            root.appendingPathComponent("packaging/debian/\($0)").path
        }
        let debian = try Command.run(["shellcheck", "--shell=sh"] + maintainerScripts, timeout: .seconds(60))
        #expect(debian.succeeded, "\(debian.summary)")
    }
}
