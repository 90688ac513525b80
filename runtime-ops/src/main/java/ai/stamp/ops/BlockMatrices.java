package ai.stamp.ops;

/** Small dense square-matrix helpers (row-major) shared by the sequence transforms. */
final class BlockMatrices {
    private BlockMatrices() {}

    /** Transpose of an n x n matrix: the inverse of an orthogonal block matrix. */
    static float[] transpose(float[] m, int n) {
        float[] t = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
        return t;
    }

    /** Each entry rounded once to float (the ops embed float constants; the exact values are double). */
    static float[] toFloat(double[] m) {
        float[] f = new float[m.length];
        for (int i = 0; i < m.length; i++) f[i] = (float) m[i];
        return f;
    }

    /** out = m · in for an n x n matrix m; {@code out} must not be {@code in}. */
    static void multiply(double[] m, int n, double[] in, double[] out) {
        for (int r = 0; r < n; r++) {
            double acc = 0;
            for (int k = 0; k < n; k++) acc += m[r * n + k] * in[k];
            out[r] = acc;
        }
    }
}
