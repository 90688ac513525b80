package ai.stamp.compiler.passes.dequantize;

import static ai.stamp.compiler.passes.dequantize.Variants.ALL;
import static ai.stamp.compiler.passes.dequantize.Variants.init;
import static ai.stamp.compiler.passes.dequantize.Variants.inits;
import static ai.stamp.compiler.passes.dequantize.Variants.n;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.PassManager;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.QuantizedGraphs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The whole --dequantize-weights pass: both rules per graph, then the clean-up of what they leave unread. */
class DequantizeWeightsPassTest {
    private static final OnnxMl.ModelProto QDQ = QuantizedGraphs.qdq(13);
    private static final OnnxMl.ModelProto DYNAMIC = QuantizedGraphs.dynamic(13);
    private static final Ort.Tensor X = Ort.random(3, 2, 5, 8);

    private static OnnxMl.ModelProto run(OnnxMl.ModelProto m, LayerSelection selection) {
        return new PassManager(new ModelEditor(m)).run(new DequantizeWeightsPass(selection));
    }

    private static OnnxMl.ModelProto run(OnnxMl.ModelProto m) { return run(m, ALL); }

    private static float[] y(OnnxMl.ModelProto m, Ort.Tensor x) { return Ort.run(m, Map.of("x", x)).get("y"); }

    /** x as DynamicQuantizeLinear sees it: quantized to uint8 with its own per-tensor scale and zero point, and back. */
    private static Ort.Tensor dynamicallyQuantized(Ort.Tensor x) {
        float min = 0, max = 0;
        for (float v : x.data()) { min = Math.min(min, v); max = Math.max(max, v); }
        float scale = (max - min) / 255f;
        int zp = (int) Math.rint(Math.max(0f, Math.min(255f, 0 - min / scale)));
        float[] out = new float[x.data().length];
        for (int i = 0; i < out.length; i++) {
            int q = (int) Math.max(0, Math.min(255, Math.rint(x.data()[i] / scale) + zp));
            out[i] = (q - zp) * scale;
        }
        return new Ort.Tensor(out, x.shape());
    }

    @Test
    void qdqWeightsBecomeTheirExactFloatValuesAndTheOutputsAreIdentical() throws Exception {
        byte[] input = QDQ.toByteArray();
        DequantizeWeightsPass pass = new DequantizeWeightsPass(ALL);
        DequantizeWeightsPass.Plan plan = pass.plan(QDQ);
        assertEquals(2, plan.weights());
        assertEquals(1, plan.graphs().size());
        OnnxMl.ModelProto after = new PassManager(new ModelEditor(QDQ)).apply(pass, plan);
        assertEquals("""
                W1 = DequantizeLinear(W1_q, W1_scale, W1_zp)
                h = MatMul(x, W1)
                hr = Relu(h)
                W2t = DequantizeLinear(W2_q, W2_scale, W2_zp)
                W2 = Transpose(W2t)
                y = MatMul(hr, W2)""", GraphDump.of(QDQ.getGraph()));
        assertEquals("""
                h = MatMul(x, W1)
                hr = Relu(h)
                W2 = Transpose(W2t)
                y = MatMul(hr, W2)""", GraphDump.of(after.getGraph()));
        assertEquals("W1:FLOAT[8, 16] W2t:FLOAT[8, 16]", inits(after.getGraph()), "every integer initializer and scale is dropped");
        OnnxMl.GraphProto g = QDQ.getGraph();
        assertArrayEquals(Variants.dequantize(init(g, "W1_q"), init(g, "W1_scale"), init(g, "W1_zp"), 1), Tensors.floats(init(after.getGraph(), "W1")));
        assertArrayEquals(Variants.dequantize(init(g, "W2_q"), init(g, "W2_scale"), init(g, "W2_zp"), 1), Tensors.floats(init(after.getGraph(), "W2t")));
        assertArrayEquals(y(QDQ, X), y(after, X), "ORT computes DequantizeLinear as (q - zp) * scale too");
        assertArrayEquals(input, QDQ.toByteArray(), "the input model is not modified");
    }

