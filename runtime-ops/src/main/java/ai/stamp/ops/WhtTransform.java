package ai.stamp.ops;

/**
 * Walsh–Hadamard transform along the sequence in <b>sequency</b> order (docs/method.md#sequence-transforms) on blocks of
 * B = 2^L tokens: the Sylvester Hadamard matrix H[i][j] = (-1)^popcount(i &amp; j) scaled by 1/sqrt(B), its
 * rows reordered so that row k has exactly k sign changes (the Walsh analogue of frequency k; k = 0 the
 * block's scaled mean, the band).
 */
public final class WhtTransform extends FrequencyBlockTransform {
    public static final String ID = "wht";

    public WhtTransform(int levels, int sinkTokens) { super(levels, sinkTokens, WhtTransform::basis); }

    @Override public String id() { return ID; }
    @Override public String opName() { return "WhtSequence"; }
    @Override public String displayName() { return "Walsh-Hadamard (sequency order)"; }

    /**
     * The exact B x B sequency-ordered Walsh matrix. Each Sylvester row i is placed at row k = its number
     * of sign changes; those counts are a permutation of 0..B-1 (the classical Walsh ordering), which the
     * placement checks rather than assumes.
     */
    static double[] basis(int b) {
        double scale = 1.0 / Math.sqrt(b);
        double[] w = new double[b * b];
        boolean[] placed = new boolean[b];
        for (int i = 0; i < b; i++) {
            int changes = 0;
            for (int j = 1; j < b; j++) if (sign(i, j) != sign(i, j - 1)) changes++;
            if (placed[changes]) throw new IllegalStateException("two Hadamard rows with " + changes + " sign changes");
            placed[changes] = true;
            for (int j = 0; j < b; j++) w[changes * b + j] = sign(i, j) * scale;
        }
        return w;
    }

    private static int sign(int i, int j) { return (Integer.bitCount(i & j) & 1) == 0 ? 1 : -1; }
}
