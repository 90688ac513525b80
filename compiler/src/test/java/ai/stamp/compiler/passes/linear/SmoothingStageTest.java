package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.dump;
import static ai.stamp.compiler.passes.linear.LinearFixtures.floats;
import static ai.stamp.compiler.passes.linear.LinearFixtures.hasInitializer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static ai.stamp.compiler.passes.linear.LinearFixtures.node;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * SmoothingStage on its own: X·diag(1/s) as an inserted Mul or folded into X's producer. Each case finishes the layer
 * by hand with diag(s)·W, so the rewritten graph must compute what the original did.
 */
class SmoothingStageTest {
    private static final int D = 8;
    private static final int N = 4;
    /** s = 0.5, 1, 1.5, ... (distinct per channel, so a channel mix-up shows). */
    private static final float[] S = new float[D];

    static {
        for (int j = 0; j < D; j++) S[j] = 0.5f * (j + 1);
    }

    /** x [batch, seq, D] -> producer -> t -> MatMul 'q' (W [D, N]) -> y. */
    private static OnnxMl.ModelProto model(Function<GraphBuilder, String> producer) {
        GraphBuilder g = new GraphBuilder(13);
        g.input("x", "batch", "seq", D);
        String t = producer.apply(g);
        g.node("MatMul", "q", List.of(t, g.weight("W", 0.5f, D, N)), List.of("y"));
        g.output("y", "batch", "seq", N);
        return g.model(17, 8);
    }

    private record Rewrite(OnnxMl.ModelProto model, String smoothed, List<NodeProto> nodes, List<NodeProto> again) {}

    /** Applies the stage for q (twice: the second call must reuse the first), then q reads the result with diag(s)·W. */
    private static Rewrite rewrite(OnnxMl.ModelProto model, String x, Optional<SmoothingPlanner.Fold> fold) {
        LayerMatches m = LinearFixtures.matches(model);
        LinearLayer q = layer(m, "q");
        SmoothingPlanner.Decision d = new SmoothingPlanner.Decision(x, S.clone(), List.of(q.node()), fold, fold.isPresent() ? "" : "test", 0.5);
        LinearFixtures.Edit e = LinearFixtures.edit(model, m, LinearLayerRule.NAME);
        SmoothingStage stage = new SmoothingStage(e.graph(), m.graphs().get(0));
        List<NodeProto> nodes = new ArrayList<>();
        String smoothed = stage.apply(d, "q", nodes);
        List<NodeProto> again = new ArrayList<>();
        assertEquals(smoothed, stage.apply(d, "k", again), "once per activation");
        float[] w = floats(model.getGraph(), "W");
        for (int j = 0; j < D; j++) for (int n = 0; n < N; n++) w[j * N + n] *= S[j];
        String ws = e.graph().addInitializer("Ws", Tensors.floatTensor(w, D, N));
        List<NodeProto> layerNodes = new ArrayList<>(nodes);
        layerNodes.add(e.graph().node("MatMul", List.of(smoothed, ws), List.of("y"), "q"));
        e.graph().replace(q.node(), layerNodes);
        return new Rewrite(e.build(), smoothed, nodes, again);
    }

    /** The rewritten model computes what the original did, and the smoothed tensor is {@code t} (X) divided by s channel-wise. */
    private static void assertSameNumbers(OnnxMl.ModelProto before, Rewrite r, String t) {
        Map<String, Object> in = Map.of("x", Ort.random(3, 2, 7, D));
        Map<String, float[]> ref = Ort.run(LinearFixtures.withOutputs(before, t), in);
        Map<String, float[]> got = Ort.run(LinearFixtures.withOutputs(r.model(), r.smoothed()), in);
        assertTrue(Ort.maxRelativeError(ref.get("y"), got.get("y")) < 1e-5, "y: " + Ort.maxRelativeError(ref.get("y"), got.get("y")));
        float[] expected = ref.get(t).clone();
        for (int i = 0; i < expected.length; i++) expected[i] /= S[i % D];
        assertTrue(Ort.maxRelativeError(expected, got.get(r.smoothed())) < 1e-5, r.smoothed() + " = X·diag(1/s)");
    }

    @Test
    void insertedMulDividesTheActivationForTheSmoothedLayer() {
        OnnxMl.ModelProto before = model(g -> "x");
        assertEquals("y = MatMul(x, W)", dump(before));
        Rewrite r = rewrite(before, "x", Optional.empty());
        assertEquals("""
                x_smooth = Mul(x, x_smooth_inv_s)
                y = MatMul(x_smooth, Ws)""", dump(r.model()));
        assertEquals("x_smooth", r.smoothed());
        assertEquals(1, r.nodes().size());
        assertEquals(List.of(), r.again(), "the second reader reuses the Mul");
        float[] inv = floats(r.model().getGraph(), "x_smooth_inv_s");
        for (int j = 0; j < D; j++) assertEquals(1 / S[j], inv[j], 1e-7f);
        assertEquals(List.of((long) D), LinearFixtures.initializer(r.model().getGraph(), "x_smooth_inv_s").getDimsList());
        assertSameNumbers(before, r, "x");
    }

