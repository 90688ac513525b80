package ai.stamp.compiler.quant;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * GPTQ (Frantar et al., 2022, "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained
 * Transformers") for one linear layer Y = X W, W [D, N] row-major (D = input features, N = output channels).
 *
 * <p>Why: RTN rounds every weight independently; GPTQ quantizes the input features one at a time and pushes each
 * row's rounding error onto the not-yet-quantized rows, weighted by the inverse calibration Hessian
 * H = X^T X, so the layer output X W (not W itself) is preserved. It only needs the per-layer Gram matrix of the
 * calibration inputs (docs/method.md#weights) and, since STaMP's sequence transform acts on tokens while W acts on
 * features, it composes with STaMP unchanged.
 *
 * <p>Algorithm (the reference {@code fasterquant} without act-order):
 * <ol>
 *   <li>scales per output channel from the original W (RTN grid, {@link RtnQuantizer}); with {@code block > 0}
 *       the scales of each block of rows are instead computed from the error-updated W when the block is entered;</li>
 *   <li>dead inputs (H[d,d] == 0) get H[d,d] = 1 and W row d = 0;</li>
 *   <li>H += damp * I, damp = dampFraction * mean(diag H);</li>
 *   <li>U = upper Cholesky factor of H^-1 (H^-1 = U^T U);</li>
 *   <li>for d = 0..D-1: q = quant(W[d, :]); e = (W[d, :] - q) / U[d,d]; W[j, :] -= e * U[d, j] for j > d —
 *       applied lazily in batches of 128 rows (inside the batch immediately, to later rows once per batch).</li>
 * </ol>
 * The returned {@link QuantizedWeight} has the same layout as RTN's.
 */
public final class Gptq {

    /** Default damping, as a fraction of the mean diagonal of H (the reference's percdamp = 0.01). */
    public static final double DEFAULT_DAMPING = 0.01;

    /** Rows per lazy batch update. */
    static final int LAZY_BATCH = 128;

    private Gptq() {}

    /** GPTQ with the default damping (0.01 · mean diag H). */
    public static QuantizedWeight quantize(float[] w, int rows, int cols, double[] gram, int bits, int block) {
        return quantize(w, rows, cols, gram, bits, block, DEFAULT_DAMPING);
    }

    /**
     * GPTQ of W [rows, cols] given the calibration Gram matrix {@code gram} = X^T X, row-major [rows, rows].
     *
     * @param block        0 for per-output-channel scales, else rows per scale block (along the input dimension)
     * @param dampFraction damping added to the diagonal, as a fraction of mean(diag H); must be >= 0
     * @throws IllegalArgumentException on bad shapes/arguments, or when H + damp·I is not positive definite
     */
    public static QuantizedWeight quantize(float[] w, int rows, int cols, double[] gram, int bits, int block,
                                           double dampFraction) {
        return quantize(w, rows, cols, gram, bits, block, dampFraction, LAZY_BATCH);
    }

    /** As above with an explicit lazy-batch size (1 = the unbatched textbook loop); for tests. */
    static QuantizedWeight quantize(float[] w, int rows, int cols, double[] gram, int bits, int block,
                                    double dampFraction, int lazyBatch) {
        if (lazyBatch < 1) throw new IllegalArgumentException("lazyBatch must be >= 1");
        RtnQuantizer.checkShape(w.length, rows, cols);
        if ((long) rows * rows != gram.length)
            throw new IllegalArgumentException("gram has " + gram.length + " elements, expected " + rows + " x " + rows);
        if (block < 0) throw new IllegalArgumentException("block must be >= 0, got " + block);
        if (!(dampFraction >= 0) || Double.isInfinite(dampFraction))
            throw new IllegalArgumentException("damping must be finite and >= 0, got " + dampFraction);
        int qmax = QuantizedWeight.qmax(bits);
        final int D = rows, N = cols;

        double[] W = new double[D * N];
        for (int i = 0; i < W.length; i++) W[i] = w[i];

        int sr = QuantizedWeight.scaleRows(D, block);
        float[] scales = new float[sr * N];
        float[] cur = block == 0 ? RtnQuantizer.scales(w, N, 0, D, qmax) : null; // from the original W
        if (block == 0) System.arraycopy(cur, 0, scales, 0, N);

        // H: copy, dead inputs, damping.
        DMatrixRMaj H = new DMatrixRMaj(D, D);
        System.arraycopy(gram, 0, H.data, 0, gram.length);
        for (int d = 0; d < D; d++) {
            if (H.get(d, d) == 0.0) {
                H.set(d, d, 1.0);
                for (int n = 0; n < N; n++) W[d * N + n] = 0.0;
            }
        }
        double meanDiag = 0;
        for (int d = 0; d < D; d++) meanDiag += H.get(d, d);
        meanDiag /= D;
        double damp = dampFraction * meanDiag;
        for (int d = 0; d < D; d++) H.add(d, d, damp);

        DMatrixRMaj U = upperCholeskyOfInverse(H);

        byte[] values = new byte[D * N];
        double[] err = new double[lazyBatch * N]; // scaled errors of the current batch's rows
        for (int i1 = 0; i1 < D; ) {
            int i2 = Math.min(i1 + lazyBatch, D);
            if (block > 0) i2 = Math.min(i2, (i1 / block + 1) * block); // block starts are batch starts: rows are fully updated
            for (int i = i1; i < i2; i++) {
                if (block > 0 && i % block == 0) {
                    cur = RtnQuantizer.scales(W, N, i, Math.min(D, i + block), qmax);
                    System.arraycopy(cur, 0, scales, (i / block) * N, N);
                }
                double uii = U.get(i, i);
                int eo = (i - i1) * N;
                for (int n = 0; n < N; n++) {
                    double x = W[i * N + n];
                    int q = RtnQuantizer.quantizeValue(x, cur[n], qmax);
                    values[i * N + n] = (byte) q;
                    err[eo + n] = (x - (double) q * cur[n]) / uii;
                }
                for (int j = i + 1; j < i2; j++) {
                    double u = U.get(i, j);
                    if (u == 0.0) continue;
                    int jo = j * N;
                    for (int n = 0; n < N; n++) W[jo + n] -= err[eo + n] * u;
                }
            }
            for (int j = i2; j < D; j++) {
                int jo = j * N;
                for (int i = i1; i < i2; i++) {
                    double u = U.get(i, j);
                    if (u == 0.0) continue;
                    int eo = (i - i1) * N;
                    for (int n = 0; n < N; n++) W[jo + n] -= err[eo + n] * u;
                }
            }
            i1 = i2;
        }
        return new QuantizedWeight(D, N, bits, block, values, scales);
    }

    /** U upper triangular with H^-1 = U^T U. */
    static DMatrixRMaj upperCholeskyOfInverse(DMatrixRMaj h) {
        int D = h.numRows;
        DMatrixRMaj inv = new DMatrixRMaj(D, D);
        if (!CommonOps_DDRM.invertSPD(h.copy(), inv))
            throw new IllegalArgumentException("GPTQ: X^T X + damping is not positive definite; increase damping");
        CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(D, false);
        if (!chol.decompose(inv))
            throw new IllegalArgumentException("GPTQ: Cholesky of H^-1 failed; increase damping");
        DMatrixRMaj u = chol.getT(null);
        for (int r = 1; r < D; r++) for (int c = 0; c < r; c++) u.set(r, c, 0.0); // keep only the upper triangle
        return u;
    }

    /** X^T X in double for X [samples, d] row-major (the GPTQ calibration statistic). */
    public static double[] gram(float[] x, int samples, int d) {
        double[] h = new double[d * d];
        accumulateGram(h, x, samples, d);
        return h;
    }

    /** h += X^T X for X [samples, d] row-major; lets calibration batches be streamed into one H. */
    public static void accumulateGram(double[] h, float[] x, int samples, int d) {
        if ((long) d * d != h.length) throw new IllegalArgumentException("h must be [" + d + ", " + d + "]");
        if ((long) samples * d != x.length) throw new IllegalArgumentException("x must be [" + samples + ", " + d + "]");
        for (int s = 0; s < samples; s++) {
            int so = s * d;
            for (int a = 0; a < d; a++) {
                double xa = x[so + a];
                if (xa == 0.0) continue;
                int ho = a * d;
                for (int b = a; b < d; b++) h[ho + b] += xa * x[so + b];
            }
        }
        // the loop fills the upper triangle of this batch; mirror it
        for (int a = 0; a < d; a++) for (int b = 0; b < a; b++) h[a * d + b] = h[b * d + a];
    }
}
