import LocalCommand

/// The entry point of the ss-local executable (ss-redir runs the same program when called as ss-local).
@main
enum Entry {
    static func main() async {
        await SSLocalProgram.main()
    }
}