    private static String layerNorm(GraphBuilder g, boolean bias) {
        List<String> in = bias ? List.of("x", g.weight("ln_g", 1f, D), g.weight("ln_b", 0.5f, D)) : List.of("x", g.weight("ln_g", 1f, D));
        return g.node("LayerNormalization", "ln", in, List.of("t"), GraphBuilder.intAttr("axis", -1));
    }

    @Test
    void foldIntoALayerNormScalesItsConstantsAndKeepsTheName() {
        OnnxMl.ModelProto before = model(g -> layerNorm(g, true));
        assertEquals("""
                t = LayerNormalization(x, ln_g, ln_b)
                y = MatMul(t, W)""", dump(before));
        Rewrite r = rewrite(before, "t", Optional.of(new SmoothingPlanner.LayerNormFold(node(before, "ln"))));
        assertEquals("""
                t = LayerNormalization(x, ln_g_smooth, ln_b_smooth)
                y = MatMul(t, Ws)""", dump(r.model()));
        assertEquals("t", r.smoothed(), "X keeps its name");
        assertEquals(List.of(), r.nodes(), "nothing inserted in front of the layer");
        assertFalse(hasInitializer(r.model().getGraph(), "ln_g"), "the originals are dropped");
        assertFalse(hasInitializer(r.model().getGraph(), "ln_b"));
        assertArrayEquals(divided(floats(before.getGraph(), "ln_g")), floats(r.model().getGraph(), "ln_g_smooth"), 1e-7f);
        assertArrayEquals(divided(floats(before.getGraph(), "ln_b")), floats(r.model().getGraph(), "ln_b_smooth"), 1e-7f);
        assertSameNumbers(before, r, "t");

        // without a bias only the scale changes
        OnnxMl.ModelProto noBias = model(g -> layerNorm(g, false));
        Rewrite rb = rewrite(noBias, "t", Optional.of(new SmoothingPlanner.LayerNormFold(node(noBias, "ln"))));
        assertEquals("t = LayerNormalization(x, ln_g_smooth)\ny = MatMul(t, Ws)", dump(rb.model()));
        assertSameNumbers(noBias, rb, "t");
    }

    private static float[] divided(float[] v) {
        float[] out = v.clone();
        for (int i = 0; i < out.length; i++) out[i] /= S[i % D];
        return out;
    }

    @Test
    void foldIntoAddOfMulScalesGammaAndBeta() {
        OnnxMl.ModelProto before = model(g -> {
            g.node("Mul", "ln_mul", List.of(g.weight("ln_g", 1f, D), "x"), List.of("xg"));
            return g.node("Add", "ln_add", List.of("xg", g.weight("ln_b", 0.5f, D)), List.of("t"));
        });
        Rewrite r = rewrite(before, "t", Optional.of(new SmoothingPlanner.MulAddFold(node(before, "ln_mul"), 0, node(before, "ln_add"), 1)));
        assertEquals("""
                xg = Mul(ln_g_smooth, x)
                t = Add(xg, ln_b_smooth)
                y = MatMul(t, Ws)""", dump(r.model()));
        assertArrayEquals(divided(floats(before.getGraph(), "ln_g")), floats(r.model().getGraph(), "ln_g_smooth"), 1e-7f);
        assertArrayEquals(divided(floats(before.getGraph(), "ln_b")), floats(r.model().getGraph(), "ln_b_smooth"), 1e-7f);
        assertSameNumbers(before, r, "t");
    }

    @Test
    void foldIntoAddOfMatMulScalesTheColumnsOfW0AndTheBias() {
        OnnxMl.ModelProto before = model(g -> {
            g.node("MatMul", "pre", List.of("x", g.weight("W0", 0.4f, D, D)), List.of("xw"));
            return g.node("Add", "pre_bias", List.of("xw", g.weight("b0", 0.5f, D)), List.of("t"));
        });
        Rewrite r = rewrite(before, "t", Optional.of(new SmoothingPlanner.MatMulAddFold(node(before, "pre"), node(before, "pre_bias"), 1)));
        assertEquals("""
                xw = MatMul(x, W0_smooth)
                t = Add(xw, b0_smooth)
                y = MatMul(t, Ws)""", dump(r.model()));
        assertFalse(hasInitializer(r.model().getGraph(), "W0"));
        assertFalse(hasInitializer(r.model().getGraph(), "b0"));
        float[] w0 = floats(before.getGraph(), "W0"), scaled = floats(r.model().getGraph(), "W0_smooth");
        for (int k = 0; k < D; k++) for (int j = 0; j < D; j++) assertEquals(w0[k * D + j] / S[j], scaled[k * D + j], 1e-7f, "W0[" + k + "," + j + "]");
        assertArrayEquals(divided(floats(before.getGraph(), "b0")), floats(r.model().getGraph(), "b0_smooth"), 1e-7f);
        assertSameNumbers(before, r, "t");
    }
}
