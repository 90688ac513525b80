package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RtnQuantizerTest {

    static float[] randn(Random r, int len, double std) {
        float[] a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (float) (r.nextGaussian() * std);
        return a;
    }

    static double sqErr(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) { double d = a[i] - b[i]; s += d * d; }
        return s;
    }

    private static void assertWithinHalfStep(float[] w, QuantizedWeight q) {
        float[] dq = q.dequantize();
        for (int d = 0; d < q.rows(); d++)
            for (int n = 0; n < q.cols(); n++) {
                int i = d * q.cols() + n;
                double s = q.scale(d, n);
                assertTrue(Math.abs(w[i] - dq[i]) <= s / 2 * (1 + 1e-6),
                        "element (" + d + "," + n + "): |" + w[i] + " - " + dq[i] + "| > " + s / 2);
            }
    }

    @Test
    void perChannelErrorIsAtMostHalfAStep() {
        Random r = new Random(1);
        int D = 48, N = 20;
        float[] w = randn(r, D * N, 0.5);
        for (int bits : new int[] {4, 8}) {
            QuantizedWeight q = RtnQuantizer.quantize(w, D, N, bits);
            assertEquals(0, q.block());
            assertEquals(N, q.scales().length);
            assertWithinHalfStep(w, q);
            // scale is max|w| / qmax per column
            for (int n = 0; n < N; n++) {
                float m = 0;
                for (int d = 0; d < D; d++) m = Math.max(m, Math.abs(w[d * N + n]));
                assertEquals(m / q.qmax(), q.scales()[n], 1e-7f * m);
            }
        }
    }

    @Test
    void perBlockErrorIsAtMostHalfAStepIncludingRaggedLastBlock() {
        Random r = new Random(2);
        int D = 50, N = 7; // 50 = 3 blocks of 16 + 2
        float[] w = randn(r, D * N, 1.0);
        QuantizedWeight q = RtnQuantizer.quantize(w, D, N, 4, 16);
        assertEquals(4, q.scaleRows());
        assertEquals(4 * N, q.scales().length);
        assertWithinHalfStep(w, q);
    }

    @Test
    void zeroColumnStaysZeroWithScaleOne() {
        Random r = new Random(3);
        int D = 16, N = 5;
        float[] w = randn(r, D * N, 1.0);
        for (int d = 0; d < D; d++) w[d * N + 2] = 0f;
        for (int block : new int[] {0, 4}) {
            QuantizedWeight q = RtnQuantizer.quantize(w, D, N, 8, block);
            float[] dq = q.dequantize();
            for (int d = 0; d < D; d++) {
                assertEquals(0, q.value(d, 2));
                assertEquals(1f, q.scale(d, 2));
                assertEquals(0f, dq[d * N + 2]);
                assertTrue(Float.isFinite(dq[d * N + 1]));
            }
        }
    }

    @Test
    void perBlockBeatsPerChannelWithAnOutlierRow() {
        Random r = new Random(4);
        int D = 64, N = 32;
        float[] w = randn(r, D * N, 0.02);
        for (int n = 0; n < N; n++) w[5 * N + n] = (float) (r.nextGaussian() * 2.0); // one outlier input feature
        for (int bits : new int[] {4, 8}) {
            double perChannel = sqErr(w, RtnQuantizer.quantize(w, D, N, bits).dequantize());
            double perBlock = sqErr(w, RtnQuantizer.quantize(w, D, N, bits, 8).dequantize());
            assertTrue(perBlock <= perChannel, bits + " bits: block " + perBlock + " > channel " + perChannel);
            assertTrue(perBlock < 0.2 * perChannel, bits + " bits: outlier isolation should help a lot");
        }
    }

    @Test
    void int4ValuesStayInSymmetricRangeAndReachIt() {
        Random r = new Random(5);
        int D = 32, N = 9;
        float[] w = randn(r, D * N, 3.0);
        QuantizedWeight q4 = RtnQuantizer.quantize(w, D, N, 4);
        assertEquals(7, q4.qmax());
        for (int n = 0; n < N; n++) {
            int maxAbs = 0;
            for (int d = 0; d < D; d++) {
                int v = q4.value(d, n);
                assertTrue(v >= -7 && v <= 7, "int4 value " + v);
                maxAbs = Math.max(maxAbs, Math.abs(v));
            }
            assertEquals(7, maxAbs, "the column's max |w| maps to qmax");
        }
        QuantizedWeight q8 = RtnQuantizer.quantize(w, D, N, 8);
        for (byte v : q8.values()) assertTrue(v >= -127 && v <= 127);
    }

    @Test
    void roundsHalfToEven() {
        // one column, max 127 -> scale exactly 1 at 8 bits
        float[] w = {127f, 2.5f, 3.5f, -2.5f, 0.5f, -0.5f, 1.5f};
        QuantizedWeight q = RtnQuantizer.quantize(w, w.length, 1, 8);
        assertEquals(1f, q.scales()[0]);
        assertArrayEquals(new byte[] {127, 2, 4, -2, 0, 0, 2}, q.values());
    }

    @Test
    void dequantizeIsValueTimesScale() {
        Random r = new Random(6);
        int D = 12, N = 4;
        float[] w = randn(r, D * N, 1.0);
        QuantizedWeight q = RtnQuantizer.quantize(w, D, N, 4, 3);
        float[] dq = q.dequantize();
        for (int d = 0; d < D; d++)
            for (int n = 0; n < N; n++)
                assertEquals(q.value(d, n) * q.scales()[(d / 3) * N + n], dq[d * N + n]);
    }

    @Test
    void rejectsBadArguments() {
        float[] w = new float[6];
        assertThrows(IllegalArgumentException.class, () -> RtnQuantizer.quantize(w, 2, 3, 3));
        assertThrows(IllegalArgumentException.class, () -> RtnQuantizer.quantize(w, 2, 4, 8));
        assertThrows(IllegalArgumentException.class, () -> RtnQuantizer.quantize(w, 2, 3, 8, -1));
        float[] bad = {1f, Float.NaN};
        assertThrows(IllegalArgumentException.class, () -> RtnQuantizer.quantize(bad, 2, 1, 8));
    }
}
