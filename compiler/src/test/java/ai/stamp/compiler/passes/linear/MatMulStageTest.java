package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.dump;
import static ai.stamp.compiler.passes.linear.LinearFixtures.layer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.testmodels.GraphBuilder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * MatMulStage on its own: the product, L^T on the output side when the input is still in coefficients, and Gemm's
 * alpha/beta/bias after it; the layer's output keeps its name. Transform-only plans, so ORT must match exactly.
 */
class MatMulStageTest {
    private static final int D = 8;
    private static final int N = 4;

    private static OnnxMl.ModelProto matmul() {
        GraphBuilder g = new GraphBuilder(2);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, N)), List.of("y"));
        g.node("Relu", "act", List.of("y"), List.of("z"));
        g.output("z", "batch", "seq", N);
        return g.model(13, 8);
    }

    /** x [seq, D] -> Gemm 'fc' (alpha, beta, transB; C [N] when {@code bias}) -> y -> Relu -> z. */
    private static OnnxMl.ModelProto gemm(float alpha, float beta, boolean transB, boolean bias) {
        GraphBuilder g = new GraphBuilder(3);
        g.input("x", "seq", D);
        String w = transB ? g.weight("W", 0.5f, N, D) : g.weight("W", 0.5f, D, N);
        List<String> in = bias ? List.of("x", w, g.weight("C", 0.5f, N)) : List.of("x", w);
        g.node("Gemm", "fc", in, List.of("y"), GraphBuilder.floatAttr("alpha", alpha), GraphBuilder.floatAttr("beta", beta),
                GraphBuilder.intAttr("transB", transB ? 1 : 0));
        g.node("Relu", "act", List.of("y"), List.of("z"));
        g.output("z", "seq", N);
        return g.model(13, 8);
    }

    private static TokenPlan tokens(StampConfig.Mode mode) {
        return new TokenPlan(mode, SequenceTransforms.of("haar", 3, 1).layout(), 8, 4, 0, "", null);
    }

    private record Emitted(OnnxMl.ModelProto model, List<NodeProto> nodes) {}

    /**
     * The layer as the rule emits it with an unchanged weight: the forward transform when the plan transforms and the
     * inverse is not on the input side (else the input is X itself, as if already restored), the Transpose of a transB
     * weight, then the stage.
     */
    private static Emitted emit(OnnxMl.ModelProto model, TokenPlan tokens, boolean inverseFirst) {
        LayerMatches m = LinearFixtures.matches(model);
        LinearLayer l = m.layers(m.graphs().get(0)).get(0);
        LinearFixtures.Edit e = LinearFixtures.edit(model, m, LinearLayerRule.NAME);
        SequenceTransformStage sequence = new SequenceTransformStage(e.graph(), Chunking.NONE);
        MatMulStage stage = new MatMulStage(e.graph(), sequence, ai.stamp.ops.ScaledMatMulInteger.Form.STANDARD);
        LayerPlan plan = new LayerPlan(l, new InputPlan(l.activation(), l.type(), FeaturePlan.NONE, tokens, inverseFirst, false), WeightPlan.unchanged(""));
        List<NodeProto> nodes = new ArrayList<>();
        String input = tokens.transforms() && !inverseFirst ? sequence.forward(tokens, l.type(), l.activation(), l.activation(), l.name(), nodes) : l.activation();
        String weight = l.transposeWeight() ? stage.transposed(l.weight(), l.name(), nodes) : l.weight();
        stage.emit(plan, input, weight, nodes);
        e.graph().replace(l.node(), nodes);
        return new Emitted(e.build(), nodes);
    }

    private static void assertSameOutput(OnnxMl.ModelProto before, Emitted after, long... xShape) {
        Map<String, Object> in = Map.of("x", Ort.random(4, xShape));
        float[] ref = Ort.run(before, in).get("z");
        float[] got = Ort.run(after.model(), in).get("z");
        assertTrue(Ort.maxRelativeError(ref, got) < 1e-5, "z: " + Ort.maxRelativeError(ref, got));
        long producers = after.model().getGraph().getNodeList().stream().filter(n -> n.getOutputList().contains("y")).count();
        assertEquals(1, producers, "the layer's output keeps its name");
        assertEquals("y", after.nodes().get(after.nodes().size() - 1).getOutput(0));
    }

    private static float constant(OnnxMl.ModelProto m, String name) {
        NodeProto c = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("Constant") && n.getOutput(0).equals(name))
                .findFirst().orElseThrow();
        return c.getAttribute(0).getT().getFloatData(0);
    }

    @Test
    void coefficientsInputGetsTheInverseOnTheOutputSide() {
        OnnxMl.ModelProto before = matmul();
        assertEquals("y = MatMul(x, W)\nz = Relu(y)", dump(before));
        Emitted e = emit(before, tokens(StampConfig.Mode.TRANSFORM_ONLY), false);
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                y_coeffs = MatMul(x_stamp_coeffs, W)
                y = ai.stamp.HaarSequenceInverse_l3_s1(y_coeffs, x)
                z = Relu(y)""", dump(e.model()));
        for (long seq : new long[] {1, 6, 19}) assertSameOutput(before, e, 2, seq, D);
    }

    @Test
    void tokenInputIsMultipliedDirectly() {
        OnnxMl.ModelProto before = matmul();
        // the inverse already ran on the input side, or the plan does not transform (baseline)
        Emitted restored = emit(before, tokens(StampConfig.Mode.TRANSFORM_ONLY), true);
        assertEquals("y = MatMul(x, W)\nz = Relu(y)", dump(restored.model()));
        Emitted baseline = emit(before, tokens(StampConfig.Mode.BASELINE), false);
        assertEquals("y = MatMul(x, W)\nz = Relu(y)", dump(baseline.model()));
        String doc = baseline.model().getGraph().getNode(0).getDocString();
        assertTrue(doc.startsWith("stamp-onnx " + LinearLayerRule.NAME + " for proj"), "a new node, labelled by its maker: " + doc);
        assertSameOutput(before, baseline, 2, 7, D);
    }

    @Test
    void gemmAlphaAndBetaScaleAfterTheInverseAndTheBiasIsAddedLast() {
        OnnxMl.ModelProto before = gemm(0.5f, 2f, true, true);
        assertEquals("y = Gemm(x, W, C)\nz = Relu(y)", dump(before));
        Emitted e = emit(before, tokens(StampConfig.Mode.TRANSFORM_ONLY), false);
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                W_T = Transpose(W)
                y_coeffs = MatMul(x_stamp_coeffs, W_T)
                y_linear = ai.stamp.HaarSequenceInverse_l3_s1(y_coeffs, x)
                fc/stamp/const = Constant()
                y_alpha = Mul(y_linear, fc/stamp/const)
                fc/stamp/const_1 = Constant()
                C_beta = Mul(C, fc/stamp/const_1)
                y = Add(y_alpha, C_beta)
                z = Relu(y)""", dump(e.model()));
        assertEquals(0.5f, constant(e.model(), "fc/stamp/const"));
        assertEquals(2f, constant(e.model(), "fc/stamp/const_1"));
        NodeProto transpose = e.nodes().get(1);
        assertEquals(List.of(1L, 0L), java.util.Arrays.stream(Attrs.ints(transpose, "perm")).boxed().toList());
        for (long seq : new long[] {3, 10}) assertSameOutput(before, e, seq, D);
    }

    @Test
    void gemmTailHasOnlyTheOpsItNeeds() {
        // alpha = beta = 1: the bias Add only
        OnnxMl.ModelProto plain = gemm(1f, 1f, false, true);
        Emitted p = emit(plain, tokens(StampConfig.Mode.BASELINE), false);
        assertEquals("y_linear = MatMul(x, W)\ny = Add(y_linear, C)\nz = Relu(y)", dump(p.model()));
        assertSameOutput(plain, p, 9, D);
        // alpha without a bias: the Mul writes the output
        OnnxMl.ModelProto scaled = gemm(2f, 1f, false, false);
        Emitted s = emit(scaled, tokens(StampConfig.Mode.TRANSFORM_ONLY), false);
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                y_coeffs = MatMul(x_stamp_coeffs, W)
                y_linear = ai.stamp.HaarSequenceInverse_l3_s1(y_coeffs, x)
                fc/stamp/const = Constant()
                y = Mul(y_linear, fc/stamp/const)
                z = Relu(y)""", dump(s.model()));
        assertSameOutput(scaled, s, 9, D);
        // beta without a bias scales nothing
        OnnxMl.ModelProto beta = gemm(1f, 3f, false, false);
        Emitted b = emit(beta, tokens(StampConfig.Mode.BASELINE), false);
        assertEquals("y = MatMul(x, W)\nz = Relu(y)", dump(b.model()));
        assertSameOutput(beta, b, 9, D);
    }
}
