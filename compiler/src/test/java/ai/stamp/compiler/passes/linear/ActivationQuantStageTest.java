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
import ai.stamp.ops.MixedPrecisionQdq;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ActivationQuantStage on its own: the TokenPrecision / MixedPrecisionQdq node pair in front of the layer's MatMul, the
 * level count each token gets, and the quantized values against the ops' Java reference kernels.
 */
class ActivationQuantStageTest {
    private static final int D = 8;
    private static final long SEQ = 17;

    private static final OnnxMl.ModelProto BEFORE = model();

    private static OnnxMl.ModelProto model() {
        GraphBuilder g = new GraphBuilder(6);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, 4)), List.of("y"));
        g.output("y", "batch", "seq", 4);
        return g.model(13, 8);
    }

    /** proj reads Q(x) (the stage quantizes x as if it were the coefficients: the levels only depend on the token index). */
    private static OnnxMl.ModelProto rewrite(TokenPlan plan) {
        LayerMatches m = LinearFixtures.matches(BEFORE);
        LinearLayer proj = layer(m, "proj");
        LinearFixtures.Edit e = LinearFixtures.edit(BEFORE, m, LinearLayerRule.NAME);
        List<NodeProto> nodes = new ArrayList<>();
        String zq = new ActivationQuantStage(e.graph(), ai.stamp.ops.MixedPrecisionQuantize.Form.ARITHMETIC, Chunking.NONE).quantize(plan, ai.stamp.ops.FloatType.FLOAT, "x", "x", "proj", nodes);
        assertEquals("x_stamp_q", zq);
        assertEquals(2, nodes.size());
        nodes.add(e.graph().node("MatMul", List.of(zq, "W"), List.of("y"), "proj"));
        e.graph().replace(proj.node(), nodes);
        return e.build();
    }

    /** ORT's levels and quantized x equal the reference kernels; returns the levels (one per token). */
    private static float[] assertMatchesReference(OnnxMl.ModelProto after, TokenPlan plan) {
        Ort.Tensor x = Ort.random(7, 2, SEQ, D);
        Map<String, float[]> got = Ort.run(LinearFixtures.withOutputs(after, "x_stamp_levels", "x_stamp_q"), Map.of("x", x));
        FloatTensor levels = plan.tokenPrecision().reference(new FloatTensor(x.data(), x.shape()));
        assertArrayEquals(levels.data(), got.get("x_stamp_levels"));
        FloatTensor q = MixedPrecisionQdq.apply(new FloatTensor(x.data(), x.shape()), levels);
        assertTrue(LinearFixtures.maxAbsDiff(q.data(), got.get("x_stamp_q")) < 1e-5, "Q(x): " + LinearFixtures.maxAbsDiff(q.data(), got.get("x_stamp_q")));
        assertTrue(LinearFixtures.maxAbsDiff(x.data(), got.get("x_stamp_q")) > 1e-3, "the values are quantized");
        float[] y = LinearFixtures.matmul(got.get("x_stamp_q"), (int) (2 * SEQ), D, LinearFixtures.floats(BEFORE.getGraph(), "W"), 4);
        assertTrue(Ort.maxRelativeError(y, got.get("y")) < 1e-5, "the layer reads Q(x)");
        return got.get("x_stamp_levels");
    }

    private static final float HI = 255, LO = 15;

    @Test
    void baselineQuantizesTheFirstSinkPlusBandTokensHigh() {
        TokenPlan plan = new TokenPlan(StampConfig.Mode.BASELINE, SequenceTransforms.of("haar", 3, 1).layout(), 8, 4, 0, "", null);
        OnnxMl.ModelProto after = rewrite(plan);
        assertEquals("""
                x_stamp_levels = ai.stamp.TokenPrecision_identity_l3_s1_b8-4_band(x)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x, x_stamp_levels)
                y = MatMul(x_stamp_q, W)""", dump(after));
        assertEquals(List.of("TokenPrecision_identity_l3_s1_b8-4_band", "MixedPrecisionQdq"),
                after.getFunctionsList().stream().map(OnnxMl.FunctionProto::getName).toList());
        float[] levels = assertMatchesReference(after, plan);
        // S = 17, sink 1, blocks of 8: 1 + ceil(16 / 8) = 3 high tokens, in front
        float[] expected = new float[(int) SEQ];
        java.util.Arrays.fill(expected, LO);
        expected[0] = expected[1] = expected[2] = HI;
        assertArrayEquals(expected, levels);
    }

    @Test
    void stampQuantizesTheSinkAndTheApproximationCoefficientsHigh() {
        TokenPlan plan = new TokenPlan(StampConfig.Mode.STAMP, SequenceTransforms.of("haar", 3, 1).layout(), 8, 4, 0, "", null);
        OnnxMl.ModelProto after = rewrite(plan);
        assertEquals("""
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x, x_stamp_levels)
                y = MatMul(x_stamp_q, W)""", dump(after));
        float[] levels = assertMatchesReference(after, plan);
        for (int t = 0; t < SEQ; t++) assertEquals(t == 0 || (t - 1) % 8 == 0 ? HI : LO, levels[t], "token " + t);
    }

    @Test
    void aBitTablePlanGivesEachCoefficientItsBits() {
        TokenPlan plan = new TokenPlan(StampConfig.Mode.STAMP, SequenceTransforms.of("haar", 1, 1).layout(), 8, 4, 0, "", new int[] {6, 3});
        OnnxMl.ModelProto after = rewrite(plan);
        String tp = plan.tokenPrecision().functionName();
        assertTrue(tp.startsWith("TokenPrecision_haar1d_l1_s1_b8_e63"), tp);
        assertTrue(dump(after).startsWith("x_stamp_levels = ai.stamp." + tp + "(x)\n"), dump(after));
        float[] levels = assertMatchesReference(after, plan);
        for (int t = 0; t < SEQ; t++) assertEquals(t == 0 ? HI : (t - 1) % 2 == 0 ? 63 : 7, levels[t], "token " + t);
    }
}
