package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.StampConfig.WeightQuant;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.testmodels.GraphBuilder;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Weights stored the way exporters store them (PyTorch's {@code Linear} as a Transpose of W [N, D], a Constant node,
 * a Reshape, a float16 initializer behind a Cast) are quantized as a float initializer of their folded values would
 * be, in every stored form, and the chain that computed them goes unless something else reads it.
 */
class WeightChainsTest {
    private static final int D = 32;
    private static final int N = 16;

    /** How the MatMul's weight "W" [D, N] is stored. */
    enum Chain {
        /** torch.onnx's Linear without constant folding: W = Transpose(fc.weight [N, D]). */
        LINEAR_EXPORT,
        /** W = Constant(value = [D, N]). */
        CONSTANT_NODE,
        /** W = Reshape(W_flat [D * N], W_shape). */
        RESHAPED,
        /** W = Cast(W16 [D, N] float16, to = float). */
        FLOAT16_CAST
    }

    /** x [batch, seq, D] -> MatMul 'proj' (x, W) -> Add b -> y, W stored as {@code chain}; {@code extra} may add readers. */
    private static OnnxMl.ModelProto model(Chain chain, int opset, Consumer<GraphBuilder> extra) {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", D);
        switch (chain) {
            case LINEAR_EXPORT -> g.node("Transpose", "weight_t", List.of(g.weight("fc.weight", 0.3f, N, D)), List.of("W"),
                    GraphBuilder.intsAttr("perm", 1, 0));
            case CONSTANT_NODE -> {
                float[] v = Ort.random(11, D, N).data();
                for (int i = 0; i < v.length; i++) v[i] *= 0.2f;
                g.node("Constant", "weight_const", List.of(), List.of("W"), OnnxMl.AttributeProto.newBuilder().setName("value")
                        .setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(Tensors.floatTensor(v, D, N)).build());
            }
            case RESHAPED -> g.node("Reshape", "weight_reshape", List.of(g.weight("W_flat", 0.3f, (long) D * N), g.ints("W_shape", D, N)),
                    List.of("W"));
            case FLOAT16_CAST -> {
                g.graph().addInitializer(float16("W16", new Random(5), D, N));
                g.node("Cast", "weight_cast", List.of("W16"), List.of("W"), GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT_VALUE));
            }
        }
        g.node("MatMul", "proj", List.of("x", "W"), List.of("proj_out"));
        g.node("Add", "bias", List.of("proj_out", g.weight("b", 0.5f, N)), List.of("y"));
        g.output("y", "batch", "seq", N);
        extra.accept(g);
        return g.model(opset, 8);
    }

    private static OnnxMl.ModelProto model(Chain chain, int opset) { return model(chain, opset, g -> {}); }

    /** Float16 values of magnitude 2^-5 .. 1, random signs. */
    private static TensorProto float16(String name, Random r, long... dims) {
        int n = (int) (dims[0] * dims[1]);
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putShort((short) ((r.nextBoolean() ? 0x8000 : 0) | ((10 + r.nextInt(5)) << 10) | r.nextInt(1024)));
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    /** The same model with W a plain float initializer of the values ONNX Runtime computes for it. */
    private static OnnxMl.ModelProto folded(OnnxMl.ModelProto model) {
        OnnxMl.GraphProto g = model.getGraph();
        OnnxMl.GraphProto.Builder withW = g.toBuilder().addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("W").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE))));
        float[] w = Ort.run(model.toBuilder().setGraph(withW).build(), Map.of("x", Ort.random(1, 1, 2, D))).get("W");
        OnnxMl.GraphProto.Builder f = g.toBuilder().clearNode().clearInitializer();
        for (OnnxMl.NodeProto n : g.getNodeList()) if (Set.of("proj", "bias").contains(n.getName())) f.addNode(n);
        f.addInitializer(g.getInitializerList().stream().filter(t -> t.getName().equals("b")).findFirst().orElseThrow());
        f.addInitializer(Tensors.floatTensor(w, D, N).toBuilder().setName("W"));
        return model.toBuilder().setGraph(f).build();
    }

    private static StampConfig.Builder w8a8() {
        return StampConfig.builder().weights(WeightQuant.RTN8).hiBits(8).loBits(8);
    }

    private record Config(String name, StampConfig config, CalibrationStats stats) {}

    private static List<Config> configs() {
        float[] max = new float[D];
        Random r = new Random(3);
        for (int j = 0; j < D; j++) max[j] = 0.5f + 2 * r.nextFloat();
        max[D / 2] = 20;
        CalibrationStats stats = new CalibrationStats(Map.of("x", new ActivationStats("x", D, 100, max, null, Map.of(), 0)), 1, 1);
        return List.of(new Config("integer", w8a8().emit(StampConfig.Emit.INTEGER).build(), CalibrationStats.NONE),
                new Config("simulate", w8a8().emit(StampConfig.Emit.SIMULATE).build(), CalibrationStats.NONE),
                new Config("smooth+rotate integer", w8a8().emit(StampConfig.Emit.INTEGER).smoothAlpha(0.5)
                        .rotation(StampConfig.Rotation.HADAMARD).build(), stats));
    }

    private static List<TensorProto> initializers(StampResult r) { return r.model().getGraph().getInitializerList(); }

    @Test
    void beforeAndAfterOfThePyTorchLinearExport() {
        OnnxMl.ModelProto before = model(Chain.LINEAR_EXPORT, 13);
        assertEquals("""
                W = Transpose(fc.weight)
                proj_out = MatMul(x, W)
                y = Add(proj_out, b)""", GraphDump.of(before.getGraph()));
        StampResult simulate = StampCompiler.compile(before, w8a8().emit(StampConfig.Emit.SIMULATE).build());
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-8_band(x_stamp_coeffs)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)
                W_dq = DequantizeLinear(W_rtn8, W_rtn8_scale)
                proj_out_coeffs = MatMul(x_stamp_q, W_dq)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(simulate.model().getGraph()));
        assertEquals(List.of("b", "W_rtn8", "W_rtn8_scale"), initializers(simulate).stream().map(TensorProto::getName).toList());
        assertEquals("A8/8 hi-tokens=sink+band; W8 rtn per-channel as DequantizeLinear(int8)", simulate.report().rewritten().get(0).detail());

        StampResult integer = StampCompiler.compile(model(Chain.LINEAR_EXPORT, 11), w8a8().emit(StampConfig.Emit.INTEGER).build());
        String after = GraphDump.of(integer.model().getGraph());
        assertTrue(after.contains("(x_stamp_u8, x_stamp_scale, x_stamp_zp, W_rtn8, W_rtn8_colsum, W_rtn8_scale)"), after);
        assertFalse(after.contains("Transpose"), after);
        assertEquals(List.of("b", "W_rtn8", "W_rtn8_colsum", "W_rtn8_scale"), initializers(integer).stream().map(TensorProto::getName).toList());
        assertEquals(TensorProto.DataType.INT8_VALUE, initializers(integer).get(1).getDataType());
        assertEquals(List.of((long) D, (long) N), initializers(integer).get(1).getDimsList());
    }

    @Test
    void theChainsBefore() {
        Map<Chain, String> first = Map.of(Chain.LINEAR_EXPORT, "W = Transpose(fc.weight)", Chain.CONSTANT_NODE, "W = Constant()",
                Chain.RESHAPED, "W = Reshape(W_flat, W_shape)", Chain.FLOAT16_CAST, "W = Cast(W16)");
        for (Chain c : Chain.values()) {
            assertEquals(first.get(c) + "\nproj_out = MatMul(x, W)\ny = Add(proj_out, b)", GraphDump.of(model(c, 13).getGraph()));
            // the folded reference reads the same values from a plain initializer
            assertEquals("proj_out = MatMul(x, W)\ny = Add(proj_out, b)", GraphDump.of(folded(model(c, 13)).getGraph()));
        }
    }

    @Test
    void everyChainIsQuantizedAsItsFoldedWeightInEveryFormAndOpset() {
        Map<String, Object> in = Map.of("x", Ort.random(21, 2, 24, D));
        for (Chain chain : Chain.values()) {
            for (int opset : new int[] {11, 13}) {
                OnnxMl.ModelProto model = model(chain, opset);
                OnnxMl.ModelProto reference = folded(model);
                float[] exact = Ort.run(model, in).get("y");
                for (Config c : configs()) {
                    String where = chain + " opset " + opset + " " + c.name();
                    StampResult r = StampCompiler.compile(model, c.config(), c.stats());
                    StampResult expected = StampCompiler.compile(reference, c.config(), c.stats());
                    assertEquals(1, r.report().rewritten().size(), where);
                    String detail = r.report().rewritten().get(0).detail();
                    assertFalse(detail.contains("skipped") || detail.contains("kept"), where + ": " + detail);
                    assertEquals(expected.report().rewritten().get(0).detail(), detail, where);
                    if (c.config().features().any()) assertTrue(detail.contains("smooth α=0.5") && detail.contains("rotate hadamard D=32"), detail);
                    // the same graph and initializers as from the folded float weight: the int8 values and scales, no
                    // float copy of the weight, nothing of the chain (its nodes, its source, Reshape's shape) left
                    assertEquals(GraphDump.of(expected.model().getGraph()), GraphDump.of(r.model().getGraph()), where);
                    assertEquals(initializers(expected), initializers(r), where);
                    TensorProto q = initializers(r).stream().filter(t -> t.getName().startsWith("W") && t.getName().endsWith("_rtn8")).findFirst().orElseThrow();
                    assertEquals(TensorProto.DataType.INT8_VALUE, q.getDataType(), where);
                    assertTrue(initializers(r).stream().noneMatch(t -> Tensors.isFloatingPoint(t.getDataType()) && Tensors.numel(t) == (long) D * N), where);
                    float[] y = Ort.run(r.model(), in).get("y");
                    assertEquals(0, Ort.maxRelativeError(Ort.run(expected.model(), in).get("y"), y), where);
                    double sqnr = Ort.sqnrDb(exact, y);
                    assertTrue(sqnr > 30, where + ": SQNR " + sqnr);
                }
            }
        }
    }

    private static String detail(StampResult r) { return r.report().rewritten().get(0).detail(); }

    private static Set<String> initializerNames(StampResult r) {
        return Set.copyOf(initializers(r).stream().map(TensorProto::getName).toList());
    }

    @Test
    void aChainReadElsewhereKeepsWhatIsRead() {
        StampConfig config = w8a8().emit(StampConfig.Emit.SIMULATE).build();
        Map<String, Object> in = Map.of("x", Ort.random(22, 2, 24, D), "cond", true);
        // W itself is also read by another node: the Transpose and its source stay
        OnnxMl.ModelProto sharedW = model(Chain.LINEAR_EXPORT, 13, g -> {
            g.node("ReduceSum", "w_sum", List.of("W"), List.of("w_sum"));
            g.output("w_sum", 1, 1);
        });
        StampResult r = StampCompiler.compile(sharedW, config);
        assertTrue(detail(r).endsWith("W8 rtn per-channel as DequantizeLinear(int8); original 'W' kept (read elsewhere)"), detail(r));
        assertTrue(GraphDump.of(r.model().getGraph()).startsWith("W = Transpose(fc.weight)\n"), GraphDump.of(r.model().getGraph()));
        assertTrue(initializerNames(r).containsAll(Set.of("fc.weight", "W_rtn8", "W_rtn8_scale")));
        // the source is also read by another node: the Transpose goes, the source stays
        OnnxMl.ModelProto sharedSource = model(Chain.LINEAR_EXPORT, 13, g -> {
            g.node("ReduceSum", "w_sum", List.of("fc.weight"), List.of("w_sum"));
            g.output("w_sum", 1, 1);
        });
        r = StampCompiler.compile(sharedSource, config);
        assertTrue(detail(r).endsWith("; original 'fc.weight' kept (read elsewhere)"), detail(r));
        assertFalse(GraphDump.of(r.model().getGraph()).contains("Transpose"), GraphDump.of(r.model().getGraph()));
        assertTrue(initializerNames(r).contains("fc.weight"));
        // the Reshape's shape is also read inside an If's branches: the shape stays (quietly), the rest of the chain goes
        OnnxMl.ModelProto sharedShape = model(Chain.RESHAPED, 13, g -> {
            GraphBuilder body = new GraphBuilder(0);
            body.node("Identity", "inner", List.of("W_shape"), List.of("b_shape"));
            body.graph().addOutput(OnnxMl.ValueInfoProto.newBuilder().setName("b_shape").setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.INT64_VALUE)
                            .setShape(OnnxMl.TensorShapeProto.newBuilder().addDim(OnnxMl.TensorShapeProto.Dimension.newBuilder())))));
            g.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                    .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE)
                            .setShape(OnnxMl.TensorShapeProto.newBuilder()))));
            g.node("If", "branch", List.of("cond"), List.of("shape_out"), GraphBuilder.graphAttr("then_branch", body.graph().setName("t").build()),
                    GraphBuilder.graphAttr("else_branch", body.graph().setName("e").build()));
        });
        r = StampCompiler.compile(sharedShape, config);
        assertTrue(detail(r).endsWith("W8 rtn per-channel as DequantizeLinear(int8)"), detail(r));
        assertFalse(GraphDump.of(r.model().getGraph()).contains("Reshape"), GraphDump.of(r.model().getGraph()));
        assertTrue(initializerNames(r).contains("W_shape"));
        assertFalse(initializerNames(r).contains("W_flat"));
        for (OnnxMl.ModelProto m : List.of(sharedW, sharedSource, sharedShape)) {
            StampResult out = StampCompiler.compile(m, config);
            Map<String, Object> feeds = m == sharedShape ? in : Map.of("x", in.get("x"));
            assertTrue(Ort.sqnrDb(Ort.run(m, feeds).get("y"), Ort.run(out.model(), feeds).get("y")) > 30);
        }
    }

    @Test
    void aChainInAnEnclosingGraphIsFoldedInsideTheBranchAndKept() {
        GraphBuilder outer = new GraphBuilder(9);
        outer.input("x", "seq", D);
        outer.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE)
                        .setShape(OnnxMl.TensorShapeProto.newBuilder()))));
        outer.node("Transpose", "weight_t", List.of(outer.weight("fc.weight", 0.3f, D, D)), List.of("W"), GraphBuilder.intsAttr("perm", 1, 0));
        OnnxMl.GraphProto[] branches = new OnnxMl.GraphProto[2];
        for (int i = 0; i < 2; i++) {
            GraphBuilder b = new GraphBuilder(0);
            b.node("MatMul", "linear" + i, List.of("x", "W"), List.of("mm" + i));
            b.node(i == 0 ? "Relu" : "Sigmoid", "act" + i, List.of("mm" + i), List.of("y" + i));
            b.output("y" + i, "seq", D);
            branches[i] = b.graph().setName("b" + i).build();
        }
        outer.node("If", "if", List.of("cond"), List.of("y"), GraphBuilder.graphAttr("then_branch", branches[0]),
                GraphBuilder.graphAttr("else_branch", branches[1]));
        outer.output("y", "seq", D);
        OnnxMl.ModelProto model = outer.model(13, 8);
        StampResult r = StampCompiler.compile(model, w8a8().emit(StampConfig.Emit.SIMULATE).build());
        assertEquals(2, r.report().rewritten().size());
        for (StampReport.Layer l : r.report().rewritten()) {
            assertTrue(l.detail().endsWith("W8 rtn per-channel as DequantizeLinear(int8); original 'W' kept (computed in an outer scope)"), l.detail());
        }
        assertTrue(GraphDump.of(r.model().getGraph()).startsWith("W = Transpose(fc.weight)"));
        for (boolean cond : new boolean[] {true, false}) {
            Map<String, Object> in = Map.of("x", Ort.random(4, 24, D), "cond", cond);
            assertTrue(Ort.sqnrDb(Ort.run(model, in).get("y"), Ort.run(r.model(), in).get("y")) > 30, "cond " + cond);
        }
    }
}
