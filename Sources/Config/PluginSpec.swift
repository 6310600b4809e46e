/// A SIP003 plugin as the user named it: the program, its `SS_PLUGIN_OPTIONS` string (passed as written, with
/// SIP003's backslash escapes intact) and extra command-line arguments (`plugin_args`).
public struct PluginSpec: Sendable, Hashable, CustomStringConvertible {
    public var program: String
    public var options: String?
    public var arguments: [String]

    public init(program: String, options: String? = nil, arguments: [String] = []) {
        self.program = program
        self.options = options
        self.arguments = arguments
    }

    public var description: String { program }

    /// SIP002's `plugin` parameter (already percent-decoded): `NAME[;OPTIONS]`, where the first `;` not escaped
    /// by a backslash ends the name (SIP003 escapes `;`, `=` and `\` in options with `\`). nil for an empty name.
    public static func fromSIP002(_ parameter: String) -> PluginSpec? {
        var program = ""
        var index = parameter.startIndex
        while index < parameter.endIndex {
            let character = parameter[index]
            if character == "\\" {
                let next = parameter.index(after: index)
                if next < parameter.endIndex {
                    program.append(parameter[next])
                    index = parameter.index(after: next)
                    continue
                }
            } else if character == ";" {
                let rest = String(parameter[parameter.index(after: index)...])
                guard !program.isEmpty else { return nil }
                return PluginSpec(program: program, options: rest.isEmpty ? nil : rest)
            }
            program.append(character)
            index = parameter.index(after: index)
        }
        return program.isEmpty ? nil : PluginSpec(program: program)
    }
}
