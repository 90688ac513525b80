package ai.stamp.compiler.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** W' = R^T diag(s) W keeps X' W' = X W for X' = X diag(1/s) R, and G' is the Gram matrix of X'. */
class FeatureWeightTransformTest {
    @Test
    void weightAndGramMatchTheTransformedActivation() {
        int t = 40, d = 12, n = 5;
        Random r = new Random(3);
        float[] x = new float[t * d], w = new float[d * n], s = new float[d];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < d; i++) s[i] = 0.2f + 3 * r.nextFloat();
        double[] rot = Hadamard.randomized(d, 0);
        FeatureWeightTransform f = new FeatureWeightTransform(s, rot);
        float[] xt = new float[t * d];
        for (int a = 0; a < t; a++)
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int k = 0; k < d; k++) v += x[a * d + k] / s[k] * rot[k * d + j];
                xt[a * d + j] = (float) v;
            }
        float[] wt = f.apply(w, d, n);
        for (int a = 0; a < t; a++)
            for (int c = 0; c < n; c++) {
                double y = 0, yt = 0;
                for (int k = 0; k < d; k++) { y += x[a * d + k] * w[k * n + c]; yt += xt[a * d + k] * wt[k * n + c]; }
                assertEquals(y, yt, 1e-4 * (1 + Math.abs(y)));
            }
        double[] g = f.gram(Gptq.gram(x, t, d), d);
        double[] expected = Gptq.gram(xt, t, d);
        for (int i = 0; i < g.length; i++) assertEquals(expected[i], g[i], 1e-3 * (1 + Math.abs(expected[i])));
        assertTrue(FeatureWeightTransform.IDENTITY.isIdentity());
    }
}
