package ai.stamp.ops;

/**
 * {@code HaarSequence} (X -> Z): the L-level 1D Haar DWT along the token axis, in block layout — the
 * {@link BlockSequence} op of {@link HaarTransform} (H = {@link HaarBasis#blockMatrix1d}). Kept as its
 * own class for the callers that construct it by levels and sink, and for its static kernel.
 */
public final class HaarSequence extends BlockSequence {
    public static final String OP = "HaarSequence";

    public HaarSequence(int levels, int sinkTokens) { super(new HaarTransform(levels, sinkTokens)); }

    /** Reference kernel: X [lead..., S, D] -> Z [M, T, D] (see {@link BlockSequence#apply}). */
    public static FloatTensor apply(FloatTensor x, int levels, int sinkTokens) {
        return BlockSequence.apply(new HaarTransform(levels, sinkTokens), x);
    }
}
