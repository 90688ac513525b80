package ai.stamp.compiler.passes.dequantize;

import static ai.stamp.compiler.passes.dequantize.Variants.ALL;
import static ai.stamp.compiler.passes.dequantize.Variants.init;
import static ai.stamp.compiler.passes.dequantize.Variants.matchAll;
import static ai.stamp.compiler.passes.dequantize.Variants.n;
import static ai.stamp.compiler.passes.dequantize.Variants.planned;
import static ai.stamp.compiler.passes.dequantize.Variants.verdicts;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.QuantizedGraphs;
import java.util.List;
import org.junit.jupiter.api.Test;

/** quantize_dynamic's DynamicQuantizeLinear → MatMulInteger → Cast → Mul(scale) back to a float MatMul. */
class DynamicQuantMatMulRuleTest {
    private static final OnnxMl.ModelProto DYNAMIC = QuantizedGraphs.dynamic(13);
    private static final String BOTH = "x_quant:n/a q:planned q_cast:n/a q_scales_mul:n/a q_out_mul:n/a "
            + "k:planned k_cast:n/a k_scales_mul:n/a k_out_mul:n/a sum:n/a";

    private static String verdictsOf(OnnxMl.ModelProto m) {
        return verdicts(matchAll(new DynamicQuantMatMulRule(ALL), new Graph(m.getGraph())));
    }

    private static String qVerdict(OnnxMl.ModelProto m) {
        Graph g = new Graph(m.getGraph());
        return Variants.verdict(new DynamicQuantMatMulRule(ALL).match(g, node(g, "q")));
    }

    private static NodeProto node(Graph g, String name) {
        return g.nodes().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
    }

    private static List<String> names(List<NodeProto> nodes) { return nodes.stream().map(NodeProto::getName).toList(); }

    @Test
    void bothMatMulIntegersArePlannedWithTheNodesTheyReplaceAndExactWeights() {
        Graph g = new Graph(DYNAMIC.getGraph());
        var m = matchAll(new DynamicQuantMatMulRule(ALL), g);
        assertEquals(BOTH, verdicts(m));
        DynamicQuantMatMulRule.Plan q = planned(m.get("q"));
        assertSame(node(g, "q"), q.matMulInteger());
        assertSame(node(g, "x_quant"), q.quantizer());
        assertSame(node(g, "q_out_mul"), q.outputMul());
        assertEquals(List.of("q", "q_cast", "q_out_mul", "q_scales_mul"), names(q.removed()));
        assertEquals(List.of("Wq_q", "Wq_zp", "Wq_scale"), q.freedInputs());
        assertEquals(List.of(8L, 8L), q.weight().getDimsList());
        assertEquals("", q.weight().getName());
        float[] wq = Tensors.floats(q.weight());
        byte[] raw = init(DYNAMIC.getGraph(), "Wq_q").getRawData().toByteArray();
        for (int i = 0; i < wq.length; i++) assertEquals(raw[i] * 0.02f, wq[i], "per-tensor, zero point 0: element " + i);
        // k: per-column scale and zero point (axis 1 of [K, N])
        DynamicQuantMatMulRule.Plan k = planned(m.get("k"));
        assertEquals(List.of("k", "k_cast", "k_out_mul", "k_scales_mul"), names(k.removed()));
        assertArrayEquals(Variants.dequantize(init(DYNAMIC.getGraph(), "Wk_q"), init(DYNAMIC.getGraph(), "Wk_scale"),
                init(DYNAMIC.getGraph(), "Wk_zp"), 1), Tensors.floats(k.weight()));
    }

    @Test
    void excludedMatMulIntegersAreNotApplicable() {
        Graph g = new Graph(DYNAMIC.getGraph());
        assertEquals(BOTH.replace("q:planned", "q:n/a"), verdicts(matchAll(new DynamicQuantMatMulRule(Variants.excluding("^q$")), g)));
    }

    @Test
    void anIntermediateReadByAnotherNodeOrTheGraphIsNotApplicable() {
        // the MatMulInteger's output read twice
        assertEquals("n/a", qVerdict(Variants.insertAfter(DYNAMIC, "q", n("Identity", "q_tap", List.of("q_int"), "q_int_tap"))));
        assertEquals("n/a", qVerdict(Variants.addOutput(DYNAMIC, "q_int")));
        // the Cast's output read twice
        assertEquals("n/a", qVerdict(Variants.insertAfter(DYNAMIC, "q_cast", n("Identity", "f_tap", List.of("q_f"), "q_f_tap"))));
        assertEquals("n/a", qVerdict(Variants.addOutput(DYNAMIC, "q_f")));
    }

