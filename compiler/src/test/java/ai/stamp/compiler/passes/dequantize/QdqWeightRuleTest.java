package ai.stamp.compiler.passes.dequantize;

import static ai.stamp.compiler.passes.dequantize.Variants.ALL;
import static ai.stamp.compiler.passes.dequantize.Variants.bytes;
import static ai.stamp.compiler.passes.dequantize.Variants.floats;
import static ai.stamp.compiler.passes.dequantize.Variants.init;
import static ai.stamp.compiler.passes.dequantize.Variants.matchAll;
import static ai.stamp.compiler.passes.dequantize.Variants.n;
import static ai.stamp.compiler.passes.dequantize.Variants.verdicts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.QuantizedGraphs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** QDQ weights: which MatMul/Gemm the rule plans, the values it computes, and what its rewrite does. */
class QdqWeightRuleTest {
    private static final OnnxMl.ModelProto QDQ = QuantizedGraphs.qdq(13);

    private static String verdictsOf(OnnxMl.ModelProto m) { return verdicts(matchAll(new QdqWeightRule(ALL), new Graph(m.getGraph()))); }

    private static QdqWeightRule.Plan planned(Match<QdqWeightRule.Plan> m) { return Variants.planned(m); }

    private static String fc1Verdict(OnnxMl.ModelProto m) {
        return Variants.verdict(new QdqWeightRule(ALL).match(new Graph(m.getGraph()), node(m, "fc1")));
    }

