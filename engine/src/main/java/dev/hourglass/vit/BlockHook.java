package dev.hourglass.vit;

/**
 * Reads, and may replace, the token sequence after a transformer block: token reduction (clustering, merging,
 * pruning) and dense decoders that tap intermediate blocks are built on it. Called on the thread running the forward
 * pass, once per block per call; the sequence it returns goes into the next block.
 */
@FunctionalInterface
public interface BlockHook {

    /** A hook that changes nothing. */
    BlockHook NONE = (block, tokens) -> tokens;

    /**
     * @param block  index of the block just run, from 0
     * @param tokens its output (owned by the forward pass: copy what must outlive the call)
     * @return the sequence for the next block: {@code tokens} itself, or a new one (another count or buffer); a new
     *         buffer becomes the forward pass's, which closes it when the call ends
     */
    TokenSequence afterBlock(int block, TokenSequence tokens);

    /** This hook, then {@code next} on what it returns. */
    default BlockHook andThen(BlockHook next) {
        return (block, tokens) -> next.afterBlock(block, afterBlock(block, tokens));
    }
}
