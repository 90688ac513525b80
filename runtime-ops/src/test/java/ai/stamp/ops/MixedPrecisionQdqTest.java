package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * MixedPrecisionQdq: kernel vs ORT, and the quantizer's own guarantees.
 *
 * <p>Tolerance kernel vs ORT: the body uses the algebraically identical clip form and ORT may evaluate
 * z/scale with a different (vectorised) division, so a value sitting exactly on a rounding tie can land
 * one quantization step apart. We allow |diff| <= scale_t + 1e-6 on at most 0.1% of the elements, and
 * require at least 99.9% to be bit-exact.
 */
class MixedPrecisionQdqTest {
    static final int[] OPSETS = {11, 13, 18, 21};

    private static FloatTensor levelsFor(Random rnd, int t) {
        FloatTensor q = FloatTensor.zeros(t, 1);
        for (int i = 0; i < t; i++) q.data()[i] = QuantNumerics.steps(rnd.nextBoolean() ? 8 : (rnd.nextBoolean() ? 4 : 2));
        return q;
    }

    /** Rows with mixed signs, all-positive, all-negative, all-zero and tiny values: every branch of mn/mx/EPS. */
    private static FloatTensor input(Random rnd, long... shape) {
        FloatTensor z = OrtHarness.random(rnd, shape);
        int d = (int) shape[shape.length - 1];
        int rows = z.data().length / d;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                int k = r * d + i;
                switch (r % 6) {
                    case 1 -> z.data()[k] = Math.abs(z.data()[k]) * 3;
                    case 2 -> z.data()[k] = -Math.abs(z.data()[k]);
                    case 3 -> z.data()[k] = 0f;
                    case 4 -> z.data()[k] *= 1e-9f;
                    case 5 -> z.data()[k] = (float) Math.rint(z.data()[k] * 8); // many exact ties
                    default -> { }
                }
            }
        }
        return z;
    }

    @Test
    void kernelMatchesOrt() {
        Random rnd = new Random(21);
        long[][] shapes = {{7, 16}, {2, 9, 33}, {2, 3, 12, 8}, {1, 1}, {5, 1}, {257, 64}};
        for (int opset : OPSETS) {
            for (long[] shape : shapes) {
                int t = (int) shape[shape.length - 2], d = (int) shape[shape.length - 1];
                FloatTensor z = input(rnd, shape);
                FloatTensor q = levelsFor(rnd, t);
                FloatTensor kernel = MixedPrecisionQdq.apply(z, q);
                FloatTensor ort = OrtHarness.run(MixedPrecisionQdq.INSTANCE, opset, z, q);
                assertArrayEquals(z.shape(), ort.shape());
                int exact = 0, off = 0;
                for (int row = 0; row < z.data().length / d; row++) {
                    float scale = MixedPrecisionQdq.scale(z.data(), row * d, d, q.data()[row % t]);
                    for (int i = 0; i < d; i++) {
                        int k = row * d + i;
                        float diff = Math.abs(kernel.data()[k] - ort.data()[k]);
                        if (diff == 0f) exact++;
                        else {
                            off++;
                            assertTrue(diff <= scale + 1e-6f, "opset " + opset + " element " + k + " differs by " + diff + " > scale " + scale);
                        }
                    }
                }
                int n = z.data().length;
                assertTrue(off <= Math.max(1, n / 1000), "opset " + opset + " shape " + java.util.Arrays.toString(shape) + ": " + off + " of " + n + " off by a step");
                assertTrue(exact >= n - Math.max(1, n / 1000));
            }
        }
    }

    @Test
    void errorIsAtMostHalfAStepAndZeroStaysZero() {
        Random rnd = new Random(22);
        FloatTensor z = input(rnd, 60, 32);
        FloatTensor q = levelsFor(rnd, 60);
        FloatTensor zq = MixedPrecisionQdq.apply(z, q);
        for (int row = 0; row < 60; row++) {
            float scale = MixedPrecisionQdq.scale(z.data(), row * 32, 32, q.data()[row]);
            for (int i = 0; i < 32; i++) {
                int k = row * 32 + i;
                assertTrue(Math.abs(zq.data()[k] - z.data()[k]) <= scale / 2 * (1 + 1e-5f) + 1e-12f,
                        "row " + row + " err " + Math.abs(zq.data()[k] - z.data()[k]) + " scale " + scale);
                if (z.data()[k] == 0f) assertEquals(0f, Math.abs(zq.data()[k]), "zero maps to zero");
            }
        }
        // and through ORT: zeros stay exactly zero
        FloatTensor ort = OrtHarness.run(MixedPrecisionQdq.INSTANCE, 13, z, q);
        for (int k = 0; k < z.data().length; k++) if (z.data()[k] == 0f) assertEquals(0f, Math.abs(ort.data()[k]));
    }

    @Test
    void highPrecisionTokensAreMoreAccurate() {
        Random rnd = new Random(23);
        FloatTensor z = OrtHarness.random(rnd, 64, 48);
        FloatTensor q = FloatTensor.zeros(64, 1);
        for (int t = 0; t < 64; t++) q.data()[t] = QuantNumerics.steps(t % 2 == 0 ? 8 : 4);
        FloatTensor zq = OrtHarness.run(MixedPrecisionQdq.INSTANCE, 18, z, q);
        double[] err = new double[2];
        for (int k = 0; k < z.data().length; k++) {
            double e = zq.data()[k] - z.data()[k];
            err[(k / 48) % 2] += e * e;
        }
        assertTrue(err[0] * 100 < err[1], "8-bit error " + err[0] + " should be far below 4-bit error " + err[1]);
    }

    @Test
    void bodyAvoidsQuantizeLinear() {
        for (int opset : OPSETS) {
            Map<String, Integer> ops = OrtHarness.counts(MixedPrecisionQdq.INSTANCE.function(opset));
            assertTrue(Set.of("Constant", "ReduceMin", "ReduceMax", "Min", "Max", "Sub", "Div", "Neg", "Round", "Mul")
                    .containsAll(ops.keySet()), ops.toString());
        }
    }
}
