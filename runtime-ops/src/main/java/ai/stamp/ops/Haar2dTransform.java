package ai.stamp.ops;

/**
 * The L-level 2D pyramid Haar DWT of a token grid (docs/method.md#sequence-transforms), as a block transform on
 * 2^L x 2^L tiles of the row-major grid of {@code gridHeight} rows (after the sink tokens). Definitions,
 * band names and standard order: {@link HaarBasis}.
 */
public record Haar2dTransform(int levels, int sinkTokens, int gridHeight) implements SequenceTransform {
    public static final String ID = "haar2d";

    public Haar2dTransform {
        SequenceTransforms.requireGeometry(levels, sinkTokens);
        if (gridHeight < 1) throw new IllegalArgumentException("2D layout needs a grid height >= 1, got " + gridHeight);
    }

    @Override public String id() { return ID; }
    @Override public String opName() { return Haar2dSequence.OP; }
    /** Historical label of the existing TokenPrecision doc strings (the tag is the id, "haar2d"). */
    @Override public String docLabel() { return "HAAR_2D"; }

    @Override public String displayName() { return "2D Haar DWT"; }

    /**
     * LL&lt;L&gt; for c = 0, else LH&lt;j&gt;, HL&lt;j&gt; or HH&lt;j&gt;: level j = L - i holds c in [4^i, 4^(i+1)), its three
     * bands 4^i coefficients each, in that order ({@link HaarBasis}).
     */
    @Override
    public String bandOf(int c) {
        if (c < 0 || c >= blockTokens()) throw new IllegalArgumentException("coefficient " + c + " not in 0.." + (blockTokens() - 1));
        if (c == 0) return "LL" + levels;
        int i = (31 - Integer.numberOfLeadingZeros(c)) / 2;
        int size = 1 << (2 * i);
        return new String[] {"LH", "HL", "HH"}[(c - size) / size] + (levels - i);
    }

    @Override public float[] blockMatrix() { return HaarBasis.blockMatrix2d(levels); }

    @Override
    public void forwardBlock(double[] in, double[] out) {
        int b = blockSide();
        System.arraycopy(HaarBasis.haar2d(in, b, b, levels), 0, out, 0, b * b);
    }

    @Override public StampOp forward() { return new Haar2dSequence(levels, sinkTokens, gridHeight); }
    @Override public StampOp inverse() { return new Haar2dSequenceInverse(levels, sinkTokens, gridHeight); }

    @Override public int[] standardPositions(int nbh, int nbw) { return HaarBasis.standardPositions(false, levels, nbh, nbw); }

    @Override public long[][] closedFormTables() { return HaarBasis.closedFormTables(false, levels); }
}
