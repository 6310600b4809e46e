/// Incremental BLAKE3 over any input length (BLAKE3 spec section 2.4-2.6): 1024-byte chunks compressed block
/// by block, their chaining values merged into a binary tree with a stack (a completed subtree is merged as soon
/// as the chunk count says so), and the root node's output extended with an output block counter.
struct BLAKE3Hasher {
    /// The chunk being filled: its chaining value so far and the bytes of its last, not yet compressed block.
    private struct ChunkState {
        var chainingValue: [UInt32]
        let chunkCounter: UInt64
        var block: [UInt8] = []
        var blocksCompressed = 0
        let flags: BLAKE3Compression.Flags

        init(key: [UInt32], chunkCounter: UInt64, flags: BLAKE3Compression.Flags) {
            self.chainingValue = key
            self.chunkCounter = chunkCounter
            self.flags = flags
            block.reserveCapacity(BLAKE3Compression.blockSize)
        }

        var count: Int { blocksCompressed * BLAKE3Compression.blockSize + block.count }

        private var startFlag: BLAKE3Compression.Flags { blocksCompressed == 0 ? .chunkStart : [] }

        /// Takes at most what is left of the chunk. A full block is compressed only once more input follows,
        /// because the chunk's last block carries CHUNK_END (and maybe ROOT).
        mutating func update(_ input: ArraySlice<UInt8>) {
            var input = input
            while !input.isEmpty {
                if block.count == BLAKE3Compression.blockSize {
                    chainingValue = Array(
                        BLAKE3Compression.compress(
                            chainingValue: chainingValue, block: BLAKE3Compression.words(block[...]),
                            counter: chunkCounter, blockLength: BLAKE3Compression.blockSize,
                            flags: flags.union(startFlag)
                        ).prefix(8))
                    blocksCompressed += 1
                    block.removeAll(keepingCapacity: true)
                }
                let take = min(BLAKE3Compression.blockSize - block.count, input.count)
                block += input.prefix(take)
                input = input.dropFirst(take)
            }
        }

        var output: Output {
            Output(
                inputChainingValue: chainingValue, block: BLAKE3Compression.words(block[...]), counter: chunkCounter,
                blockLength: block.count, flags: flags.union(startFlag).union(.chunkEnd))
        }
    }

    /// A node's compression inputs, kept unevaluated until it is known whether the node is the root.
    struct Output {
        let inputChainingValue: [UInt32]
        let block: [UInt32]
        let counter: UInt64
        let blockLength: Int
        let flags: BLAKE3Compression.Flags

        var chainingValue: [UInt32] {
            Array(
                BLAKE3Compression.compress(
                    chainingValue: inputChainingValue, block: block, counter: counter, blockLength: blockLength,
                    flags: flags
                ).prefix(8))
        }

        /// The extendable output: root block i is the compression with counter i and ROOT set.
        func rootBytes(_ count: Int) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            var outputBlock: UInt64 = 0
            while out.count < count {
                let words = BLAKE3Compression.compress(
                    chainingValue: inputChainingValue, block: block, counter: outputBlock, blockLength: blockLength,
                    flags: flags.union(.root))
                for word in words where out.count < count {
                    for shift in stride(from: 0, to: 32, by: 8) where out.count < count {
                        out.append(UInt8(truncatingIfNeeded: word >> UInt32(shift)))
                    }
                }
                outputBlock += 1
            }
            return out
        }
    }

    private let key: [UInt32]
    private let flags: BLAKE3Compression.Flags
    private var chunk: ChunkState
    /// Chaining values of completed subtrees, largest first; at most 54 deep for 2^64 bytes.
    private var stack: [[UInt32]] = []

    /// `key`: eight words (the IV for hash and the context phase of derive_key, else the key).
    init(key: [UInt32], flags: BLAKE3Compression.Flags) {
        precondition(key.count == 8)
        self.key = key
        self.flags = flags
        self.chunk = ChunkState(key: key, chunkCounter: 0, flags: flags)
    }

    mutating func update(_ input: ArraySlice<UInt8>) {
        var input = input
        while !input.isEmpty {
            if chunk.count == BLAKE3Compression.chunkSize {
                let totalChunks = chunk.chunkCounter + 1
                push(chunk.output.chainingValue, totalChunks: totalChunks)
                chunk = ChunkState(key: key, chunkCounter: totalChunks, flags: flags)
            }
            let take = min(BLAKE3Compression.chunkSize - chunk.count, input.count)
            chunk.update(input.prefix(take))
            input = input.dropFirst(take)
        }
    }

    func finalize(count: Int) -> [UInt8] {
        var output = chunk.output
        for left in stack.reversed() {
            output = parentOutput(left: left, right: output.chainingValue)
        }
        return output.rootBytes(count)
    }

    /// Merges every subtree that the new chunk completes: one merge per trailing zero bit of the chunk count.
    private mutating func push(_ chainingValue: [UInt32], totalChunks: UInt64) {
        var chainingValue = chainingValue
        var totalChunks = totalChunks
        while totalChunks & 1 == 0 {
            chainingValue = parentOutput(left: stack.removeLast(), right: chainingValue).chainingValue
            totalChunks >>= 1
        }
        stack.append(chainingValue)
    }

    private func parentOutput(left: [UInt32], right: [UInt32]) -> Output {
        Output(
            inputChainingValue: key, block: left + right, counter: 0, blockLength: BLAKE3Compression.blockSize,
            flags: flags.union(.parent))
    }
}
