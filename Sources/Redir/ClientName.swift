import NIOCore

/// A client as log lines name it ("192.0.2.7:51234"), rendered only when a line is written: formatting the
/// address eagerly cost an inet_ntop and string building per accepted connection.
struct ClientName: CustomStringConvertible, Sendable {
    private let address: SocketAddress?
    private let text: String?
    private let suffix: String

    init(_ address: SocketAddress?, suffix: String = "") {
        self.address = address
        self.text = nil
        self.suffix = suffix
    }

    init(text: String) {
        self.address = nil
        self.text = text
        self.suffix = ""
    }

    var description: String {
        (text ?? address?.socksAddress.map { "\($0)" } ?? "?") + suffix
    }
}
