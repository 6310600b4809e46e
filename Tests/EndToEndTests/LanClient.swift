import Foundation

/// What a lan-side client saw; `bytes` is the length of the body it kept.
struct Transfer {
    var curl: Command.Result
    var bytes: Int
    var sha256: String
    var expectedSHA256: String
}

extension Testbed {
    /// GET /blob/SIZE from the wan target through the proxy; `expectedSHA256` is the target's X-SHA256 header.
    func download(
        size: Int, tag: String = "blob", host: String = Testbed.wanIPv4, maxTime: Int = 60
    ) throws -> Transfer {
        let body = path("download-\(tag)")
        let headers = path("download-\(tag).headers")
        let url = "http://\(Testbed.urlHost(host))/blob/\(size)?tag=\(tag)"
        let curl = try run(
            .lan, ["curl", "-sS", "-g", "--fail", "--max-time", "\(maxTime)", "-D", headers, "-o", body, url],
            timeout: .seconds(maxTime + 10))
        let header = Command.readText(URL(fileURLWithPath: headers))
            .split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("x-sha256:") }
            .map { $0.dropFirst("x-sha256:".count).trimmingCharacters(in: .whitespaces) }
        return Transfer(
            curl: curl, bytes: fileSize(body), sha256: try sha256(of: body), expectedSHA256: header ?? "(no X-SHA256)")
    }

    /// PUTs SIZE random bytes to the wan target through the proxy, which answers with the sha256 it received.
    func upload(size: Int, host: String = Testbed.wanIPv4) throws -> Transfer {
        let file = path("upload-\(size)")
        try writeRandomFile(file, size: size)
        let url = "http://\(Testbed.urlHost(host))/upload"
        let curl = try run(
            .lan, ["curl", "-sS", "-g", "--fail", "--max-time", "60", "-H", "Expect:", "-T", file, url],
            timeout: .seconds(70))
        return Transfer(
            curl: curl, bytes: size, sha256: curl.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            expectedSHA256: try sha256(of: file))
    }

    /// Resources/line_client.py in lan (modes `concurrent` and `halfclose`).
    func lineClient(_ arguments: [String], timeout: Duration = .seconds(60)) throws -> Command.Result {
        let script = Testbed.resources.appendingPathComponent("line_client.py").path
        return try run(.lan, ["python3", "-B", script] + arguments, timeout: timeout)
    }

    func sha256(of file: String) throws -> String {
        let result = try Command.run(["sha256sum", file])
        guard result.succeeded, let digest = result.stdout.split(separator: " ").first else {
            return "(sha256sum failed: \(result.stderr))"
        }
        return String(digest)
    }

    func fileSize(_ file: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber)?.intValue ?? 0
    }

    private func writeRandomFile(_ file: String, size: Int) throws {
        guard let random = FileHandle(forReadingAtPath: "/dev/urandom") else {
            throw TestbedError("cannot open /dev/urandom")
        }
        defer { try? random.close() }
        var data = Data()
        while data.count < size {
            guard let chunk = try random.read(upToCount: min(1 << 20, size - data.count)), !chunk.isEmpty else {
                throw TestbedError("short read from /dev/urandom")
            }
            data.append(chunk)
        }
        try data.write(to: URL(fileURLWithPath: file))
    }

    static func urlHost(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }
}