    @Test
    void dynamicQuantizationBecomesFloatMatMulsThatDifferOnlyByTheActivationQuantization() {
        OnnxMl.ModelProto after = run(DYNAMIC);
        assertEquals("""
                q_out = MatMul(x, Wq_q_dequantized)
                k_out = MatMul(x, Wk_q_dequantized)
                y = Add(q_out, k_out)""", GraphDump.of(after.getGraph()));
        assertEquals(List.of("q", "k", "sum"), after.getGraph().getNodeList().stream().map(OnnxMl.NodeProto::getName).toList());
        assertEquals("Wq_q_dequantized:FLOAT[8, 8] Wk_q_dequantized:FLOAT[8, 8]", inits(after.getGraph()),
                "the DynamicQuantizeLinear and every integer initializer and scale go");
        assertEquals("stamp-onnx dequantize-weights/dynamic for k: was DynamicQuantizeLinear + MatMulInteger 'k'",
                after.getGraph().getNode(1).getDocString());
        float[] quantized = y(DYNAMIC, X);
        double sqnr = Ort.sqnrDb(y(after, X), quantized);
        assertTrue(sqnr > 30, "SQNR " + sqnr);
        // fed x already through the uint8 round trip DynamicQuantizeLinear does, the float model gives the quantized model's output
        double err = Ort.maxRelativeError(quantized, y(after, dynamicallyQuantized(X)));
        assertTrue(err < 1e-5, "max relative error " + err);
    }

    @Test
    void aQuantizerStillReadByAnExcludedLayerStaysAndSoDoItsInitializers() {
        OnnxMl.ModelProto after = run(DYNAMIC, Variants.excluding("^k$"));
        assertEquals("""
                x_q,x_scale,x_zp = DynamicQuantizeLinear(x)
                q_out = MatMul(x, Wq_q_dequantized)
                k_int = MatMulInteger(x_q, Wk_q, x_zp, Wk_zp)
                k_f = Cast(k_int)
                k_scale = Mul(x_scale, Wk_scale)
                k_out = Mul(k_f, k_scale)
                y = Add(q_out, k_out)""", GraphDump.of(after.getGraph()));
        assertEquals("Wk_q:INT8[8, 8] Wk_scale:FLOAT[8] Wk_zp:INT8[8] Wq_q_dequantized:FLOAT[8, 8]", inits(after.getGraph()));
        double sqnr = Ort.sqnrDb(y(after, X), y(DYNAMIC, X));
        assertTrue(sqnr > 30, "SQNR " + sqnr);
    }

    @Test
    void aScaleMulReadElsewhereKeepsItsQuantizerAndWeightScale() {
        OnnxMl.ModelProto shared = Variants.addOutput(
                Variants.insertAfter(DYNAMIC, "q_out_mul", n("Identity", "scale_tap", List.of("q_scale"), "q_scale_tap")), "q_scale_tap");
        OnnxMl.ModelProto after = run(shared);
        assertEquals("""
                x_q,x_scale,x_zp = DynamicQuantizeLinear(x)
                q_scale = Mul(x_scale, Wq_scale)
                q_out = MatMul(x, Wq_q_dequantized)
                q_scale_tap = Identity(q_scale)
                k_out = MatMul(x, Wk_q_dequantized)
                y = Add(q_out, k_out)""", GraphDump.of(after.getGraph()));
        assertEquals("Wq_scale:FLOAT[] Wq_q_dequantized:FLOAT[8, 8] Wk_q_dequantized:FLOAT[8, 8]", inits(after.getGraph()));
        Map<String, float[]> before = Ort.run(shared, Map.of("x", X));
        Map<String, float[]> got = Ort.run(after, Map.of("x", X));
        assertArrayEquals(before.get("q_scale_tap"), got.get("q_scale_tap"));
        assertTrue(Ort.sqnrDb(got.get("y"), before.get("y")) > 30);
    }

