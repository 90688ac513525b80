package ai.stamp.ops;

/**
 * Shared inner loops of the Java reference kernels of the sequence transforms, arranged for throughput
 * with results bit-identical to the literal per-element formula {@code acc = 0.0; for k ascending:
 * acc += (double) m[c][k] * x[k]; out = (float) acc}.
 *
 * <p>Why the fast path is exact: every term is a float × float product, exact in double, and the terms
 * are added in the same ascending order, one output row (all features) at a time instead of one
 * feature at a time. Terms whose coefficient is zero are skipped: for a finite input such a term is
 * ±0, and adding ±0 never changes a sum that started at +0.0 (a round-to-nearest sum is −0.0 only when
 * both addends are −0.0). A block whose inputs are not all finite (0 · ∞ = NaN would matter) takes the
 * dense loop, which adds every term exactly as the literal formula does.
 */
final class BlockKernels {
    private BlockKernels() {}

    /** Row-wise nonzero pattern of a square matrix: for row c, cols[start[c]..start[c+1]) and their values. */
    record Sparse(int n, int[] start, int[] cols, double[] vals, double[] dense) {
        static Sparse of(float[] m, int n) {
            int nnz = 0;
            for (float v : m) if (v != 0f) nnz++;
            int[] start = new int[n + 1];
            int[] cols = new int[nnz];
            double[] vals = new double[nnz];
            double[] dense = new double[m.length];
            int p = 0;
            for (int r = 0; r < n; r++) {
                start[r] = p;
                for (int c = 0; c < n; c++) {
                    dense[r * n + c] = m[r * n + c];
                    if (m[r * n + c] != 0f) {
                        cols[p] = c;
                        vals[p++] = m[r * n + c];
                    }
                }
            }
            start[n] = p;
            return new Sparse(n, start, cols, vals, dense);
        }
    }

    /** True when every present input row (offset ≥ 0; {@code dd} floats each) of the block is finite. */
    static boolean allFinite(float[] in, int[] rowOff, int rows, int dd) {
        int e = 0;
        for (int r = 0; r < rows; r++) {
            int o = rowOff[r];
            if (o < 0) continue;
            for (int f = 0; f < dd; f++) e = Math.max(e, Float.floatToRawIntBits(in[o + f]) & 0x7f800000);
        }
        return e != 0x7f800000;
    }

    /**
     * out row c (at {@code outOff + c·dd}) = Σ_k m[c][k] · in row k, for c in [0, n); input row k starts at
     * {@code rowOff[k]}, or is absent (zero padding, its terms are skipped: adding k·0.0 is exact) when
     * {@code rowOff[k] < 0}. {@code acc} is scratch of length ≥ dd.
     */
    static void block(Sparse m, float[] in, int[] rowOff, int dd, float[] out, int outOff, double[] acc) {
        int n = m.n();
        boolean finite = allFinite(in, rowOff, n, dd);
        for (int c = 0; c < n; c++) {
            java.util.Arrays.fill(acc, 0, dd, 0.0);
            if (finite) {
                for (int p = m.start()[c], end = m.start()[c + 1]; p < end; p++) {
                    int o = rowOff[m.cols()[p]];
                    if (o >= 0) axpy(acc, m.vals()[p], in, o, dd);
                }
            } else {
                for (int k = 0; k < n; k++) {
                    int o = rowOff[k];
                    if (o >= 0) axpy(acc, m.dense()[c * n + k], in, o, dd);
                }
            }
            int oo = outOff + c * dd;
            for (int f = 0; f < dd; f++) out[oo + f] = (float) acc[f];
        }
    }

    private static void axpy(double[] acc, double a, float[] in, int o, int dd) {
        for (int f = 0; f < dd; f++) acc[f] += a * in[o + f];
    }
}