    @Test
    void aScaleMulReadElsewhereIsKept() {
        for (OnnxMl.ModelProto m : List.of(
                Variants.insertAfter(DYNAMIC, "q_out_mul", n("Identity", "scale_tap", List.of("q_scale"), "q_scale_tap")),
                Variants.addOutput(DYNAMIC, "q_scale"))) {
            Graph g = new Graph(m.getGraph());
            DynamicQuantMatMulRule.Plan q = planned(new DynamicQuantMatMulRule(ALL).match(g, node(g, "q")));
            assertEquals(List.of("q", "q_cast", "q_out_mul"), names(q.removed()));
            assertEquals(List.of("Wq_q", "Wq_zp"), q.freedInputs(), "its weight scale is still read");
        }
    }

    @Test
    void zeroPointsMustBeTheQuantizersAndConstant() {
        // no activation zero point: MatMulInteger then computes with the raw uint8 codes, not x / scale
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q", b -> b.clearInput().addInput("x_q").addInput("Wq_q"))));
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q", b -> b.clearInput().addInput("x_q").addInput("Wq_q").addInput("").addInput("Wq_zp"))));
        // another activation zero point
        OnnxMl.ModelProto otherZp = Variants.node(DYNAMIC, "q", b -> b.setInput(2, "some_zp"));
        assertEquals("n/a", qVerdict(otherZp));
        // no weight zero point (0): fine, nothing to free for it
        OnnxMl.ModelProto noWzp = Variants.node(DYNAMIC, "q", b -> b.clearInput().addInput("x_q").addInput("Wq_q").addInput("x_zp"));
        Graph g = new Graph(noWzp.getGraph());
        DynamicQuantMatMulRule.Plan p = planned(new DynamicQuantMatMulRule(ALL).match(g, node(g, "q")));
        assertEquals(List.of("Wq_q", "Wq_scale"), p.freedInputs());
        // a weight zero point known only at run time
        assertEquals("n/a", qVerdict(Variants.asInput(DYNAMIC, "Wq_zp")));
    }

    @Test
    void unsupportedScalesWeightsAndCastsAreNotApplicable() {
        assertEquals("n/a", qVerdict(Variants.asInput(DYNAMIC, "Wq_scale")), "a run-time weight scale");
        TensorProto f16 = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .setRawData(com.google.protobuf.ByteString.copyFrom(new byte[2])).build();
        assertEquals("n/a", qVerdict(Variants.initializer(DYNAMIC, "Wq_scale", f16)), "a float16 weight scale");
        assertEquals("n/a", qVerdict(Variants.asInput(DYNAMIC, "Wq_q")), "a run-time weight");
        assertEquals("n/a", qVerdict(Variants.initializer(DYNAMIC, "Wq_q", Variants.bytes(TensorProto.DataType.INT8_VALUE, new byte[64], 2, 4, 8))),
                "a rank-3 weight");
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q_cast", b -> b.setAttribute(0, GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT16_VALUE)))),
                "a Cast to float16");
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q_scales_mul", b -> b.setInput(0, "Wk_scale"))), "a scale Mul without x_scale");
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q_out_mul", b -> b.setOpType("Add"))), "no output Mul");
        // the activation does not come from a DynamicQuantizeLinear
        OnnxMl.ModelProto plain = DYNAMIC.toBuilder().setGraph(DYNAMIC.getGraph().toBuilder().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("u8"))).build();
        assertEquals("n/a", qVerdict(Variants.node(plain, "q", b -> b.setInput(0, "u8"))));
        assertEquals("n/a", qVerdict(Variants.node(DYNAMIC, "q", b -> b.setDomain("com.microsoft"))));
    }

    @Test
    void theRewriteIsOneMatMulUnderTheMatMulIntegersNameAtTheOutputMulsPosition() {
        Graph g = new Graph(DYNAMIC.getGraph());
        DynamicQuantMatMulRule rule = new DynamicQuantMatMulRule(ALL);
        ModelEditor editor = new ModelEditor(DYNAMIC);
        rule.rewrite(planned(rule.match(g, node(g, "q"))), editor.graph(g, rule.name()));
        OnnxMl.GraphProto out = editor.commit().getGraph();
        assertEquals("""
                x_q,x_scale,x_zp = DynamicQuantizeLinear(x)
                q_out = MatMul(x, Wq_q_dequantized)
                k_int = MatMulInteger(x_q, Wk_q, x_zp, Wk_zp)
                k_f = Cast(k_int)
                k_scale = Mul(x_scale, Wk_scale)
                k_out = Mul(k_f, k_scale)
                y = Add(q_out, k_out)""", GraphDump.of(out));
        NodeProto mm = out.getNode(1);
        assertEquals("q", mm.getName());
        assertEquals("stamp-onnx dequantize-weights/dynamic for q: was DynamicQuantizeLinear + MatMulInteger 'q'", mm.getDocString());
        // the quantizer and the integer initializers are the pass's to drop
        assertEquals(Variants.inits(DYNAMIC.getGraph()) + " Wq_q_dequantized:FLOAT[8, 8]", Variants.inits(out));
    }
}
