package ai.stamp.ops;

/**
 * The L-level 1D Haar DWT along the sequence (docs/method.md#sequence-transforms), as a block transform on blocks of
 * 2^L tokens: a level-j coefficient only sees 2^j consecutive tokens, so the block layout is a
 * permutation of the global standard order (approximation band, level-L details, ..., level-1 details).
 * The definitions live in {@link HaarBasis}; this class presents them as a {@link SequenceTransform}.
 */
public final class HaarTransform extends BlockTransform1d {
    public static final String ID = "haar";

    public HaarTransform(int levels, int sinkTokens) { super(levels, sinkTokens); }

    @Override public String id() { return ID; }
    @Override public String opName() { return HaarSequence.OP; }
    /** Historical tag of the existing TokenPrecision function names. */
    @Override public String functionTag() { return "haar1d"; }
    /** Historical label of the existing TokenPrecision doc strings. */
    @Override public String docLabel() { return "HAAR_1D"; }

    @Override public String displayName() { return "1D Haar DWT"; }

    /** A&lt;L&gt; for the approximation (c = 0), else D&lt;j&gt; for a level-j detail: c in [2^(L-j), 2^(L-j+1)). */
    @Override
    public String bandOf(int c) {
        if (c < 0 || c >= blockTokens()) throw new IllegalArgumentException("coefficient " + c + " not in 0.." + (blockTokens() - 1));
        return c == 0 ? "A" + levels() : "D" + (levels() - (31 - Integer.numberOfLeadingZeros(c)));
    }

    @Override public float[] blockMatrix() { return HaarBasis.blockMatrix1d(levels()); }

    /** The level-by-level reference transform itself, so energies match {@link HaarBasis#haar1d} exactly. */
    @Override
    public void forwardBlock(double[] in, double[] out) {
        System.arraycopy(in, 0, out, 0, blockTokens());
        HaarBasis.haar1d(out, levels());
    }

    /** Row-wise levels: each level forms (e ± o)/√2 of token rows, the very operations of {@link HaarBasis#haar1d}. */
    @Override
    public void forwardBlockColumns(double[] block, int columns, double[] out) {
        System.arraycopy(block, 0, out, 0, blockTokens() * columns);
        HaarBasis.haar1dRows(out, columns, levels());
    }

    // the Haar ops keep their own classes (and names): they are the generic block ops for this matrix
    @Override public StampOp forward() { return new HaarSequence(levels(), sinkTokens()); }
    @Override public StampOp inverse() { return new HaarSequenceInverse(levels(), sinkTokens()); }

    @Override
    public int[] standardPositions(int nbh, int nbw) {
        requireOneRow(nbh);
        return HaarBasis.standardPositions(true, levels(), 1, nbw);
    }

    @Override public long[][] closedFormTables() { return HaarBasis.closedFormTables(true, levels()); }
}
