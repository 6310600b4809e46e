/// hosts-rules/reserved.cidr, built in so an installed binary needs no data files. A test keeps the two equal.
public enum ReservedRanges {
    public static let origin = ReservedAddressList.origin

    public static let text = ReservedAddressList.text

    public static var ranges: [IPRange] {
        // The text is checked by a test; a parse failure here would be a build-time mistake.
        (try? CIDRList.parse(text, origin: origin)) ?? []
    }
}