    @Test
    void aMatMulIntegerWithoutTheActivationZeroPointIsLeftAlone() {
        // MatMulInteger(x_q, Wq_q) multiplies the raw uint8 codes (x / scale + zero point): a float MatMul(x, W) would not be that
        OnnxMl.ModelProto noZp = Variants.node(DYNAMIC, "q", b -> b.clearInput().addInput("x_q").addInput("Wq_q"));
        OnnxMl.ModelProto after = run(noZp);
        assertEquals("""
                x_q,x_scale,x_zp = DynamicQuantizeLinear(x)
                q_int = MatMulInteger(x_q, Wq_q)
                q_f = Cast(q_int)
                q_scale = Mul(x_scale, Wq_scale)
                q_out = Mul(q_f, q_scale)
                k_out = MatMul(x, Wk_q_dequantized)
                y = Add(q_out, k_out)""", GraphDump.of(after.getGraph()));
        double sqnr = Ort.sqnrDb(y(after, X), y(noZp, X));
        assertTrue(sqnr > 30, "SQNR " + sqnr);
    }

    @Test
    void sharedIntegerInitializersStayWhileTheOnesOnlyRemovedNodesReadGo() {
        // W2_q, W2_scale, W2_zp are also read by a DequantizeLinear that is no layer's weight (a graph output)
        OnnxMl.ModelProto tap = Variants.addOutput(Variants.insertAfter(QDQ, "W2_dq",
                n("DequantizeLinear", "W2_tap", List.of("W2_q", "W2_scale", "W2_zp"), "W2_tapped")), "W2_tapped");
        OnnxMl.ModelProto after = run(tap);
        assertEquals("""
                h = MatMul(x, W1)
                hr = Relu(h)
                W2_tapped = DequantizeLinear(W2_q, W2_scale, W2_zp)
                W2 = Transpose(W2t)
                y = MatMul(hr, W2)""", GraphDump.of(after.getGraph()));
        assertEquals("W2_q:UINT8[8, 16] W2_scale:FLOAT[] W2_zp:UINT8[] W1:FLOAT[8, 16] W2t:FLOAT[8, 16]", inits(after.getGraph()));
        Map<String, float[]> before = Ort.run(tap, Map.of("x", X));
        Map<String, float[]> got = Ort.run(after, Map.of("x", X));
        assertArrayEquals(before.get("y"), got.get("y"));
        assertArrayEquals(before.get("W2_tapped"), got.get("W2_tapped"));
        // one MatMulInteger weight read by a converted and an excluded layer stays for the excluded one (Wq_zp and
        // Wq_scale, read by q only, go; Wk_q, unread before the pass already, is none of its business)
        OnnxMl.ModelProto sharedW = Variants.node(DYNAMIC, "k", b -> b.setInput(1, "Wq_q"));
        assertEquals("Wq_q:INT8[8, 8] Wk_q:INT8[8, 8] Wk_scale:FLOAT[8] Wk_zp:INT8[8] Wq_q_dequantized:FLOAT[8, 8]",
                inits(run(sharedW, Variants.excluding("^k$")).getGraph()));
    }

    @Test
    void aDequantizeLinearSharedByTwoLayersIsOneInitializerBothRead() {
        OnnxMl.ModelProto shared = Variants.addOutput(Variants.insertAfter(QDQ, "fc1", n("MatMul", "fc3", List.of("x", "W1"), "h3")), "h3");
        DequantizeWeightsPass.Plan plan = new DequantizeWeightsPass(ALL).plan(shared);
        assertEquals(2, plan.weights(), "W1_dq once, W2_dq once");
        OnnxMl.ModelProto after = run(shared);
        assertEquals("""
                h = MatMul(x, W1)
                h3 = MatMul(x, W1)
                hr = Relu(h)
                W2 = Transpose(W2t)
                y = MatMul(hr, W2)""", GraphDump.of(after.getGraph()));
        assertEquals("W1:FLOAT[8, 16] W2t:FLOAT[8, 16]", inits(after.getGraph()));
        Map<String, float[]> before = Ort.run(shared, Map.of("x", X));
        Map<String, float[]> got = Ort.run(after, Map.of("x", X));
        assertArrayEquals(before.get("y"), got.get("y"));
        assertArrayEquals(before.get("h3"), got.get("h3"));
    }

