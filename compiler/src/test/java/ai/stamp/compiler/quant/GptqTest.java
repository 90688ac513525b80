package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GptqTest {

    static final int S = 256, D = 64, N = 32;
    static float[] X, W;
    static double[] H;

    @BeforeAll
    static void layer() {
        Random r = new Random(42);
        float[] z = RtnQuantizerTest.randn(r, S * D, 1.0);
        float[] mix = RtnQuantizerTest.randn(r, D * D, 1.0);
        X = matmul(z, mix, S, D, D); // correlated inputs
        W = RtnQuantizerTest.randn(r, D * N, 0.1);
        H = Gptq.gram(X, S, D);
    }

    static float[] matmul(float[] a, float[] b, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) {
                double v = a[i * k + p];
                for (int j = 0; j < n; j++) c[i * n + j] += (float) (v * b[p * n + j]);
            }
        return c;
    }

    /** ||X W - X W'||_F, computed as ||X (W - W')||_F in double. */
    static double outputError(float[] x, int s, float[] w, float[] wq) {
        double[] dw = new double[w.length];
        for (int i = 0; i < w.length; i++) dw[i] = (double) w[i] - wq[i];
        int n = w.length / D;
        double sum = 0;
        for (int i = 0; i < s; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < D; p++) acc += x[i * D + p] * dw[p * n + j];
                sum += acc * acc;
            }
        return Math.sqrt(sum);
    }

    @Test
    void gptq4BitBeatsRtnByAtLeastTenPercent() {
        for (int block : new int[] {0, 16}) {
            double rtn = outputError(X, S, W, RtnQuantizer.quantize(W, D, N, 4, block).dequantize());
            double gptq = outputError(X, S, W, Gptq.quantize(W, D, N, H, 4, block).dequantize());
            assertTrue(gptq < 0.9 * rtn, "block " + block + ": GPTQ " + gptq + " vs RTN " + rtn);
        }
    }

    @Test
    void gptq8BitIsNotWorseThanRtn() {
        for (int block : new int[] {0, 16}) {
            double rtn = outputError(X, S, W, RtnQuantizer.quantize(W, D, N, 8, block).dequantize());
            double gptq = outputError(X, S, W, Gptq.quantize(W, D, N, H, 8, block).dequantize());
            assertTrue(gptq <= rtn, "block " + block + ": GPTQ " + gptq + " vs RTN " + rtn);
        }
    }

    @Test
    void dequantizedValuesLieOnTheScaleGrid() {
        for (int bits : new int[] {4, 8})
            for (int block : new int[] {0, 16, 24}) {
                QuantizedWeight q = Gptq.quantize(W, D, N, H, bits, block);
                assertEquals(block, q.block());
                assertEquals(QuantizedWeight.scaleRows(D, block) * N, q.scales().length);
                if (block == 0) // per-channel grid is RTN's, from the original W
                    assertArrayEquals(RtnQuantizer.quantize(W, D, N, bits).scales(), q.scales());
                float[] dq = q.dequantize();
                for (int d = 0; d < D; d++)
                    for (int n = 0; n < N; n++) {
                        float s = q.scale(d, n);
                        assertTrue(s > 0);
                        double k = dq[d * N + n] / s;
                        assertEquals(Math.rint(k), k, 1e-4, "off grid at (" + d + "," + n + ")");
                        assertTrue(Math.abs(k) <= q.qmax() + 1e-4);
                        assertEquals(q.value(d, n), (int) Math.rint(k));
                    }
            }
    }

    @Test
    void isDeterministic() {
        QuantizedWeight a = Gptq.quantize(W, D, N, H, 4, 16);
        QuantizedWeight b = Gptq.quantize(W, D, N, H, 4, 16);
        assertArrayEquals(a.values(), b.values());
        assertArrayEquals(a.scales(), b.scales());
        assertArrayEquals(W, W.clone()); // input untouched (sanity)
    }

    @Test
    void doesNotModifyInputs() {
        float[] w = W.clone();
        double[] h = H.clone();
        Gptq.quantize(w, D, N, h, 4, 0);
        assertArrayEquals(W, w);
        assertArrayEquals(H, h);
    }

    @Test
    void uncorrelatedInputsReduceToRtn() {
        // H = c·I: H^-1's Cholesky factor is diagonal, so no error is propagated and GPTQ == RTN exactly.
        double[] h = new double[D * D];
        for (int d = 0; d < D; d++) h[d * D + d] = 3.0;
        for (int block : new int[] {0, 8}) {
            QuantizedWeight g = Gptq.quantize(W, D, N, h, 4, block);
            QuantizedWeight r = RtnQuantizer.quantize(W, D, N, 4, block);
            assertArrayEquals(r.values(), g.values());
            assertArrayEquals(r.scales(), g.scales());
        }
    }

    @Test
    void deadInputsAreZeroed() {
        float[] x = X.clone();
        for (int s = 0; s < S; s++) { x[s * D + 3] = 0f; x[s * D + 40] = 0f; }
        double[] h = Gptq.gram(x, S, D);
        QuantizedWeight q = Gptq.quantize(W, D, N, h, 4, 0);
        float[] dq = q.dequantize();
        for (int n = 0; n < N; n++) {
            assertEquals(0, q.value(3, n));
            assertEquals(0, q.value(40, n));
        }
        for (float v : dq) assertTrue(Float.isFinite(v));
        double rtn = outputError(x, S, W, RtnQuantizer.quantize(W, D, N, 4).dequantize());
        assertTrue(outputError(x, S, W, dq) < rtn);
    }

    @Test
    void beatsRtnAcrossTheLazyBatchBoundary() {
        // D = 200 > 128: rows beyond the first lazy batch only see deferred updates; GPTQ must still beat RTN.
        int d = 200, n = 8, s = 400;
        Random r = new Random(7);
        float[] z = RtnQuantizerTest.randn(r, s * d, 1.0);
        float[] mix = RtnQuantizerTest.randn(r, d * d, 1.0);
        float[] x = matmul(z, mix, s, d, d);
        float[] w = RtnQuantizerTest.randn(r, d * n, 0.1);
        double[] h = Gptq.gram(x, s, d);
        double rtn = 0, gptq = 0;
        float[] wr = RtnQuantizer.quantize(w, d, n, 4).dequantize();
        float[] wg = Gptq.quantize(w, d, n, h, 4, 0).dequantize();
        for (int i = 0; i < s; i++)
            for (int j = 0; j < n; j++) {
                double ar = 0, ag = 0;
                for (int p = 0; p < d; p++) {
                    ar += x[i * d + p] * ((double) w[p * n + j] - wr[p * n + j]);
                    ag += x[i * d + p] * ((double) w[p * n + j] - wg[p * n + j]);
                }
                rtn += ar * ar;
                gptq += ag * ag;
            }
        assertTrue(Math.sqrt(gptq) < 0.9 * Math.sqrt(rtn), "GPTQ " + Math.sqrt(gptq) + " vs RTN " + Math.sqrt(rtn));
    }

    @Test
    void lazyBatchingMatchesTheUnbatchedLoop() {
        int d = 200, n = 8, s = 300; // d > 128: rows beyond the first lazy batch get deferred updates
        Random r = new Random(8);
        float[] x = matmul(RtnQuantizerTest.randn(r, s * d, 1.0), RtnQuantizerTest.randn(r, d * d, 1.0), s, d, d);
        float[] w = RtnQuantizerTest.randn(r, d * n, 0.1);
        double[] h = Gptq.gram(x, s, d);
        for (int block : new int[] {0, 48}) {
            QuantizedWeight ref = Gptq.quantize(w, d, n, h, 4, block, Gptq.DEFAULT_DAMPING, 1);
            for (int batch : new int[] {7, 128}) {
                QuantizedWeight q = Gptq.quantize(w, d, n, h, 4, block, Gptq.DEFAULT_DAMPING, batch);
                int differ = 0;
                for (int i = 0; i < d * n; i++) if (q.values()[i] != ref.values()[i]) differ++;
                assertTrue(differ <= d * n / 200, "block " + block + " batch " + batch + ": " + differ + " values differ");
                assertArrayEquals(ref.scales(), q.scales(), 1e-5f);
            }
        }
    }

    @Test
    void gramAccumulatesOverBatches() {
        double[] h = new double[D * D];
        float[] first = java.util.Arrays.copyOfRange(X, 0, 100 * D);
        float[] second = java.util.Arrays.copyOfRange(X, 100 * D, S * D);
        Gptq.accumulateGram(h, first, 100, D);
        Gptq.accumulateGram(h, second, S - 100, D);
        for (int i = 0; i < h.length; i++) assertEquals(H[i], h[i], 1e-9 * Math.abs(H[i]) + 1e-9);
        for (int a = 0; a < D; a++) for (int b = 0; b < D; b++) assertEquals(h[a * D + b], h[b * D + a]);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(W, D, N, new double[5], 4, 0));
        assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(W, D, N, H, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(W, D, N, H, 4, 0, -1));
        double[] notPd = new double[D * D];
        for (int d = 0; d < D; d++) notPd[d * D + d] = (d == 0) ? -1.0 : 1.0;
        assertThrows(IllegalArgumentException.class, () -> Gptq.quantize(W, D, N, notPd, 4, 0, 0.0));
    }
}
