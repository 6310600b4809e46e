import ServerCommand

/// The entry point of the ss-server executable (ss-redir runs the same program when called as ss-server).
@main
enum Entry {
    static func main() async {
        await SSServerProgram.main()
    }
}
