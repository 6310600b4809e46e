import Testing

/// Every end-to-end test nests in this suite so they run one at a time: each ups its own testbed, and timing
/// bounds (such as "closed within 5 s") should not compete with a parallel 50 MB transfer.
@Suite(
    "End to end through network namespaces", .serialized,
    .enabled(if: isRoot, "needs root for network namespaces")
)
struct EndToEnd {}
