public enum SSRedirVersion {
    public static let current = "0.1.0"
}
