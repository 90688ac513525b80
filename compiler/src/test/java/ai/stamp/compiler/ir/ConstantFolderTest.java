package ai.stamp.compiler.ir;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.testmodels.GraphBuilder;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** ConstantFolder: the values of every folded chain equal ONNX Runtime's, what it read, and why it refuses the rest. */
class ConstantFolderTest {
    /** A graph of constants only, {@code chain} building the tensor "out" (a graph output, so ORT computes it). */
    private static OnnxMl.ModelProto constants(int opset, Consumer<GraphBuilder> chain) {
        GraphBuilder g = new GraphBuilder(5);
        chain.accept(g);
        g.output("out");
        return g.model(opset, opset >= 21 ? 10 : 8);
    }

    private static ConstantFolder.Folded folded(OnnxMl.ModelProto model) {
        ConstantFolder.Outcome o = ConstantFolder.fold(new Graph(model.getGraph()), "out");
        assertInstanceOf(ConstantFolder.Folded.class, o, () -> o + " for\n" + GraphDump.of(model.getGraph()));
        return (ConstantFolder.Folded) o;
    }

    /** Folds "out" and checks its values against ORT's, bit for bit, and its dims; returns the fold. */
    private static ConstantFolder.Folded assertFoldsAsOrt(OnnxMl.ModelProto model, long... dims) {
        ConstantFolder.Folded f = folded(model);
        assertEquals(TensorProto.DataType.FLOAT_VALUE, f.type());
        assertArrayEquals(dims, f.dims(), GraphDump.of(model.getGraph()));
        assertArrayEquals(Ort.run(model, Map.of()).get("out"), f.values(), GraphDump.of(model.getGraph()));
        return f;
    }

    private static TensorProto float16(String name, Random r, long... dims) {
        int n = 1;
        for (long d : dims) n *= (int) d;
        ByteBuffer b = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            int bits = r.nextInt(0x10000);
            if (((bits >> 10) & 0x1f) == 0x1f) bits &= ~0x4000; // no infinities or NaNs; subnormals included
            b.putShort((short) bits);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT16_VALUE)
                .setRawData(ByteString.copyFrom(b.array()));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    private static OnnxMl.AttributeProto cast(int to) { return GraphBuilder.intAttr("to", to); }

    private static OnnxMl.AttributeProto tensorAttr(TensorProto t) {
        return OnnxMl.AttributeProto.newBuilder().setName("value").setType(OnnxMl.AttributeProto.AttributeType.TENSOR).setT(t).build();
    }

