package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.dump;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampConfig;
import ai.stamp.ops.FloatTensor;
import ai.stamp.ops.SequenceLayout;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.StampDomain;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SequenceTransformStage on its own: the forward node Z = L·pad(X) and the inverse crop(L^T·Z) in front of the layer's
 * MatMul; the pair must give X back (any sequence length, padding cropped), and Z must be the transform's coefficients.
 */
class SequenceTransformStageTest {
    private static final int D = 8;

    /** x [batch, S, D] (S static when {@code seq} > 0) -> MatMul 'proj' (W [D, 4]) -> y. */
    private static OnnxMl.ModelProto model(long seq) {
        GraphBuilder g = new GraphBuilder(5);
        Object s = seq > 0 ? (Object) seq : "seq";
        g.input("x", "batch", s, D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, 4)), List.of("y"));
        g.output("y", "batch", s, 4);
        return g.model(13, 8);
    }

    private static TokenPlan plan(SequenceLayout layout) {
        return new TokenPlan(StampConfig.Mode.TRANSFORM_ONLY, layout, 8, 4, 0, "", null);
    }

    /** proj becomes forward(x) -> inverse -> x_back -> MatMul(x_back, W). */
    private static OnnxMl.ModelProto rewrite(OnnxMl.ModelProto before, TokenPlan plan) {
        LayerMatches m = LinearFixtures.matches(before);
        LinearLayer proj = layer(m, "proj");
        LinearFixtures.Edit e = LinearFixtures.edit(before, m, LinearLayerRule.NAME);
        SequenceTransformStage stage = new SequenceTransformStage(e.graph(), Chunking.NONE);
        List<NodeProto> nodes = new ArrayList<>();
        String z = stage.forward(plan, proj.type(), proj.activation(), proj.activation(), "proj", nodes);
        assertEquals("x_stamp_coeffs", z);
        stage.inverse(plan, proj.type(), z, proj.activation(), "x_back", "proj", nodes);
        assertEquals(2, nodes.size());
        nodes.add(e.graph().node("MatMul", List.of("x_back", proj.weight()), List.of("y"), "proj"));
        e.graph().replace(proj.node(), nodes);
        return e.build();
    }

    /** x_back = x exactly (orthogonal transform), y unchanged, and Z is the op's reference kernel output. */
    private static void assertRoundTrip(OnnxMl.ModelProto before, OnnxMl.ModelProto after, TokenPlan plan, long seq) {
        Ort.Tensor x = Ort.random(seq, 2, seq, D);
        Map<String, Object> in = Map.of("x", x);
        Map<String, float[]> got = Ort.run(LinearFixtures.withOutputs(after, "x_back", "x_stamp_coeffs"), in);
        String what = plan.transformed().sequenceTransform().id() + " S=" + seq;
        assertTrue(Ort.maxRelativeError(x.data(), got.get("x_back")) < 1e-5, what + ": " + Ort.maxRelativeError(x.data(), got.get("x_back")));
        float[] ref = Ort.run(before, in).get("y");
        assertTrue(Ort.maxRelativeError(ref, got.get("y")) < 1e-5, what);
        FloatTensor z = SequenceTransforms.forward(plan.transformed()).reference(new FloatTensor(x.data(), x.shape()));
        assertEquals(z.data().length, got.get("x_stamp_coeffs").length, what + ": coefficient count (padding to whole blocks)");
        assertTrue(Ort.maxRelativeError(z.data(), got.get("x_stamp_coeffs")) < 1e-5, what + ": Z is the reference kernel's");
    }

    @Test
    void haarForwardAndInversePairReproducesX() {
        OnnxMl.ModelProto before = model(-1);
        assertEquals("y = MatMul(x, W)", dump(before));
        TokenPlan plan = plan(SequenceTransforms.of("haar", 3, 1).layout());
        OnnxMl.ModelProto after = rewrite(before, plan);
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_back = ai.stamp.HaarSequenceInverse_l3_s1(x_stamp_coeffs, x)
                y = MatMul(x_back, W)""", dump(after));
        assertEquals(List.of("HaarSequence_l3_s1", "HaarSequenceInverse_l3_s1"),
                after.getFunctionsList().stream().map(OnnxMl.FunctionProto::getName).toList());
        assertTrue(after.getFunctionsList().stream().allMatch(f -> f.getDomain().equals(StampDomain.NAME)));
        assertTrue(after.getGraph().getNode(0).getDocString().startsWith("stamp-onnx " + LinearLayerRule.NAME + " for proj"),
                after.getGraph().getNode(0).getDocString());
        for (long seq : new long[] {1, 2, 5, 9, 17}) assertRoundTrip(before, after, plan, seq);
    }

    @Test
    void dctAndWhtEmitTheirOwnOps() {
        OnnxMl.ModelProto before = model(-1);
        record Case(String id, int levels, int sink, String forward) {}
        for (Case c : List.of(new Case("dct", 2, 1, "DctSequence"), new Case("wht", 2, 0, "WhtSequence"))) {
            TokenPlan plan = plan(SequenceTransforms.of(c.id(), c.levels(), c.sink()).layout());
            OnnxMl.ModelProto after = rewrite(before, plan);
            String fwd = SequenceTransforms.forward(plan.transformed()).functionName();
            assertTrue(fwd.startsWith(c.forward()), fwd);
            assertEquals("x_stamp_coeffs = ai.stamp." + fwd + "(x)\nx_back = ai.stamp." + SequenceTransforms.inverse(plan.transformed()).functionName()
                    + "(x_stamp_coeffs, x)\ny = MatMul(x_back, W)", dump(after));
            for (long seq : new long[] {3, 7}) assertRoundTrip(before, after, plan, seq);
        }
    }

    @Test
    void haar2dOnAGridReproducesX() {
        // 1 sink + a 4x6 grid, 2x2 tiles
        OnnxMl.ModelProto before = model(25);
        TokenPlan plan = plan(SequenceTransforms.of("haar2d", 1, 1, 4).layout());
        OnnxMl.ModelProto after = rewrite(before, plan);
        String fwd = SequenceTransforms.forward(plan.transformed()).functionName();
        assertTrue(fwd.startsWith("Haar2dSequence"), fwd);
        Ort.Tensor x = Ort.random(4, 1, 25, D);
        Map<String, float[]> got = Ort.run(LinearFixtures.withOutputs(after, "x_back"), Map.of("x", x));
        assertTrue(Ort.maxRelativeError(x.data(), got.get("x_back")) < 1e-5);
        assertTrue(Ort.maxRelativeError(Ort.run(before, Map.of("x", x)).get("y"), got.get("y")) < 1e-5);
        // Z is the 2D kernel's, and the sink token passes through untouched
        float[] z = Ort.run(LinearFixtures.withOutputs(after, "x_stamp_coeffs"), Map.of("x", x)).get("x_stamp_coeffs");
        float[] zRef = SequenceTransforms.forward(plan.transformed()).reference(new FloatTensor(x.data(), x.shape())).data();
        assertEquals(zRef.length, z.length);
        assertTrue(Ort.maxRelativeError(zRef, z) < 1e-5);
        assertArrayEquals(java.util.Arrays.copyOf(x.data(), D), java.util.Arrays.copyOf(z, D));
    }
}
