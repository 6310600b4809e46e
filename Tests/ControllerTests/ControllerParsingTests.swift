@testable import Controller
import Foundation
import NIOHTTP1
import Testing

@Suite("Controller parsing") struct ControllerParsingTests {
    @Test("JSON strings escape quotes, backslashes and control characters (RFC 8259 section 7)")
    func jsonEscapes() throws {
        let value = JSONValue.object([
            ("a\"b", .string("line\nnext\u{01}\\ é")), ("n", .array([.int(-3), .bool(true), .null])),
        ])
        #expect(value.rendered == #"{"a\"b":"line\nnext\u0001\\ é","n":[-3,true,null]}"#)
        // Foundation's parser reads back what we wrote.
        let parsed = try JSONSerialization.jsonObject(with: Data(value.rendered.utf8)) as? [String: Any]
        #expect(parsed?["a\"b"] as? String == "line\nnext\u{01}\\ é")
    }

    @Test("Every control character round-trips through Foundation's JSON parser")
    func allControlCharacters() throws {
        let text = String((0..<0x80).map { Character(Unicode.Scalar(UInt8($0))) })
        let rendered = JSONValue.array([.string(text)]).rendered
        let parsed = try JSONSerialization.jsonObject(with: Data(rendered.utf8)) as? [String]
        #expect(parsed == [text])
    }

    @Test("Delay URLs: scheme default ports, explicit ports, IPv6 literals; garbage is refused")
    func delayTargets() {
        #expect(
            DelayTarget(url: "http://example.com/generate_204")
                == DelayTarget(host: "example.com", port: 80, path: "/generate_204"))
        #expect(
            DelayTarget(url: "https://www.gstatic.com") == DelayTarget(host: "www.gstatic.com", port: 443, path: "/"))
        #expect(
            DelayTarget(url: "http://10.0.0.1:8080/x?y=1") == DelayTarget(host: "10.0.0.1", port: 8080, path: "/x?y=1"))
        #expect(DelayTarget(url: "http://[2001:db8::1]:81/") == DelayTarget(host: "2001:db8::1", port: 81, path: "/"))
        for bad in ["", "ftp://x/", "http://", "http://host:0/", "http://host:70000/", "http://[::1/", "http://h:x/"] {
            #expect(DelayTarget(url: bad) == nil, "\(bad)")
        }
    }

    @Test("Request paths are percent-decoded per segment; query values too, with + as space")
    func requestDecoding() {
        let request = ControllerRequest(
            method: .GET, uri: "/proxies/10.0.0.1%3A8388/delay?url=http%3A%2F%2Fa%2Fb&timeout=5000&x=a+b")
        #expect(request.segments == ["proxies", "10.0.0.1:8388", "delay"])
        #expect(request.query["url"] == "http://a/b")
        #expect(request.query["timeout"] == "5000")
        #expect(request.query["x"] == "a b")
        #expect(ControllerRequest(method: .GET, uri: "/a/%zz/%4").segments == ["a", "%zz", "%4"])
    }

    @Test("Bearer secret: header always, ?token= only on WebSocket upgrades; wrong or missing is refused")
    func bearer() {
        let auth = BearerAuth(secret: "s3cret")
        func head(_ authorization: String?) -> HTTPRequestHead {
            var headers = HTTPHeaders()
            if let authorization { headers.add(name: "Authorization", value: authorization) }
            return HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)
        }
        #expect(auth.allows(head("Bearer s3cret"), query: [:], isUpgrade: false))
        #expect(!auth.allows(head("Bearer s3cre"), query: [:], isUpgrade: false))
        #expect(!auth.allows(head("Bearer s3cretx"), query: [:], isUpgrade: false))
        #expect(!auth.allows(head("s3cret"), query: [:], isUpgrade: false))
        #expect(!auth.allows(head(nil), query: ["token": "s3cret"], isUpgrade: false))
        #expect(auth.allows(head(nil), query: ["token": "s3cret"], isUpgrade: true))
        #expect(!auth.allows(head(nil), query: ["token": "nope"], isUpgrade: true))
        #expect(BearerAuth(secret: nil).allows(head(nil), query: [:], isUpgrade: false))
        // A guess 256 bytes longer, padded with NULs (a percent-decoded token can carry them), is still wrong.
        let padded = "s3cret" + String(repeating: "\u{0}", count: 256)
        #expect(!auth.allows(head(nil), query: ["token": padded], isUpgrade: true))
        #expect(!BearerAuth.constantTimeEqual(Array("s3cret".utf8) + Array(repeating: 0, count: 512), Array("s3cret".utf8)))
    }

    @Test("UI files: index for a directory, nothing outside the root or hidden")
    func staticFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ui-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("assets"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("<html>".utf8).write(to: root.appendingPathComponent("index.html"))
        try Data("x()".utf8).write(to: root.appendingPathComponent("assets/app.js"))
        try Data("secret".utf8).write(to: root.appendingPathComponent(".env"))
        let files = StaticFiles(root: root.path)
        #expect(files.lookup([]) == .file(contentType: "text/html; charset=utf-8", bytes: Array("<html>".utf8)))
        #expect(
            files.lookup(["assets", "app.js"])
                == .file(contentType: "text/javascript; charset=utf-8", bytes: Array("x()".utf8)))
        #expect(files.lookup(["..", "etc", "passwd"]) == .notFound)
        #expect(files.lookup([".env"]) == .notFound)
        #expect(files.lookup(["assets", "missing.js"]) == .notFound)
        #expect(files.lookup(["a/../../etc"]) == .notFound)
    }
}
