package ai.stamp.compiler.calibration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.passes.linear.LayerMatches;
import ai.stamp.ops.HaarBasis;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Calibration statistics against a direct Java computation from the sample arrays. */
class CalibratorTest {
    private static final int D = 16;
    private static final int BATCH = 2;
    private static final int S = 37;
    private static final int SINK = 1;
    private static final OnnxMl.ModelProto BLOCK = TinyGraphs.encoderBlock(13, D, 1);

    private static List<float[]> data() {
        Random r = new Random(7);
        List<float[]> out = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            float[] x = new float[BATCH * S * D];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * (1 + (i % D) * 0.25));
            out.add(x);
        }
        return out;
    }

    private static List<Map<String, OnnxTensor>> feeds(List<float[]> data) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<Map<String, OnnxTensor>> out = new ArrayList<>();
        for (float[] x : data) {
            Map<String, OnnxTensor> m = new HashMap<>();
            m.put("x", OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {BATCH, S, D}));
            out.add(m);
        }
        return out;
    }

    private static void close(double expected, double actual, String what) {
        double tol = 1e-4 * Math.max(1e-6, Math.abs(expected));
        assertEquals(expected, actual, tol, what);
    }

    @Test
    void statsOfTheGraphInputMatchADirectComputation() throws Exception {
        List<float[]> data = data();
        List<String> progress = new ArrayList<>();
        CalibrationStats stats = Calibrator.collect(BLOCK, null, inputsOf(BLOCK), feeds(data), new Calibrator.Options(SINK, true, "haar"), progress::add);

        assertEquals(3, stats.samples());
        assertEquals(SINK, stats.sinkTokens());
        assertEquals(List.of("calibration: sample 1/3", "calibration: sample 2/3", "calibration: sample 3/3"), progress);
        ActivationStats x = stats.of("x").orElseThrow();
        assertEquals(D, x.features());
        assertEquals(3L * BATCH * S, x.tokens());

        // direct computation
        double[] absMax = new double[D];
        double[] gram = new double[D * D];
        Map<Integer, double[]> esum = new HashMap<>();
        Map<Integer, Integer> bcount = new HashMap<>();
        double sinkSum = 0;
        int sinkCount = 0;
        for (float[] v : data) {
            for (int b = 0; b < BATCH; b++) {
                for (int t = 0; t < S; t++) {
                    int o = (b * S + t) * D;
                    for (int i = 0; i < D; i++) {
                        absMax[i] = Math.max(absMax[i], Math.abs(v[o + i]));
                        for (int j = 0; j < D; j++) gram[i * D + j] += (double) v[o + i] * v[o + j];
                    }
                    if (t < SINK) {
                        for (int i = 0; i < D; i++) sinkSum += (double) v[o + i] * v[o + i];
                        sinkCount++;
                    }
                }
                int n = S - SINK;
                for (int levels = 1; levels <= 5; levels++) {
                    int bl = 1 << levels;
                    if (bl > n) continue;
                    double[] e = esum.computeIfAbsent(levels, k -> new double[bl]);
                    for (int start = SINK; start < S; start += bl) {
                        for (int f = 0; f < D; f++) {
                            double[] col = new double[bl];
                            for (int k = 0; k < bl && start + k < S; k++) col[k] = v[(b * S + start + k) * D + f];
                            HaarBasis.haar1d(col, levels);
                            for (int c = 0; c < bl; c++) e[c] += col[c] * col[c];
                        }
                        bcount.merge(levels, 1, Integer::sum);
                    }
                }
            }
        }
        for (int i = 0; i < D; i++) close(absMax[i], x.channelAbsMax()[i], "absMax " + i);
        assertNotNull(x.gram());
        for (int i = 0; i < D * D; i++) close(gram[i], x.gram()[i], "gram " + i);
        assertEquals(esum.keySet(), x.coefficientEnergy().keySet());
        for (int levels = 1; levels <= 5; levels++) {
            double[] e = x.energies(levels).orElseThrow();
            assertEquals(1 << levels, e.length);
            for (int c = 0; c < e.length; c++) close(esum.get(levels)[c] / bcount.get(levels), e[c], "energy L=" + levels + " c=" + c);
        }
        close(sinkSum / sinkCount, x.sinkEnergy(), "sink energy");

        // the other linear-layer inputs (o, fc1, fc2) are present and finite
        assertEquals(4, stats.byTensor().size(), stats.byTensor().keySet().toString());
        for (ActivationStats a : stats.byTensor().values()) {
            assertEquals(3L * BATCH * S, a.tokens(), a.tensor());
            for (float m : a.channelAbsMax()) assertTrue(Float.isFinite(m) && m >= 0, a.tensor());
            for (double g : a.gram()) assertTrue(Double.isFinite(g), a.tensor());
            assertFalse(a.coefficientEnergy().isEmpty(), a.tensor());
            for (double[] e : a.coefficientEnergy().values()) for (double v : e) assertTrue(Double.isFinite(v) && v >= 0, a.tensor());
            assertTrue(Double.isFinite(a.sinkEnergy()));
        }
        ActivationStats fc2 = stats.byTensor().values().stream().filter(a -> a.features() == 2 * D).findFirst().orElseThrow();
        assertEquals(4 * D * D, fc2.gram().length);
    }

    @Test
    void gramIsAbsentWhenNotRequested() throws Exception {
        CalibrationStats stats = Calibrator.collect(BLOCK, null, inputsOf(BLOCK), feeds(data().subList(0, 1)), new Calibrator.Options(SINK, false, "haar"), null);
        assertEquals(1, stats.samples());
        for (ActivationStats a : stats.byTensor().values()) {
            assertNull(a.gram(), a.tensor());
            assertTrue(a.gramMatrix().isEmpty());
            assertEquals((long) BATCH * S, a.tokens());
        }
    }

    /** What the compiler's matches name as calibration tensors. */
    private static List<String> inputsOf(OnnxMl.ModelProto model) {
        return LayerMatches.of(model, new LayerSelection(Optional.empty(), false)).mainGraphActivations();
    }

    @Test
    void linearInputsOfTheEncoderBlock() {
        List<String> inputs = inputsOf(BLOCK);
        assertEquals(4, inputs.size(), inputs.toString());
        assertEquals("x", inputs.get(0));
        LayerSelection noFc2 = new LayerSelection(Optional.of(java.util.regex.Pattern.compile("^fc2$")), false);
        assertEquals(3, LayerMatches.of(BLOCK, noFc2).mainGraphActivations().size());
    }
}
