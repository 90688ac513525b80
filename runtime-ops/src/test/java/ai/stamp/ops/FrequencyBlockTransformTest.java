package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The block DCT-II and the sequency-ordered Walsh–Hadamard matrices against their definitions (docs/method.md#sequence-transforms). */
class FrequencyBlockTransformTest {

    private static void assertOrthonormalInDouble(double[] m, int n, String what) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double dot = 0;
                for (int k = 0; k < n; k++) dot += m[i * n + k] * m[j * n + k];
                assertEquals(i == j ? 1.0 : 0.0, dot, 1e-12, what + " row " + i + " . row " + j);
            }
        }
    }

    @Test
    void dctIsTheOrthonormalDctII() {
        for (int levels = 0; levels <= 6; levels++) {
            int b = 1 << levels;
            DctTransform t = new DctTransform(levels, 1);
            double[] c = t.exactBlockMatrix();
            float[] f = t.blockMatrix();
            for (int k = 0; k < b; k++) {
                double a = k == 0 ? Math.sqrt(1.0 / b) : Math.sqrt(2.0 / b);
                for (int n = 0; n < b; n++) {
                    double expected = a * Math.cos(Math.PI * (2 * n + 1) * k / (2.0 * b));
                    assertEquals(expected, c[k * b + n], 1e-15, "B=" + b + " C[" + k + "][" + n + "]");
                    assertEquals((float) c[k * b + n], f[k * b + n], "float entries are the rounded exact ones");
                }
            }
            assertOrthonormalInDouble(c, b, "DCT B=" + b);
            for (int n = 0; n < b; n++) assertEquals((float) (1 / Math.sqrt(b)), f[n], "DCT row 0 is 1/sqrt(B)");
        }
    }

    @Test
    void whtRowsAreHadamardRowsInSequencyOrder() {
        for (int levels = 0; levels <= 6; levels++) {
            int b = 1 << levels;
            WhtTransform t = new WhtTransform(levels, 0);
            double[] w = t.exactBlockMatrix();
            float[] f = t.blockMatrix();
            double scale = 1 / Math.sqrt(b);
            boolean[] hadamardRowUsed = new boolean[b];
            for (int k = 0; k < b; k++) {
                int changes = 0;
                for (int n = 0; n < b; n++) {
                    assertEquals(scale, Math.abs(w[k * b + n]), 1e-15, "entries are +-1/sqrt(B)");
                    if (n > 0 && Math.signum(w[k * b + n]) != Math.signum(w[k * b + n - 1])) changes++;
                }
                assertEquals(k, changes, "B=" + b + " row " + k + " has " + k + " sign changes");
                // the row is one of the Sylvester rows H[i][n] = (-1)^popcount(i & n), each used once
                int match = -1;
                for (int i = 0; i < b && match < 0; i++) {
                    boolean same = true;
                    for (int n = 0; n < b && same; n++) same = Math.signum(w[k * b + n]) == ((Integer.bitCount(i & n) & 1) == 0 ? 1 : -1);
                    if (same) match = i;
                }
                assertEquals(false, match < 0 || hadamardRowUsed[match], "B=" + b + " row " + k + " is a distinct Sylvester row");
                hadamardRowUsed[match] = true;
            }
            assertOrthonormalInDouble(w, b, "WHT B=" + b);
            for (int n = 0; n < b; n++) assertEquals((float) scale, f[n], "WHT row 0 is 1/sqrt(B)");
        }
        // B = 4 spelled out: sequency 0, 1, 2, 3
        assertArrayEquals(new float[] {
                .5f, .5f, .5f, .5f,
                .5f, .5f, -.5f, -.5f,
                .5f, -.5f, -.5f, .5f,
                .5f, -.5f, .5f, -.5f}, new WhtTransform(2, 0).blockMatrix());
    }

    @Test
    void standardOrderIsFrequencyMajor() {
        // block-layout token blk·B + k sits at position k·nb + blk
        for (SequenceTransform t : new SequenceTransform[] {new DctTransform(2, 0), new WhtTransform(2, 1)}) {
            assertArrayEquals(new int[] {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, t.standardPositions(1, 3), t.toString());
            long[][] tab = t.closedFormTables();
            assertArrayEquals(new long[] {0, 1, 2, 3}, tab[0]);
            assertArrayEquals(new long[] {1, 1, 1, 1}, tab[3]);
        }
    }
}
