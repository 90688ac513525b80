package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.passes.cleanup.UnusedInitializersPass;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A weight both branches of an If read: one stored copy in the graph that holds it; initializers nothing reads go. */
class SharedWeightsTest {
    private static final int D = 16;

    private static OnnxMl.ValueInfoProto vi(String name, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) shape.addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    private static List<TensorProto> inits(OnnxMl.GraphProto g) { return g.getInitializerList(); }

    private static OnnxMl.GraphProto branch(OnnxMl.ModelProto m, int i) { return m.getGraph().getNode(0).getAttribute(i).getG(); }

    private static List<String> readsOf(OnnxMl.GraphProto g) {
        List<String> out = new ArrayList<>();
        for (OnnxMl.NodeProto n : g.getNodeList()) out.addAll(n.getInputList());
        return out;
    }

    /** {@code m} with its outer weight copied into both branches as their own initializer (the per-branch reference). */
    private static OnnxMl.ModelProto perBranchCopies(OnnxMl.ModelProto m, String weight) {
        TensorProto w = inits(m.getGraph()).stream().filter(t -> t.getName().equals(weight)).findFirst().orElseThrow();
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder().clearInitializer();
        for (TensorProto t : inits(m.getGraph())) if (!t.getName().equals(weight)) g.addInitializer(t);
        OnnxMl.NodeProto.Builder ifNode = g.getNode(0).toBuilder();
        for (int i = 0; i < 2; i++) {
            OnnxMl.AttributeProto a = ifNode.getAttribute(i);
            ifNode.setAttribute(i, a.toBuilder().setG(a.getG().toBuilder().addInitializer(w)));
        }
        g.setNode(0, ifNode);
        return m.toBuilder().setGraph(g).build();
    }

