package ai.stamp.compiler.quant;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * What the feature transforms of docs/method.md#feature-transforms do to one layer's weight, computed offline:
 * the MatMul reads {@code X' = X diag(1/s) R}, so it must multiply by {@code W' = R^T diag(s) W} to keep
 * {@code X' W' = X W}. Either part may be absent ({@code scales} or {@code rotation} null).
 *
 * @param scales   SmoothQuant's s [D] (null: no smoothing)
 * @param rotation orthogonal R [D, D] row-major (null: no rotation)
 * @param factors  R's Hadamard structure, for the fast product R^T W (null: the dense product)
 */
public record FeatureWeightTransform(float[] scales, double[] rotation, Hadamard.Factors factors) {
    public static final FeatureWeightTransform IDENTITY = new FeatureWeightTransform(null, null);

    /** A transform whose rotation (if any) is multiplied densely. */
    public FeatureWeightTransform(float[] scales, double[] rotation) { this(scales, rotation, null); }

    public boolean isIdentity() { return scales == null && rotation == null; }

    /** Suffix of the new weight initializer's name: "_smooth", "_rot" or "_smooth_rot". */
    public String suffix() { return (scales != null ? "_smooth" : "") + (rotation != null ? "_rot" : ""); }

    /** "Rᵀ·diag(s)·W" and its parts, for reports. */
    public String describe() { return (rotation != null ? "Rᵀ·" : "") + (scales != null ? "diag(s)·" : "") + "W"; }

    /** W' = R^T diag(s) W for W [d, n] row-major, accumulated in double. */
    public float[] apply(float[] w, int d, int n) {
        if (isIdentity()) return w;
        DMatrixRMaj m = new DMatrixRMaj(d, n);
        for (int r = 0; r < d; r++) {
            double s = scales == null ? 1 : scales[r];
            for (int c = 0; c < n; c++) m.data[r * n + c] = w[r * n + c] * s;
        }
        if (rotation != null && factors != null) {
            // O(d·n·(log d + m)) instead of O(d²·n): 14 s of a 33M-parameter encoder's compile went here
            m = DMatrixRMaj.wrap(d, n, Hadamard.transposeTimes(factors, m.data, n));
        } else if (rotation != null) {
            DMatrixRMaj out = new DMatrixRMaj(d, n);
            CommonOps_DDRM.multTransA(DMatrixRMaj.wrap(d, d, rotation), m, out);
            m = out;
        }
        float[] f = new float[d * n];
        for (int i = 0; i < f.length; i++) f[i] = (float) m.data[i];
        return f;
    }

    /**
     * The Gram matrix of the activation the MatMul sees, from the original one: G' = R^T diag(1/s) G diag(1/s) R
     * (G = X^T X [d, d] row-major).
     */
    public double[] gram(double[] g, int d) {
        if (isIdentity()) return g;
        DMatrixRMaj m = new DMatrixRMaj(d, d);
        for (int i = 0; i < d; i++) {
            double si = scales == null ? 1 : scales[i];
            for (int j = 0; j < d; j++) m.data[i * d + j] = g[i * d + j] / (si * (scales == null ? 1 : scales[j]));
        }
        if (rotation != null) {
            DMatrixRMaj r = DMatrixRMaj.wrap(d, d, rotation);
            DMatrixRMaj tmp = new DMatrixRMaj(d, d);
            CommonOps_DDRM.multTransA(r, m, tmp);
            DMatrixRMaj out = new DMatrixRMaj(d, d);
            CommonOps_DDRM.mult(tmp, r, out);
            m = out;
        }
        return m.data;
    }
}