    @Test
    void transposesReshapesAndSqueezesAsOrtDoes() {
        // PyTorch's Linear: W [N, D] transposed
        assertFoldsAsOrt(constants(13, g -> g.node("Transpose", "t", List.of(g.weight("W", 1, 3, 5)), List.of("out"),
                GraphBuilder.intsAttr("perm", 1, 0))), 5, 3);
        // rank 3, the default perm (reversed axes), a Reshape with 0 and -1, an Identity
        assertFoldsAsOrt(constants(13, g -> {
            String t = g.node("Transpose", "t", List.of(g.weight("W", 1, 2, 3, 4)), List.of("t"), GraphBuilder.intsAttr("perm", 2, 0, 1));
            String r = g.node("Transpose", "r", List.of(t), List.of("r"));
            String s = g.node("Reshape", "s", List.of(r, g.ints("shape", 0, -1)), List.of("s"));
            g.node("Identity", "i", List.of(s), List.of("out"));
        }), 3, 8);
        // axes as inputs (opset 13) and as attributes (opset 11); Squeeze without axes drops every axis of 1
        assertFoldsAsOrt(constants(13, g -> {
            String u = g.node("Unsqueeze", "u", List.of(g.weight("W", 1, 6, 4), g.ints("axes0", 0, -1)), List.of("u"));
            String t = g.node("Transpose", "t", List.of(u), List.of("t"), GraphBuilder.intsAttr("perm", 3, 1, 2, 0));
            String s = g.node("Squeeze", "s", List.of(t, g.ints("axes3", 3)), List.of("s"));
            g.node("Squeeze", "all", List.of(s), List.of("out"));
        }), 6, 4);
        assertFoldsAsOrt(constants(11, g -> {
            String u = g.node("Unsqueeze", "u", List.of(g.weight("W", 1, 6, 4)), List.of("u"), GraphBuilder.intsAttr("axes", 1));
            String t = g.node("Transpose", "t", List.of(u), List.of("t"), GraphBuilder.intsAttr("perm", 2, 1, 0));
            String s = g.node("Squeeze", "s", List.of(t), List.of("s"), GraphBuilder.intsAttr("axes", -2));
            g.node("Flatten", "f", List.of(s), List.of("out"), GraphBuilder.intAttr("axis", 1));
        }), 4, 6);
        // Flatten of rank 3 at axis 2, Reshape shape from a Constant node
        assertFoldsAsOrt(constants(13, g -> {
            String f = g.node("Flatten", "f", List.of(g.weight("W", 1, 2, 3, 4)), List.of("f"), GraphBuilder.intAttr("axis", 2));
            g.node("Constant", "shape", List.of(), List.of("shape"), tensorAttr(TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE)
                    .addDims(2).addInt64Data(4).addInt64Data(6).build()));
            g.node("Reshape", "s", List.of(f, "shape"), List.of("out"));
        }), 4, 6);
    }

    @Test
    void castsFloat16AndFloat64ToFloatAsOrtDoes() {
        Random r = new Random(1);
        assertFoldsAsOrt(constants(13, g -> {
            g.graph().addInitializer(float16("W16", r, 16, 8));
            String c = g.node("Cast", "c", List.of("W16"), List.of("c"), cast(TensorProto.DataType.FLOAT_VALUE));
            g.node("Transpose", "t", List.of(c), List.of("out"), GraphBuilder.intsAttr("perm", 1, 0));
        }), 8, 16);
        // float16 Transposed before the Cast; stored as int32_data (one half per int)
        TensorProto raw = float16("W16", r, 4, 6);
        TensorProto.Builder ints = raw.toBuilder().clearRawData();
        ByteBuffer b = raw.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) ints.addInt32Data(b.getShort() & 0xffff);
        assertFoldsAsOrt(constants(13, g -> {
            g.graph().addInitializer(ints);
            String t = g.node("Transpose", "t", List.of("W16"), List.of("t"), GraphBuilder.intsAttr("perm", 1, 0));
            g.node("Cast", "c", List.of(t), List.of("out"), cast(TensorProto.DataType.FLOAT_VALUE));
        }), 6, 4);
        // a float64 Constant node, rounded as Cast rounds
        TensorProto.Builder d = TensorProto.newBuilder().setDataType(TensorProto.DataType.DOUBLE_VALUE).addDims(3).addDims(4);
        for (int i = 0; i < 12; i++) d.addDoubleData(r.nextGaussian() / 3);
        assertFoldsAsOrt(constants(13, g -> {
            g.node("Constant", "k", List.of(), List.of("k"), tensorAttr(d.build()));
            g.node("Cast", "c", List.of("k"), List.of("out"), cast(TensorProto.DataType.FLOAT_VALUE));
        }), 3, 4);
    }

    @Test
    void aConstantNodeIsASource() {
        ConstantFolder.Folded f = assertFoldsAsOrt(constants(13, g -> g.node("Constant", "k", List.of(), List.of("out"),
                tensorAttr(ai.stamp.compiler.ir.Tensors.floatTensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)))), 2, 3);
        assertEquals("out", f.source());
        assertEquals("Constant", f.reads().get(0).producer().getOpType());
        OnnxMl.AttributeProto floats = OnnxMl.AttributeProto.newBuilder().setName("value_floats")
                .setType(OnnxMl.AttributeProto.AttributeType.FLOATS).addFloats(1.5f).addFloats(-2).addFloats(3).addFloats(0.25f).build();
        assertFoldsAsOrt(constants(13, g -> {
            g.node("Constant", "k", List.of(), List.of("k"), floats);
            g.node("Reshape", "s", List.of("k", g.ints("shape", 2, 2)), List.of("out"));
        }), 2, 2);
    }

    @Test
    void listsWhatItReadFromTheFoldedTensorToTheSource() {
        OnnxMl.ModelProto model = constants(13, g -> {
            String t = g.node("Transpose", "t", List.of(g.weight("W", 1, 4, 6)), List.of("t"), GraphBuilder.intsAttr("perm", 1, 0));
            g.node("Reshape", "s", List.of(t, g.ints("shape", 3, 8)), List.of("out"));
        });
        ConstantFolder.Folded f = folded(model);
        assertEquals(List.of("out", "shape", "t", "W"), f.reads().stream().map(ConstantFolder.Read::tensor).toList());
        assertEquals(List.of(true, false, true, true), f.reads().stream().map(ConstantFolder.Read::data).toList());
        assertEquals(List.of("s", "", "t", ""), f.reads().stream().map(r -> r.producer() == null ? "" : r.producer().getName()).toList());
        assertEquals("W", f.source());
        assertFalse(f.external());
    }

    @Test
    void foldsATensorOfAnEnclosingGraph() {
        GraphBuilder outer = new GraphBuilder(2);
        outer.node("Transpose", "t", List.of(outer.weight("W", 1, 4, 6)), List.of("Wt"), GraphBuilder.intsAttr("perm", 1, 0));
        GraphBuilder body = new GraphBuilder(0);
        body.node("Identity", "inner", List.of("Wt"), List.of("b_out"));
        body.output("b_out");
        outer.graph().addInput(OnnxMl.ValueInfoProto.newBuilder().setName("cond").setType(OnnxMl.TypeProto.newBuilder()
                .setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.BOOL_VALUE))));
        outer.node("If", "if", List.of("cond"), List.of("out"), GraphBuilder.graphAttr("then_branch", body.graph().setName("t").build()),
                GraphBuilder.graphAttr("else_branch", body.graph().setName("e").build()));
        outer.output("out");
        OnnxMl.ModelProto model = outer.model(13, 8);
        Graph main = new Graph(model.getGraph());
        Graph then = main.subgraphs(main.nodes().get(1)).get(0);
        ConstantFolder.Folded f = (ConstantFolder.Folded) ConstantFolder.fold(then, "b_out");
        assertArrayEquals(new long[] {6, 4}, f.dims());
        assertSame(then, f.reads().get(0).graph());
        assertSame(main, f.reads().get(1).graph(), "Wt is the outer graph's");
        assertSame(main, f.reads().get(2).graph());
        assertArrayEquals(Ort.run(model, Map.of("cond", true)).get("out"), f.values());
    }

    private static ConstantFolder.Unfoldable unfoldable(OnnxMl.ModelProto model) {
        ConstantFolder.Outcome o = ConstantFolder.fold(new Graph(model.getGraph()), "out");
        assertInstanceOf(ConstantFolder.Unfoldable.class, o, () -> "folded " + GraphDump.of(model.getGraph()));
        return (ConstantFolder.Unfoldable) o;
    }

    @Test
    void saysWhyItDoesNotFold() {
        assertEquals(new ConstantFolder.Unfoldable("W", "holds int32 values, not floating point"), unfoldable(constants(13, g ->
                g.node("Cast", "c", List.of(g.int32Weight("W", 5, 4, 4)), List.of("out"), cast(TensorProto.DataType.FLOAT_VALUE)))));
        assertEquals(new ConstantFolder.Unfoldable("out", "is a Cast to float16 (only a Cast to float is folded)"), unfoldable(constants(13, g ->
                g.node("Cast", "c", List.of(g.weight("W", 1, 4, 4)), List.of("out"), cast(TensorProto.DataType.FLOAT16_VALUE)))));
        assertEquals(new ConstantFolder.Unfoldable("t", "is computed by a DequantizeLinear node, which is not folded into a constant"),
                unfoldable(constants(13, g -> {
                    String dq = g.node("DequantizeLinear", "dq", List.of(g.int32Weight("Wq", 5, 4, 4), g.weight("s", 1)), List.of("t"));
                    g.node("Transpose", "t", List.of(dq), List.of("out"));
                })));
        assertEquals(new ConstantFolder.Unfoldable("x", "is a graph input"), unfoldable(constants(13, g -> {
            g.input("x", 4, 4);
            g.node("Transpose", "t", List.of("x"), List.of("out"));
        })));
        assertEquals(new ConstantFolder.Unfoldable("out", "is a Reshape to a shape computed at run time"), unfoldable(constants(13, g -> {
            g.input("x", 16);
            g.node("Reshape", "r", List.of(g.weight("W", 1, 4, 4), g.op("Shape", "shape", "x")), List.of("out"));
        })));
        assertEquals(new ConstantFolder.Unfoldable("out", "is a Reshape of [4, 4] to [3, -1], which does not fit"), unfoldable(constants(13, g ->
                g.node("Reshape", "r", List.of(g.weight("W", 1, 4, 4), g.ints("shape", 3, -1)), List.of("out")))));
        assertEquals(new ConstantFolder.Unfoldable("out", "is a Squeeze of [4, 4] by axes [0], which do not fit"), unfoldable(constants(11, g ->
                g.node("Squeeze", "s", List.of(g.weight("W", 1, 4, 4)), List.of("out"), GraphBuilder.intsAttr("axes", 0)))));
        assertEquals(new ConstantFolder.Unfoldable("out", "is a Transpose with perm [0, 0] of a rank 2 tensor"), unfoldable(constants(13, g ->
                g.node("Transpose", "t", List.of(g.weight("W", 1, 4, 4)), List.of("out"), GraphBuilder.intsAttr("perm", 0, 0)))));
        assertEquals(new ConstantFolder.Unfoldable("W", "holds 3 values, its shape says 16"), unfoldable(constants(13, g -> {
            g.initializer("W", new float[3], 4, 4);
            g.node("Identity", "i", List.of("W"), List.of("out"));
        })));
        assertEquals(new ConstantFolder.Unfoldable("out", "is reached through more than 16 ops"), unfoldable(constants(13, g -> {
            String t = g.weight("W", 1, 2, 2);
            for (int i = 0; i < 17; i++) t = g.node("Identity", "i" + i, List.of(t), List.of(i == 16 ? "out" : "t" + i));
        })));
    }

    @Test
    void anExternalSourceFoldsButItsValuesAreNotRead() {
        OnnxMl.ModelProto model = constants(13, g -> {
            g.graph().addInitializer(TensorProto.newBuilder().setName("W").setDataType(TensorProto.DataType.FLOAT_VALUE).addDims(4).addDims(2)
                    .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                    .addExternalData(OnnxMl.StringStringEntryProto.newBuilder().setKey("location").setValue("w.bin")));
            g.node("Transpose", "t", List.of("W"), List.of("out"));
        });
        ConstantFolder.Folded f = folded(model);
        assertTrue(f.external());
        assertArrayEquals(new long[] {2, 4}, f.dims());
        assertThrows(IllegalStateException.class, f::values);
    }
}
