package ai.stamp.ops;

/**
 * Orthonormal block DCT-II along the sequence (docs/method.md#sequence-transforms, the paper's ablation) on blocks of
 * B = 2^L tokens: {@code C[k][n] = a_k cos(pi (2n + 1) k / 2B)}, a_0 = sqrt(1/B), a_k = sqrt(2/B); in-block
 * coefficient k is frequency k (k = 0 the block's scaled mean, the band).
 */
public final class DctTransform extends FrequencyBlockTransform {
    public static final String ID = "dct";

    public DctTransform(int levels, int sinkTokens) { super(levels, sinkTokens, DctTransform::basis); }

    @Override public String id() { return ID; }
    @Override public String opName() { return "DctSequence"; }
    @Override public String displayName() { return "block DCT-II"; }

    /** The exact B x B DCT-II matrix, row-major, row k = frequency k. */
    static double[] basis(int b) {
        double[] c = new double[b * b];
        for (int k = 0; k < b; k++) {
            double a = Math.sqrt((k == 0 ? 1.0 : 2.0) / b);
            for (int n = 0; n < b; n++) c[k * b + n] = k == 0 ? a : a * Math.cos(Math.PI * (2 * n + 1) * k / (2.0 * b));
        }
        return c;
    }
}
