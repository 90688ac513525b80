package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Random;

/** Tiny already-quantized graphs (QDQ weights; onnxruntime quantize_dynamic style) for the --dequantize-weights tests. */
public final class QuantizedGraphs {
    private QuantizedGraphs() {}

    /**
     * x [batch, seq, 8] → MatMul 'fc1' with weight DequantizeLinear(int8 [8, 16], per-axis scale [16] and zero point,
     * axis 1) → Relu → MatMul 'fc2' with weight Transpose(DequantizeLinear(uint8 [8, 16], scalar scale, scalar
     * zero point)) → y [batch, seq, 8]. Opset ≥ 13 (per-axis DequantizeLinear).
     */
    public static OnnxMl.ModelProto qdq(int opset) {
        Random r = new Random(7);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("qdq");
        g.addInput(GraphBuilder.valueInfo("x", "batch", "seq", 8));
        g.addInitializer(bytes("W1_q", TensorProto.DataType.INT8_VALUE, random(r, 128, -128), 8, 16));
        g.addInitializer(floats("W1_scale", randomScales(r, 16), 16));
        g.addInitializer(bytes("W1_zp", TensorProto.DataType.INT8_VALUE, random(r, 7, -3), 16));
        g.addInitializer(bytes("W2_q", TensorProto.DataType.UINT8_VALUE, random(r, 256, 0), 8, 16));
        g.addInitializer(floats("W2_scale", new float[] {0.01f}));
        g.addInitializer(bytes("W2_zp", TensorProto.DataType.UINT8_VALUE, new byte[] {(byte) 128}));
        g.addNode(node("DequantizeLinear", "W1_dq", List.of("W1_q", "W1_scale", "W1_zp"), "W1", GraphBuilder.intAttr("axis", 1)));
        g.addNode(node("MatMul", "fc1", List.of("x", "W1"), "h"));
        g.addNode(node("Relu", "relu", List.of("h"), "hr"));
        g.addNode(node("DequantizeLinear", "W2_dq", List.of("W2_q", "W2_scale", "W2_zp"), "W2t"));
        g.addNode(node("Transpose", "W2_T", List.of("W2t"), "W2", GraphBuilder.intsAttr("perm", 1, 0)));
        g.addNode(node("MatMul", "fc2", List.of("hr", "W2"), "y"));
        g.addOutput(GraphBuilder.valueInfo("y", "batch", "seq", 8));
        return model(g, opset);
    }

    /**
     * onnxruntime quantize_dynamic style: x [batch, seq, 8] → DynamicQuantizeLinear → two MatMulInteger 'q' and 'k'
     * (int8 weights [8, 8], per-tensor and per-column zero points/scales) → Cast → Mul(., Mul(x_scale, w_scale)) → Add
     * → y [batch, seq, 8].
     */
    public static OnnxMl.ModelProto dynamic(int opset) {
        Random r = new Random(11);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("dynamic");
        g.addInput(GraphBuilder.valueInfo("x", "batch", "seq", 8));
        g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("DynamicQuantizeLinear").setName("x_quant").addInput("x")
                .addOutput("x_q").addOutput("x_scale").addOutput("x_zp"));
        g.addInitializer(bytes("Wq_q", TensorProto.DataType.INT8_VALUE, random(r, 255, -127), 8, 8));
        g.addInitializer(floats("Wq_scale", new float[] {0.02f}));
        g.addInitializer(bytes("Wq_zp", TensorProto.DataType.INT8_VALUE, new byte[] {0}));
        g.addInitializer(bytes("Wk_q", TensorProto.DataType.INT8_VALUE, random(r, 255, -127), 8, 8));
        g.addInitializer(floats("Wk_scale", randomScales(r, 8), 8));
        g.addInitializer(bytes("Wk_zp", TensorProto.DataType.INT8_VALUE, random(r, 5, -2), 8));
        for (String p : new String[] {"q", "k"}) {
            g.addNode(node("MatMulInteger", p, List.of("x_q", "W" + p + "_q", "x_zp", "W" + p + "_zp"), p + "_int"));
            g.addNode(node("Cast", p + "_cast", List.of(p + "_int"), p + "_f", GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
            g.addNode(node("Mul", p + "_scales_mul", List.of("x_scale", "W" + p + "_scale"), p + "_scale"));
            g.addNode(node("Mul", p + "_out_mul", List.of(p + "_f", p + "_scale"), p + "_out"));
        }
        g.addNode(node("Add", "sum", List.of("q_out", "k_out"), "y"));
        g.addOutput(GraphBuilder.valueInfo("y", "batch", "seq", 8));
        return model(g, opset);
    }

    private static OnnxMl.ModelProto model(OnnxMl.GraphProto.Builder g, int opset) {
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("QuantizedGraphs")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
    }

    private static OnnxMl.NodeProto node(String op, String name, List<String> in, String out, OnnxMl.AttributeProto... attrs) {
        return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(in).addOutput(out).addAllAttribute(List.of(attrs)).build();
    }

    private static byte[] random(Random r, int range, int offset) {
        byte[] b = new byte[256];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (r.nextInt(range) + offset);
        return b;
    }

    private static float[] randomScales(Random r, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = 0.005f + 0.02f * r.nextFloat();
        return s;
    }

    private static TensorProto bytes(String name, int type, byte[] pool, long... dims) {
        int n = 1;
        for (long d : dims) n *= (int) d;
        return TensorProto.newBuilder().setName(name).setDataType(type).addAllDims(java.util.Arrays.stream(dims).boxed().toList())
                .setRawData(ByteString.copyFrom(pool, 0, n)).build();
    }

    private static TensorProto floats(String name, float[] v, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) t.addDims(d);
        for (float f : v) t.addFloatData(f);
        return t.build();
    }
}
