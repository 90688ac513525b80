package ai.stamp.ops;

/**
 * {@code HaarSequenceInverse} (Y, X -> out): undoes {@link HaarSequence} after a linear layer — the
 * {@link BlockSequenceInverse} op of {@link HaarTransform}. Kept as its own class for the callers that
 * construct it by levels and sink, and for its static kernel.
 */
public final class HaarSequenceInverse extends BlockSequenceInverse {
    public static final String OP = "HaarSequenceInverse";

    public HaarSequenceInverse(int levels, int sinkTokens) { super(new HaarTransform(levels, sinkTokens)); }

    /** Reference kernel: Y [M, T, N] and the forward input's shape -> [lead..., S, N]. */
    public static FloatTensor apply(FloatTensor y, long[] xShape, int levels, int sinkTokens) {
        return BlockSequenceInverse.apply(new HaarTransform(levels, sinkTokens), y, xShape);
    }
}
