import CBuildInfo

/// What `--version` tells besides the version number: the commit and the compiler of this build.
public enum BuildInfo {
    /// A short git commit, with "-dirty" if the tree had uncommitted changes; "unknown" without the Makefile.
    public static let commit = String(cString: c_ss_build_commit())

    /// "Swift 6.3.1": the Makefile's `swift --version`, else the oldest release this compiler is at least.
    public static let swiftVersion: String = {
        let fromMakefile = String(cString: c_ss_build_swift_version())
        return fromMakefile.isEmpty ? "Swift \(compilerAtLeast)" : fromMakefile
    }()

    /// The compiler that compiled this file, as close as `#if compiler` can tell (it has no "equals").
    static var compilerAtLeast: String {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    /// "0.1.0 (commit 1a2b3c4d5e6f, Swift 6.3.1)": the line `--version` prints after the program's name.
    public static func versionLine(_ version: String) -> String {
        "\(version) (commit \(commit), \(swiftVersion))"
    }
}