    private static OnnxMl.NodeProto node(OnnxMl.ModelProto m, String name) {
        return m.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void bothQdqWeightsArePlannedWithExactlyTheDequantizedValues() {
        Graph g = new Graph(QDQ.getGraph());
        Map<String, Match<QdqWeightRule.Plan>> m = matchAll(new QdqWeightRule(ALL), g);
        assertEquals("W1_dq:n/a fc1:planned relu:n/a W2_dq:n/a W2_T:n/a fc2:planned", verdicts(m));
        QdqWeightRule.Plan p1 = planned(m.get("fc1"));
        assertSame(g.nodes().get(0), p1.dequantize());
        assertEquals(TensorProto.DataType.FLOAT_VALUE, p1.value().getDataType());
        assertEquals(List.of(8L, 16L), p1.value().getDimsList());
        assertArrayEquals(Variants.dequantize(init(QDQ.getGraph(), "W1_q"), init(QDQ.getGraph(), "W1_scale"), init(QDQ.getGraph(), "W1_zp"), 1),
                Tensors.floats(p1.value()));
        // fc2 reads its weight through a Transpose; the DequantizeLinear behind it (uint8, scalar scale and zero point)
        QdqWeightRule.Plan p2 = planned(m.get("fc2"));
        assertSame(g.nodes().get(3), p2.dequantize());
        float[] w2 = Tensors.floats(p2.value());
        assertArrayEquals(Variants.dequantize(init(QDQ.getGraph(), "W2_q"), init(QDQ.getGraph(), "W2_scale"), init(QDQ.getGraph(), "W2_zp"), 1), w2);
        byte[] q2 = init(QDQ.getGraph(), "W2_q").getRawData().toByteArray();
        for (int i = 0; i < w2.length; i++) assertEquals(((q2[i] & 0xff) - 128) * 0.01f, w2[i], "exact, element " + i);
    }

    @Test
    void excludedLayersAreNotApplicable() {
        Graph g = new Graph(QDQ.getGraph());
        assertEquals("W1_dq:n/a fc1:n/a relu:n/a W2_dq:n/a W2_T:n/a fc2:planned", verdicts(matchAll(new QdqWeightRule(Variants.excluding("^fc1$")), g)));
        assertEquals("W1_dq:n/a fc1:n/a relu:n/a W2_dq:n/a W2_T:n/a fc2:n/a", verdicts(matchAll(new QdqWeightRule(Variants.excluding("fc")), g)));
    }

    @Test
    void unsupportedDequantizeLinearFormsAreNotApplicable() {
        // blocked quantization (opset 21 block_size)
        assertEquals("n/a", fc1Verdict(Variants.node(QuantizedGraphs.qdq(21), "W1_dq", b -> b.addAttribute(GraphBuilder.intAttr("block_size", 4)))));
        assertEquals("planned", fc1Verdict(Variants.node(QuantizedGraphs.qdq(21), "W1_dq", b -> b.addAttribute(GraphBuilder.intAttr("block_size", 0)))));
        // float16 scale
        TensorProto f16 = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT16_VALUE).addDims(16)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[32])).build();
        assertEquals("n/a", fc1Verdict(Variants.initializer(QDQ, "W1_scale", f16)));
        // scale, zero point or quantized weight computed at run time
        assertEquals("n/a", fc1Verdict(Variants.asInput(QDQ, "W1_scale")));
        assertEquals("n/a", fc1Verdict(Variants.asInput(QDQ, "W1_zp")));
        assertEquals("n/a", fc1Verdict(Variants.asInput(QDQ, "W1_q")));
        // int16 / int4 weights, a zero point of another type
        assertEquals("n/a", fc1Verdict(Variants.initializer(QDQ, "W1_q", bytes(TensorProto.DataType.INT16_VALUE, new byte[256], 8, 16))));
        assertEquals("n/a", fc1Verdict(Variants.initializer(QDQ, "W1_q", bytes(TensorProto.DataType.INT4_VALUE, new byte[64], 8, 16))));
        assertEquals("n/a", fc1Verdict(Variants.initializer(QDQ, "W1_zp", bytes(TensorProto.DataType.UINT8_VALUE, new byte[16], 16))));
        // per-axis scale of the wrong length for the axis
        assertEquals("n/a", fc1Verdict(Variants.node(QDQ, "W1_dq", b -> b.setAttribute(0, GraphBuilder.intAttr("axis", 0)))));
        // a DequantizeLinear of another domain
        assertEquals("n/a", fc1Verdict(Variants.node(QDQ, "W1_dq", b -> b.setDomain("com.microsoft"))));
    }

    @Test
    void perAxisAlongRowsAndANegativeAxisGiveTheSameExactValues() {
        OnnxMl.ModelProto rows = Variants.initializer(Variants.initializer(
                        Variants.node(QDQ, "W1_dq", b -> b.setAttribute(0, GraphBuilder.intAttr("axis", 0))),
                        "W1_scale", floats(new float[] {0.5f, 0.25f, 1f, 2f, 0.125f, 3f, 0.75f, 1.5f}, 8)),
                "W1_zp", bytes(TensorProto.DataType.INT8_VALUE, new byte[] {0, 1, -1, 2, -2, 3, -3, 4}, 8));
        OnnxMl.ModelProto negative = Variants.node(rows, "W1_dq", b -> b.setAttribute(0, GraphBuilder.intAttr("axis", -2)));
        float[] want = Variants.dequantize(init(rows.getGraph(), "W1_q"), init(rows.getGraph(), "W1_scale"), init(rows.getGraph(), "W1_zp"), 0);
        for (OnnxMl.ModelProto m : List.of(rows, negative)) {
            QdqWeightRule.Plan p = planned(new QdqWeightRule(ALL).match(new Graph(m.getGraph()), node(m, "fc1")));
            assertArrayEquals(want, Tensors.floats(p.value()));
        }
    }

    @Test
    void weightsThatAreNotDequantizeLinearOfConstantsAreNotApplicable() {
        // a float initializer
        GraphBuilder b = new GraphBuilder(1);
        b.input("x", 2, 4);
        b.weight("W", 1f, 4, 4);
        b.node("MatMul", "float", List.of("x", "W"), List.of("y1"));
        // a run-time operand
        b.node("MatMul", "attention", List.of("x", "y1"), List.of("y2"));
        assertEquals("float:n/a attention:n/a", verdicts(matchAll(new QdqWeightRule(ALL), new Graph(b.graph().build()))));
        // behind an op that is not shape-only
        OnnxMl.ModelProto scaled = Variants.insertAfter(Variants.node(QDQ, "W2_T", x -> x.setInput(0, "W2s")), "W2_dq",
                n("Mul", "W2_mul", List.of("W2t", "W2_scale"), "W2s"));
        assertEquals("W1_dq:n/a fc1:planned relu:n/a W2_dq:n/a W2_mul:n/a W2_T:n/a fc2:n/a", verdictsOf(scaled));
        // behind two shape-only ops it is found
        OnnxMl.ModelProto twice = Variants.insertAfter(Variants.node(QDQ, "W2_T", x -> x.setInput(0, "W2i")), "W2_dq",
                n("Identity", "W2_id", List.of("W2t"), "W2i"));
        assertEquals("W1_dq:n/a fc1:planned relu:n/a W2_dq:n/a W2_id:n/a W2_T:n/a fc2:planned", verdictsOf(twice));
    }

    @Test
    void gemmAndAConstantNodeQuantizedWeightArePlannedToo() {
        OnnxMl.ModelProto gemm = Variants.node(QDQ, "fc1", b -> b.setOpType("Gemm"));
        assertEquals("planned", fc1Verdict(gemm));
        TensorProto w1q = init(QDQ.getGraph(), "W1_q");
        OnnxMl.GraphProto.Builder g = QDQ.getGraph().toBuilder();
        g.removeInitializer(0);
        g.addNode(0, OnnxMl.NodeProto.newBuilder().setOpType("Constant").setName("W1_const").addOutput("W1_q")
                .addAttribute(OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(w1q)));
        OnnxMl.ModelProto constant = QDQ.toBuilder().setGraph(g).build();
        QdqWeightRule.Plan p = planned(new QdqWeightRule(ALL).match(new Graph(constant.getGraph()), node(constant, "fc1")));
        assertArrayEquals(Variants.dequantize(w1q, init(QDQ.getGraph(), "W1_scale"), init(QDQ.getGraph(), "W1_zp"), 1), Tensors.floats(p.value()));
    }

    @Test
    void aDequantizeLinearSharedByTwoLayersIsPlannedOnce() {
        OnnxMl.ModelProto shared = Variants.insertAfter(QDQ, "fc1", n("MatMul", "fc3", List.of("x", "W1"), "h3"));
        Graph g = new Graph(shared.getGraph());
        QdqWeightRule rule = new QdqWeightRule(ALL);
        assertEquals("W1_dq:n/a fc1:planned fc3:n/a relu:n/a W2_dq:n/a W2_T:n/a fc2:planned", verdicts(matchAll(rule, g)));
        assertEquals("n/a", Variants.verdict(rule.match(g, g.nodes().get(1))), "claimed: asking again is not applicable either");
        // the claim is the rule instance's: a fresh rule plans fc3
        assertSame(g.nodes().get(0), planned(new QdqWeightRule(ALL).match(g, g.nodes().get(2))).dequantize());
    }

    @Test
    void theRewriteTurnsTheDequantizeLinearIntoAnInitializerOfItsOutputName() {
        Graph g = new Graph(QDQ.getGraph());
        QdqWeightRule rule = new QdqWeightRule(ALL);
        ModelEditor editor = new ModelEditor(QDQ);
        QdqWeightRule.Plan p = planned(rule.match(g, g.nodes().get(1)));
        rule.rewrite(p, editor.graph(g, rule.name()));
        OnnxMl.GraphProto out = editor.commit().getGraph();
        assertEquals("""
                h = MatMul(x, W1)
                hr = Relu(h)
                W2t = DequantizeLinear(W2_q, W2_scale, W2_zp)
                W2 = Transpose(W2t)
                y = MatMul(hr, W2)""", GraphDump.of(out));
        assertEquals("W1_q:INT8[8, 16] W1_scale:FLOAT[16] W1_zp:INT8[16] W2_q:UINT8[8, 16] W2_scale:FLOAT[] W2_zp:UINT8[] W1:FLOAT[8, 16]",
                Variants.inits(out), "the rule leaves the integer initializers to the pass");
        assertArrayEquals(Tensors.floats(p.value()), Tensors.floats(init(out, "W1")));
        assertEquals("dequantize-weights/qdq", rule.name());
    }
}