    @Test
    void outerScopeWeightsDequantizedInABranchGoToTheOuterGraphOnce() {
        // main: Wq_outer (int8) and its scale; then: DequantizeLinear(Wq_outer) → MatMul; else: its own Wq_inner → MatMul
        GraphBuilder outer = new GraphBuilder(1);
        outer.input("x", "seq", 4);
        outer.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE).setShape(OnnxMl.TensorShapeProto.newBuilder()))));
        byte[] codes = new byte[16];
        for (int i = 0; i < 16; i++) codes[i] = (byte) (i * 13 - 100);
        outer.graph().addInitializer(Variants.bytes(TensorProto.DataType.INT8_VALUE, codes, 4, 4).toBuilder().setName("Wq_outer"));
        outer.graph().addInitializer(Variants.floats(new float[] {0.05f}).toBuilder().setName("s_outer"));
        OnnxMl.GraphProto then = OnnxMl.GraphProto.newBuilder().setName("then")
                .addNode(n("DequantizeLinear", "then_dq", List.of("Wq_outer", "s_outer"), "W_then"))
                .addNode(n("MatMul", "then_linear", List.of("x", "W_then"), "then_y"))
                .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("then_y")).build();
        OnnxMl.GraphProto otherwise = OnnxMl.GraphProto.newBuilder().setName("else")
                .addInitializer(Variants.bytes(TensorProto.DataType.UINT8_VALUE, codes, 4, 4).toBuilder().setName("Wq_inner"))
                .addInitializer(Variants.floats(new float[] {0.02f}).toBuilder().setName("s_inner"))
                .addNode(n("DequantizeLinear", "else_dq", List.of("Wq_inner", "s_inner"), "W_else"))
                .addNode(n("MatMul", "else_linear", List.of("x", "W_else"), "else_y"))
                .addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("else_y")).build();
        outer.node("If", "if", List.of("cond"), List.of("y"), GraphBuilder.graphAttr("then_branch", then), GraphBuilder.graphAttr("else_branch", otherwise));
        outer.output("y", "seq", 4);
        OnnxMl.ModelProto m = outer.model(13, 8);
        DequantizeWeightsPass.Plan plan = new DequantizeWeightsPass(ALL).plan(m);
        assertEquals(List.of("main/0:then_branch", "main/0:else_branch"), plan.graphs().stream().map(g -> g.graph().scope()).toList());
        OnnxMl.ModelProto after = run(m);
        // the float copy goes where its integers are (shared by any body that dequantizes them); the integers stay
        // for the unused-initializer clean-up at the end of the compile
        assertEquals("Wq_outer:INT8[4, 4] s_outer:FLOAT[] W_then_1:FLOAT[4, 4]", inits(after.getGraph()));
        OnnxMl.NodeProto ifNode = after.getGraph().getNode(0);
        OnnxMl.GraphProto thenAfter = ifNode.getAttribute(0).getG();
        OnnxMl.GraphProto elseAfter = ifNode.getAttribute(1).getG();
        assertEquals("W_then = Identity(W_then_1)\nthen_y = MatMul(x, W_then)", GraphDump.of(thenAfter));
        assertEquals("", inits(thenAfter));
        assertEquals("else_y = MatMul(x, W_else)", GraphDump.of(elseAfter));
        assertEquals("W_else:FLOAT[4, 4]", inits(elseAfter), "the branch's own integer initializers go");
        Ort.Tensor x = Ort.random(4, 6, 4);
        for (boolean cond : new boolean[] {true, false}) {
            assertArrayEquals(Ort.run(m, Map.of("x", x, "cond", cond)).get("y"), Ort.run(after, Map.of("x", x, "cond", cond)).get("y"), "cond " + cond);
        }
    }

    @Test
    void aModelWithoutQuantizedWeightsIsLeftAsItIs() {
        OnnxMl.ModelProto m = ai.stamp.testmodels.TinyGraphs.linearInsideIf(17, 4, 1);
        DequantizeWeightsPass pass = new DequantizeWeightsPass(ALL);
        assertEquals(0, pass.plan(m).weights());
        assertEquals(List.of(), pass.plan(m).graphs());
        assertSame(m, run(m));
        assertSame(QDQ, run(QDQ, Variants.excluding("fc")), "every layer excluded: nothing changes");
        assertEquals("dequantize-weights", pass.name());
    }
}
