package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig.Mode;
import ai.stamp.compiler.StampConfig.Rotation;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Rotation and SmoothQuant (docs/method.md#feature-transforms) in the pass: exactness without quantization, folding, sharing. */
class FeatureTransformsTest {

    private static StampConfig.Builder transformOnly() { return StampConfig.builder().mode(Mode.TRANSFORM_ONLY); }

    private static void assertSameOutputs(OnnxMl.ModelProto before, OnnxMl.ModelProto after, Map<String, Object> in, List<String> outputs) {
        Map<String, float[]> ref = Ort.run(before, in);
        Map<String, float[]> got = Ort.run(after, in);
        for (String out : outputs) {
            double err = Ort.maxRelativeError(ref.get(out), got.get(out));
            assertTrue(err < 1e-4, out + ": relative error " + err);
        }
    }

    private static long initializers(OnnxMl.ModelProto m, String contains) {
        return m.getGraph().getInitializerList().stream().filter(t -> t.getName().contains(contains)).count();
    }

    private static Map<String, String> details(StampResult r) {
        Map<String, String> d = new HashMap<>();
        for (StampReport.Layer l : r.report().rewritten()) d.put(l.name(), l.detail());
        return d;
    }

    /** Hand-made statistics: random positive channel maxima (one strong outlier channel) for every layer input. */
    private static CalibrationStats randomStats(OnnxMl.ModelProto model, long seed) {
        StampResult plain = StampCompiler.compile(model, StampConfig.defaults());
        Random r = new Random(seed);
        Map<String, ActivationStats> by = new HashMap<>();
        for (StampReport.Layer l : plain.report().rewritten()) {
            int d = (int) (long) l.weightShape().get(0);
            float[] max = new float[d];
            for (int j = 0; j < d; j++) max[j] = 0.1f + 3 * r.nextFloat();
            max[d / 2] = 40;
            by.putIfAbsent(l.input(), new ActivationStats(l.input(), d, 100, max, null, Map.of(), 0));
        }
        return new CalibrationStats(by, 1, 1);
    }

    @Test
    void rotationWithoutQuantizationReproducesTheEncoderBlock() {
        for (int d : new int[] {12, 16, 24}) {
            OnnxMl.ModelProto block = TinyGraphs.encoderBlock(13, d, 3);
            Map<String, Object> in = Map.of("x", Ort.random(5, 2, 19, d));
            for (Rotation rot : List.of(Rotation.HADAMARD, Rotation.RANDOM_HADAMARD)) {
                StampResult r = StampCompiler.compile(block, transformOnly().rotation(rot).build());
                assertSameOutputs(block, r.model(), in, List.of("hidden", "pooled"));
                // one R per feature size (d for q/k/v/o/fc1, 2d for fc2), shared by every layer of that size
                assertEquals(2, initializers(r.model(), "hadamard"), rot + " d=" + d);
                assertTrue(details(r).get("q").startsWith("no quantization; rotate " + rot.name().toLowerCase().replace('_', '-') + " D=" + d),
                        details(r).get("q"));
                // q, k and v read one rotated x: 4 activations -> 4 rotations
                assertEquals(4, r.model().getGraph().getNodeList().stream()
                        .filter(n -> n.getOpType().equals("MatMul") && n.getInput(1).contains("hadamard")).count());
            }
        }
    }

    @Test
    void unsupportedSizeSkipsTheRotationAndSaysSo() {
        OnnxMl.ModelProto block = TinyGraphs.encoderBlock(13, 13, 3);
        StampResult r = StampCompiler.compile(block, transformOnly().rotation(Rotation.HADAMARD).build());
        assertTrue(details(r).get("q").contains("rotate skipped: no Hadamard matrix of order 13"), details(r).get("q"));
        assertEquals(0, initializers(r.model(), "hadamard"));
        assertSameOutputs(block, r.model(), Map.of("x", Ort.random(5, 2, 9, 13)), List.of("hidden", "pooled"));
    }

    @Test
    void smoothingAsInsertedMulReproducesTheEncoderBlock() {
        OnnxMl.ModelProto block = TinyGraphs.encoderBlock(13, 16, 4);
        CalibrationStats stats = randomStats(block, 9);
        for (Rotation rot : List.of(Rotation.NONE, Rotation.RANDOM_HADAMARD)) {
            StampResult r = StampCompiler.compile(block, transformOnly().smoothAlpha(0.5).rotation(rot).build(), stats);
            assertSameOutputs(block, r.model(), Map.of("x", Ort.random(6, 2, 21, 16)), List.of("hidden", "pooled"));
            for (String layer : List.of("q", "k", "v", "o", "fc1", "fc2")) {
                assertTrue(details(r).get(layer).contains("smooth α=0.5 as inserted Mul"), layer + ": " + details(r).get(layer));
            }
            // q, k, v share one Mul (x is a graph input): 4 activations, 4 Muls
            assertEquals(4, r.model().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Mul") && n.getInput(1).contains("smooth_inv_s")).count());
        }
    }

    /** x -> LayerNormalization(g, b) -> q, k, v (MatMul) -> y = q + k + v; {@code residual}: y also adds ln (post-LN-like). */
    private static OnnxMl.ModelProto preLn(boolean layerNormNode, boolean residual, int d) {
        GraphBuilder g = new GraphBuilder(21);
        g.input("x", "batch", "seq", d);
        String ln;
        if (layerNormNode) {
            ln = g.op("LayerNormalization", "ln", List.of("x", g.weight("ln_g", 1f, d), g.weight("ln_b", 0.5f, d)), GraphBuilder.intAttr("axis", -1));
        } else {
            ln = g.op("Add", "ln_add", g.op("Mul", "ln_mul", "x", g.weight("ln_g", 1f, d)), g.weight("ln_b", 0.5f, d));
        }
        float s = (float) (1 / Math.sqrt(d));
        String q = g.op("MatMul", "q", ln, g.weight("Wq", s, d, d));
        String k = g.op("MatMul", "k", ln, g.weight("Wk", s, d, d));
        String v = g.op("MatMul", "v", ln, g.weight("Wv", s, d, d));
        String sum = g.op("Add", "sum2", g.op("Add", "sum1", q, k), v);
        g.node("Add", "out", List.of(sum, residual ? ln : sum), List.of("y"));
        g.output("y", "batch", "seq", d);
        return g.model(17, 8);
    }

    @Test
    void smoothingFoldsIntoTheLayerNormWhenOnlyTheLayersReadIt() {
        for (boolean lnNode : new boolean[] {true, false}) {
            OnnxMl.ModelProto m = preLn(lnNode, false, 16);
            CalibrationStats stats = randomStats(m, 5);
            StampResult r = StampCompiler.compile(m, transformOnly().smoothAlpha(0.5).build(), stats);
            String expected = lnNode ? "smooth α=0.5 folded into LayerNorm 'ln'" : "smooth α=0.5 folded into LayerNorm-like Mul/Add 'ln_mul'/'ln_add'";
            for (String layer : List.of("q", "k", "v")) assertTrue(details(r).get(layer).contains(expected), details(r).get(layer));
            assertEquals(0, r.model().getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Mul") && n.getInput(1).contains("inv_s")).count());
            assertEquals(0, initializers(r.model(), "ln_g") - initializers(r.model(), "ln_g_smooth"), "the original γ is gone");
            assertSameOutputs(m, r.model(), Map.of("x", Ort.random(2, 2, 17, 16)), List.of("y"));
            // with rotation too
            StampResult rr = StampCompiler.compile(m, transformOnly().smoothAlpha(0.8).rotation(Rotation.HADAMARD).build(), stats);
            assertSameOutputs(m, rr.model(), Map.of("x", Ort.random(2, 2, 17, 16)), List.of("y"));
        }
    }

    @Test
    void smoothingFoldsIntoAPrecedingMatMulAddThatIsNotRewritten() {
        GraphBuilder g = new GraphBuilder(5);
        g.input("x", "batch", "seq", 16);
        String pre = g.op("Add", "pre_bias", g.op("MatMul", "pre", "x", g.weight("W0", 0.3f, 16, 16)), g.weight("b0", 0.5f, 16));
        String q = g.op("MatMul", "q", pre, g.weight("Wq", 0.3f, 16, 8));
        String k = g.op("MatMul", "k", pre, g.weight("Wk", 0.3f, 16, 8));
        g.node("Add", "out", List.of(q, k), List.of("y"));
        g.output("y", "batch", "seq", 8);
        OnnxMl.ModelProto m = g.model(13, 8);
        StampConfig config = transformOnly().smoothAlpha(0.5).exclude(java.util.regex.Pattern.compile("^pre$")).build();
        StampResult r = StampCompiler.compile(m, config, randomStats(m, 3));
        assertTrue(details(r).get("q").contains("folded into MatMul/Add 'pre'/'pre_bias'"), details(r).get("q"));
        assertSameOutputs(m, r.model(), Map.of("x", Ort.random(2, 2, 17, 16)), List.of("y"));
        // when "pre" is itself rewritten, its weight is not touched: a Mul is inserted instead
        StampResult all = StampCompiler.compile(m, transformOnly().smoothAlpha(0.5).build(), randomStats(m, 3));
        assertTrue(details(all).get("q").contains("as inserted Mul"), details(all).get("q"));
        assertSameOutputs(m, all.model(), Map.of("x", Ort.random(2, 2, 17, 16)), List.of("y"));
    }

    @Test
    void postLnResidualReaderForcesAnInsertedMul() {
        OnnxMl.ModelProto m = preLn(true, true, 16);
        StampResult r = StampCompiler.compile(m, transformOnly().smoothAlpha(0.5).build(), randomStats(m, 5));
        assertTrue(details(r).get("q").contains("smooth α=0.5 as inserted Mul"), details(r).get("q"));
        assertEquals(1, initializers(r.model(), "ln_g"), "LayerNorm untouched");
        assertSameOutputs(m, r.model(), Map.of("x", Ort.random(2, 2, 17, 16)), List.of("y"));
    }

    @Test
    void dumpOfOneLayerWithRotationAndSmoothing() {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", 8);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, 8, 4)), List.of("proj_out"));
        g.node("Add", "bias", List.of("proj_out", g.weight("b", 0.5f, 4)), List.of("y"));
        g.output("y", "batch", "seq", 4);
        OnnxMl.ModelProto m = g.model(13, 8);
        StampResult r = StampCompiler.compile(m, StampConfig.builder().smoothAlpha(0.5).rotation(Rotation.HADAMARD).weights(WeightQuant.RTN8)
                .emit(StampConfig.Emit.SIMULATE).build(),
                randomStats(m, 1));
        assertEquals("""
                x_smooth = Mul(x, x_smooth_inv_s)
                x_rot = MatMul(x_smooth, stamp_hadamard_8)
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x_rot)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x_stamp_coeffs)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)
                W_dq = DequantizeLinear(W_smooth_rot_rtn8, W_smooth_rot_rtn8_scale)
                proj_out_coeffs = MatMul(x_stamp_q, W_dq)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        assertEquals("A8/4 hi-tokens=sink+band; smooth α=0.5 as inserted Mul ('x' has no producer node in this graph);"
                + " rotate hadamard D=8; W8 rtn per-channel as DequantizeLinear(int8)", r.report().rewritten().get(0).detail());
    }
}
