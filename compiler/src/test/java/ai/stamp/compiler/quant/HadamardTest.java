package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HadamardTest {

    /**
     * max |R^T R - I| for R rounded to float. Products of the float entries are accumulated in double so the
     * measure reflects the stored matrix, not float summation error over n terms (which alone reaches ~1e-5 at
     * n = 1536).
     */
    static double orthogonalityError(float[] r, int n) {
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++) {
            int ro = i * n;
            for (int j = 0; j < n; j++) {
                double v = r[ro + j];
                int go = j * n;
                for (int k = 0; k < n; k++) g[go + k] += v * r[ro + k];
            }
        }
        double max = 0;
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++) max = Math.max(max, Math.abs(g[j * n + k] - (j == k ? 1.0 : 0.0)));
        return max;
    }

    static void assertEntriesArePlusMinusInvSqrtN(double[] r, int n) {
        double e = 1.0 / Math.sqrt(n);
        for (double v : r) assertEquals(e, Math.abs(v), 1e-15, "entry " + v);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 8, 12, 20, 24, 28, 40, 56, 112, 384, 640, 768, 1536})
    void isOrthonormalInFloatWithEntriesPlusMinusInvSqrtN(int n) {
        assertTrue(Hadamard.supports(n));
        double[] r = Hadamard.matrix(n);
        assertEquals(n * n, r.length);
        assertEntriesArePlusMinusInvSqrtN(r, n);
        double err = orthogonalityError(Hadamard.toFloat(r), n);
        assertTrue(err < 1e-5, "n = " + n + ": max |R^T R - I| = " + err);
    }

    @ParameterizedTest
    @ValueSource(ints = {12, 20, 28})
    void paleyBaseMatricesAreExactHadamard(int m) {
        int[] h = Hadamard.paley(m - 1);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                assertEquals(1, Math.abs(h[i * m + j]));
                int dot = 0;
                for (int k = 0; k < m; k++) dot += h[i * m + k] * h[j * m + k];
                assertEquals(i == j ? m : 0, dot, "rows " + i + ", " + j);
            }
    }

    @Test
    void randomizedIsOrthogonalSeededAndDiffersFromPlain() {
        int n = 384;
        double[] plain = Hadamard.matrix(n);
        double[] a = Hadamard.randomized(n, 17);
        assertEntriesArePlusMinusInvSqrtN(a, n);
        assertTrue(orthogonalityError(Hadamard.toFloat(a), n) < 1e-5);
        assertArrayEquals(a, Hadamard.randomized(n, 17));
        assertFalse(java.util.Arrays.equals(a, Hadamard.randomized(n, 18)));
        assertFalse(java.util.Arrays.equals(a, plain));
        // R·diag(s): every column equals the plain column up to one sign
        for (int j = 0; j < n; j++) {
            double sign = Math.signum(a[j] * plain[j]);
            for (int i = 0; i < n; i++) assertEquals(sign * plain[i * n + j], a[i * n + j]);
        }
    }

    @Test
    void foldingIntoTheWeightPreservesTheProduct() {
        int n = 384, m = 16, k = 24;
        Random rnd = new Random(9);
        float[] x = RtnQuantizerTest.randn(rnd, m * n, 1.0);
        float[] w = RtnQuantizerTest.randn(rnd, n * k, 1.0);
        float[] r = Hadamard.toFloat(Hadamard.randomized(n, 3));
        float[] xr = new float[m * n];   // X R
        for (int i = 0; i < m; i++)
            for (int p = 0; p < n; p++) {
                float v = x[i * n + p];
                for (int j = 0; j < n; j++) xr[i * n + j] += v * r[p * n + j];
            }
        float[] rtw = new float[n * k];  // R^T W
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++) {
                float v = r[p * n + q]; // (R^T)[q][p]
                for (int j = 0; j < k; j++) rtw[q * k + j] += v * w[p * k + j];
            }
        double num = 0, den = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) {
                float folded = 0;
                double exact = 0;
                for (int p = 0; p < n; p++) {
                    folded += xr[i * n + p] * rtw[p * k + j];
                    exact += (double) x[i * n + p] * w[p * k + j];
                }
                num += (folded - exact) * (folded - exact);
                den += exact * exact;
            }
        assertTrue(Math.sqrt(num / den) < 1e-4, "relative error " + Math.sqrt(num / den));
    }

    @Test
    void rotationSpreadsAOneHotOutlierChannel() {
        for (int n : new int[] {384, 640}) {
            for (double[] r : new double[][] {Hadamard.matrix(n), Hadamard.randomized(n, 1)}) {
                for (int c : new int[] {0, 5, n - 1}) {
                    // x = 7·e_c (one outlier channel); ||x|| = 7
                    double max = 0, norm2 = 0;
                    for (int j = 0; j < n; j++) {
                        double y = 7.0 * r[c * n + j];
                        max = Math.max(max, Math.abs(y));
                        norm2 += y * y;
                    }
                    assertEquals(1.0 / Math.sqrt(n), max / 7.0, 1e-12);
                    assertEquals(49.0, norm2, 1e-9); // norm preserved
                }
            }
        }
    }

    @Test
    void supportsExactlyTheDocumentedForms() {
        for (int n : new int[] {1, 2, 4, 1024, 12, 24, 384, 768, 1536, 3072, 20, 640, 28, 896})
            assertTrue(Hadamard.supports(n), "n = " + n);
        for (int n : new int[] {0, -4, 3, 6, 36, 60, 100, 1000, 4097})
            assertFalse(Hadamard.supports(n), "n = " + n);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Hadamard.matrix(100));
        assertTrue(e.getMessage().contains("12·2^k") && e.getMessage().contains("2^k"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Hadamard.randomized(36, 0));
    }
}