    @Test
    void bothBranchesReadOneInt8CopyInTheMainGraph() {
        OnnxMl.ModelProto model = TinyGraphs.linearInsideIf(17, D, 3);
        StampResult r = StampCompiler.compile(model, StampConfig.defaults());
        assertEquals(List.of("then_linear", "else_linear"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        OnnxMl.GraphProto main = r.model().getGraph();
        List<TensorProto> int8 = inits(main).stream().filter(t -> t.getDataType() == TensorProto.DataType.INT8_VALUE).toList();
        assertEquals(1, int8.size(), GraphDump.of(main));
        assertTrue(inits(main).stream().noneMatch(t -> t.getName().equals("W_outer")), "the float original goes");
        for (int i = 0; i < 2; i++) {
            OnnxMl.GraphProto b = branch(r.model(), i);
            assertTrue(inits(b).stream().noneMatch(t -> t.getDimsCount() == 2), "no weight copy in branch " + i + ": " + inits(b));
            assertTrue(readsOf(b).contains(int8.get(0).getName()), "branch " + i + " reads the shared int8 weight: " + GraphDump.of(b));
        }
        // the same quantization as with a copy of the weight in each branch
        StampResult ref = StampCompiler.compile(perBranchCopies(model, "W_outer"), StampConfig.defaults());
        assertEquals(2, ref.model().getGraph().getNode(0).getAttributeList().stream()
                .mapToLong(a -> inits(a.getG()).stream().filter(t -> t.getDataType() == TensorProto.DataType.INT8_VALUE).count()).sum());
        for (boolean cond : new boolean[] {true, false}) {
            Map<String, Object> in = Map.of("x", Ort.random(5, 13, D), "cond", cond);
            float[] got = Ort.run(r.model(), in).get("y");
            assertTrue(Ort.maxRelativeError(Ort.run(ref.model(), in).get("y"), got) < 1e-5, "cond " + cond);
            assertTrue(Ort.sqnrDb(Ort.run(model, in).get("y"), got) > 10, "cond " + cond);
        }
    }

    /** main: W_q uint8 [d, d] with its scale and zero point; both branches: DequantizeLinear of them → MatMul → Relu/Sigmoid. */
    static OnnxMl.ModelProto qdqInsideIf(int d) {
        GraphBuilder outer = new GraphBuilder(1);
        outer.input("x", "seq", d);
        outer.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE).setShape(OnnxMl.TensorShapeProto.newBuilder()))));
        byte[] codes = new byte[d * d];
        new Random(5).nextBytes(codes);
        outer.graph().addInitializer(TensorProto.newBuilder().setName("W_q").setDataType(TensorProto.DataType.UINT8_VALUE).addDims(d).addDims(d)
                .setRawData(ByteString.copyFrom(codes)));
        outer.initializer("W_scale", new float[] {(float) (0.02 / Math.sqrt(d))});
        outer.graph().addInitializer(TensorProto.newBuilder().setName("W_zp").setDataType(TensorProto.DataType.UINT8_VALUE)
                .setRawData(ByteString.copyFrom(new byte[] {(byte) 128})));
        OnnxMl.GraphProto[] branches = new OnnxMl.GraphProto[2];
        String[] names = {"then", "else"}, acts = {"Relu", "Sigmoid"};
        for (int i = 0; i < 2; i++) {
            GraphBuilder b = new GraphBuilder(0);
            String w = b.node("DequantizeLinear", names[i] + "_dq", List.of("W_q", "W_scale", "W_zp"), List.of(names[i] + "_W"));
            String mm = b.node("MatMul", names[i] + "_linear", List.of("x", w), List.of(names[i] + "_mm"));
            b.node(acts[i], names[i] + "_act", List.of(mm), List.of(names[i] + "_y"));
            b.output(names[i] + "_y", "seq", d);
            branches[i] = b.graph().setName(names[i]).build();
        }
        outer.node("If", "if", List.of("cond"), List.of("y"), GraphBuilder.graphAttr("then_branch", branches[0]),
                GraphBuilder.graphAttr("else_branch", branches[1]));
        outer.output("y", "seq", d);
        return outer.model(17, 8);
    }

    @Test
    void dequantizedBranchWeightsShareOneCopyAndTheModelDoesNotGrow() {
        int d = 512;
        OnnxMl.ModelProto model = qdqInsideIf(d);
        StampConfig cfg = StampConfig.builder().dequantizeWeights(true).build();
        StampResult r = StampCompiler.compile(model, cfg);
        assertEquals(2, r.report().rewritten().size(), r.report().toJson());
        long before = model.getSerializedSize(), after = r.model().getSerializedSize();
        System.out.println("qdqInsideIf d=" + d + ": " + before + " bytes -> " + after + " bytes with --dequantize-weights");
        assertTrue(after <= 1.1 * before, before + " -> " + after);
        assertEquals(List.of("W_q", "W_scale", "W_zp"), r.report().removedInitializers().stream().map(StampReport.RemovedInitializer::name).toList());
        assertTrue(r.report().freedBytes() >= (long) d * d, "the uint8 originals: " + r.report().freedBytes());
        OnnxMl.GraphProto main = r.model().getGraph();
        assertEquals(1, inits(main).stream().filter(t -> t.getDimsCount() == 2).count(), "one stored weight: " + inits(main).stream().map(TensorProto::getName).toList());
        assertEquals(TensorProto.DataType.INT8_VALUE, inits(main).stream().filter(t -> t.getDimsCount() == 2).findFirst().orElseThrow().getDataType());
        for (int i = 0; i < 2; i++) assertTrue(inits(branch(r.model(), i)).stream().noneMatch(t -> t.getDimsCount() == 2), "branch " + i);
        for (boolean cond : new boolean[] {true, false}) {
            Map<String, Object> in = Map.of("x", Ort.random(7, 9, d), "cond", cond);
            assertTrue(Ort.sqnrDb(Ort.run(model, in).get("y"), Ort.run(r.model(), in).get("y")) > 10, "cond " + cond);
        }
    }

    @Test
    void anOuterWeightAlsoReadByANodeLeftAloneStays() {
        OnnxMl.ModelProto m = TinyGraphs.linearInsideIf(17, D, 3);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("Identity").setName("keep").addInput("W_outer").addOutput("w_copy"));
        g.addOutput(vi("w_copy", D, D));
        OnnxMl.ModelProto model = m.toBuilder().setGraph(g).build();
        StampResult r = StampCompiler.compile(model, StampConfig.defaults());
        assertEquals(2, r.report().rewritten().size());
        OnnxMl.GraphProto main = r.model().getGraph();
        assertTrue(inits(main).stream().anyMatch(t -> t.getName().equals("W_outer")), "still read by 'keep'");
        for (StampReport.Layer l : r.report().rewritten()) assertTrue(l.detail().endsWith("; original 'W_outer' kept (outer-scope initializer)"), l.detail());
        assertEquals(1, inits(main).stream().filter(t -> t.getDataType() == TensorProto.DataType.INT8_VALUE).count());
        Map<String, Object> in = Map.of("x", Ort.random(5, 13, D), "cond", true);
        assertTrue(Ort.maxRelativeError(Ort.run(model, in).get("w_copy"), Ort.run(r.model(), in).get("w_copy")) == 0);
    }

    @Test
    void unusedInitializersGoExceptInputDefaults() {
        OnnxMl.ModelProto m = TinyGraphs.linearInsideIf(17, D, 3);
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        g.addInitializer(ai.stamp.compiler.ir.Tensors.floatTensor(new float[] {1, 2, 3}, 3).toBuilder().setName("unused"));
        g.addInitializer(ai.stamp.compiler.ir.Tensors.floatTensor(new float[] {4, 5}, 2).toBuilder().setName("default_in"));
        g.addInput(vi("default_in", 2));
        OnnxMl.ModelProto model = m.toBuilder().setGraph(g).build();
        UnusedInitializersPass pass = new UnusedInitializersPass();
        UnusedInitializersPass.Plan plan = pass.plan(model);
        assertEquals(List.of("unused"), plan.removals().stream().map(UnusedInitializersPass.Removal::name).toList());
        assertTrue(plan.bytes() >= 12, "bytes " + plan.bytes());
        StampResult r = StampCompiler.compile(model, StampConfig.defaults());
        List<String> names = inits(r.model().getGraph()).stream().map(TensorProto::getName).toList();
        assertTrue(names.contains("default_in"), names.toString());
        assertTrue(!names.contains("unused") && !names.contains("W_outer"), names.toString());
        assertEquals(List.of("unused"), r.report().removedInitializers().stream().map(StampReport.RemovedInitializer::name).toList(),
                "W_outer goes with the layers that read it, the rest in the last pass");
        assertEquals(plan.bytes(), r.report().freedBytes());
        assertEquals(List.of(), StampCompiler.prepare(model, StampConfig.defaults(), ai.stamp.compiler.io.ExternalWeights.NONE)
                .plan(ai.stamp.compiler.calibration.CalibrationStats.NONE).report().removedInitializers(), "a plan removes nothing yet");
        assertEquals(List.of(), pass.plan(r.model()).removals(), "nothing left to remove");
    }
}
