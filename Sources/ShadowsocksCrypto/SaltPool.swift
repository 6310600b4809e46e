import CLibCrypto

/// Salts drawn from a block of CSPRNG output refilled 4 KiB at a time: `RAND_bytes` costs about 1.2 µs a call
/// whatever its size, which a fresh 32-byte salt per UDP packet paid every time. Salts are public (they travel
/// in clear), so handing out consecutive slices of one block is as good as separate draws. Not thread-safe, and
/// not to be shared across a fork (parent and child would hand out the same bytes): owners make one per codec,
/// after the process has daemonised.
public final class SaltPool {
    private static let blockSize = 4096
    private var block = [UInt8](repeating: 0, count: SaltPool.blockSize)
    private var offset = SaltPool.blockSize

    public init() {}

    /// Fills `output` (at most 4 KiB) with fresh random bytes.
    public func fill(_ output: UnsafeMutableRawBufferPointer) throws {
        precondition(output.count <= Self.blockSize)
        if offset + output.count > block.count {
            let status = block.withUnsafeMutableBytes { RAND_bytes($0.baseAddress, Int32($0.count)) }
            guard status == 1 else { throw CryptoError(.randomUnavailable, "RAND_bytes") }
            offset = 0
        }
        block.withUnsafeBytes { bytes in
            output.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + output.count]))
        }
        // Each byte is handed out once.
        offset += output.count
    }
}
