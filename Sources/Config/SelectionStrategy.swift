/// How the pool picks a member for a new connection or UDP association.
public enum SelectionStrategy: String, Sendable, CaseIterable {
    /// The first healthy member in configuration order.
    case failover
    /// Healthy members in turn.
    case roundRobin = "round-robin"
    /// The healthy member with the lowest smoothed probe latency, switching only for a clear improvement.
    case leastLatency = "least-latency"
    /// A healthy member at random, in proportion to its weight.
    case random
}
