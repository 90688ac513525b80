package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The fast R^T·W (FWHT per Sylvester group, then the Paley factor) equals the dense product, plain and randomized. */
class HadamardFastProductTest {
    @Test
    void theFastProductEqualsTheDenseOneForEveryBase() {
        Random rnd = new Random(9);
        for (int n : new int[] {1, 2, 8, 12, 24, 20, 40, 28, 56, 384, 768}) {
            int cols = 7;
            double[] w = new double[n * cols];
            for (int i = 0; i < w.length; i++) w[i] = rnd.nextGaussian();
            for (Long seed : new Long[] {null, 0L, 5L}) {
                double[] r = seed == null ? Hadamard.matrix(n) : Hadamard.randomized(n, seed);
                double[] dense = new double[n * cols];
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < n; k++)
                        for (int c = 0; c < cols; c++) dense[i * cols + c] += r[k * n + i] * w[k * cols + c];
                double[] fast = Hadamard.transposeTimes(Hadamard.factors(n, seed), w, cols);
                double worst = 0;
                for (int i = 0; i < dense.length; i++) worst = Math.max(worst, Math.abs(dense[i] - fast[i]));
                assertTrue(worst < 1e-12, "n=" + n + " seed=" + seed + ": " + worst);
            }
        }
    }

    @Test
    void theWeightTransformUsesItAndAgreesWithTheDenseTransform() {
        int d = 384, n = 64;
        Random rnd = new Random(3);
        float[] w = new float[d * n];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        double[] r = Hadamard.randomized(d, 0);
        float[] dense = new FeatureWeightTransform(null, r).apply(w, d, n);
        float[] fast = new FeatureWeightTransform(null, r, Hadamard.factors(d, 0L)).apply(w, d, n);
        double worst = 0;
        for (int i = 0; i < dense.length; i++) worst = Math.max(worst, Math.abs(dense[i] - fast[i]));
        assertTrue(worst < 1e-6, "max |dense - fast| = " + worst);
    }
}
