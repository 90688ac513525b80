package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig.Mode;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.quant.Gptq;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** GPTQ in the pass: the calibration Gram matrix reaches Gptq.quantize, and it beats RTN on the layer output. */
class GptqWiringTest {
    private static final int D = 64;
    private static final int N = 32;
    private static final int BATCH = 4;
    private static final int SEQ = 32;

    private static OnnxMl.ModelProto linear(int opset) {
        GraphBuilder g = new GraphBuilder(17);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, N)), List.of("y"));
        g.output("y", "batch", "seq", N);
        return g.model(opset, opset >= 21 ? 10 : 8);
    }

    /** Correlated inputs with uneven channel scales (what makes GPTQ's error feedback pay off). */
    private static Ort.Tensor inputs(long seed) {
        Random r = new Random(seed);
        double[] mix = new double[D * D];
        Random fixed = new Random(99);
        for (int i = 0; i < mix.length; i++) mix[i] = fixed.nextGaussian() / Math.sqrt(D);
        float[] x = new float[BATCH * SEQ * D];
        double[] z = new double[D];
        for (int t = 0; t < BATCH * SEQ; t++) {
            for (int j = 0; j < D; j++) z[j] = r.nextGaussian();
            for (int j = 0; j < D; j++) {
                double v = 0;
                for (int k = 0; k < D; k++) v += z[k] * mix[k * D + j];
                x[t * D + j] = (float) (v * (1 + 4.0 * (j % 8 == 0 ? 1 : 0)) + 0.5 * z[j]);
            }
        }
        return new Ort.Tensor(x, new long[] {BATCH, SEQ, D});
    }

    private static CalibrationStats stats(Ort.Tensor calib, boolean withGram) {
        float[] x = calib.data();
        int tokens = x.length / D;
        float[] max = new float[D];
        for (int t = 0; t < tokens; t++) for (int j = 0; j < D; j++) max[j] = Math.max(max[j], Math.abs(x[t * D + j]));
        double[] gram = withGram ? Gptq.gram(x, tokens, D) : null;
        return new CalibrationStats(Map.of("x", new ActivationStats("x", D, tokens, max, gram, Map.of(), 0)), 1, 0);
    }

    private static double sqnr(OnnxMl.ModelProto m, StampConfig config, CalibrationStats stats, Ort.Tensor in) {
        Map<String, Object> feed = Map.of("x", in);
        float[] ref = Ort.run(m, feed).get("y");
        StampResult r = StampCompiler.compile(m, config, stats);
        return Ort.sqnrDb(ref, Ort.run(r.model(), feed, Map.of("session.qdq_matmulnbits_accuracy_level", "0")).get("y"));
    }

    @Test
    void gptq4BeatsRtn4OnTheLayerOutput() {
        OnnxMl.ModelProto m = linear(13);
        Ort.Tensor calib = inputs(1);
        CalibrationStats stats = stats(calib, true);
        Ort.Tensor eval = inputs(2);
        StampConfig.Builder b = StampConfig.builder().mode(Mode.TRANSFORM_ONLY);
        double rtn = sqnr(m, b.weights(WeightQuant.RTN4).build(), stats, eval);
        double gptq = sqnr(m, b.weights(WeightQuant.GPTQ4).build(), stats, eval);
        assertTrue(gptq > rtn + 0.5, "GPTQ4 " + gptq + " dB vs RTN4 " + rtn + " dB");
        // composed with rotation and smoothing (Gram matrix transformed accordingly), still better than RTN4 with the same transforms
        StampConfig.Builder t = StampConfig.builder().mode(Mode.TRANSFORM_ONLY).rotation(Rotation.HADAMARD).smoothAlpha(0.5);
        double rtnT = sqnr(m, t.weights(WeightQuant.RTN4).build(), stats, eval);
        double gptqT = sqnr(m, t.weights(WeightQuant.GPTQ4).build(), stats, eval);
        assertTrue(gptqT > rtnT + 0.5, "with rotation+smooth: GPTQ4 " + gptqT + " dB vs RTN4 " + rtnT + " dB");
        double gptq8 = sqnr(m, b.weights(WeightQuant.GPTQ8).build(), stats, eval);
        assertTrue(gptq8 > 35, "GPTQ8 " + gptq8);
    }

    @Test
    void emittedFormsAndDetailMatchRtns() {
        OnnxMl.ModelProto m = linear(21);
        StampResult r = StampCompiler.compile(m, StampConfig.builder().mode(Mode.TRANSFORM_ONLY).weights(WeightQuant.GPTQ4).weightBlock(16).build(),
                stats(inputs(1), true));
        assertEquals("no quantization; W4 gptq block=16 as DequantizeLinear(int4)", r.report().rewritten().get(0).detail());
        assertTrue(r.model().getGraph().getInitializerList().stream().anyMatch(i -> i.getName().equals("W_gptq4")
                && i.getDataType() == OnnxMl.TensorProto.DataType.INT4_VALUE));
    }

    @Test
    void missingGramIsABadOptionNamingTheLayer() {
        StampException e = assertThrows(StampException.class, () -> StampCompiler.compile(linear(13),
                StampConfig.builder().weights(WeightQuant.GPTQ8).build(), stats(inputs(1), false)));
        assertEquals(StampException.Kind.BAD_OPTION, e.kind());
        assertTrue(e.getMessage().contains("'proj'") && e.getMessage().contains("'x'"), e.getMessage());
    }
}
