package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Random;

/** Tiny already-quantized graphs (QDQ weights; onnxruntime quantize_dynamic style; com.microsoft MatMulNBits) for the --dequantize-weights tests. */
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

    /** The zero points of a generated MatMulNBits: none (default 2^(bits-1)), packed uint8, or float (T1). */
    public enum NBitsZeroPoints { NONE, PACKED, FLOAT }

    /**
     * One com.microsoft MatMulNBits 'nbits' with random constants: x float [batch, seq, k] (Cast to float16 first
     * when {@code half}) → MatMulNBits(K = k, N = n, bits, block_size, accuracy_level 0; B uint8 [n, k_blocks,
     * blob_size], scales [n * k_blocks], zero points as {@code zp}, optional bias [n]) → (Cast to float) → y float
     * [batch, seq, n]. Opset 17.
     */
    public static OnnxMl.ModelProto matMulNBits(int k, int n, int blockSize, int bits, NBitsZeroPoints zp, boolean half, boolean bias, long seed) {
        Random r = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("nbits");
        g.addInput(GraphBuilder.valueInfo("x", "batch", "seq", k));
        String a = "x";
        if (half) {
            g.addNode(node("Cast", "x_half", List.of("x"), "x16", GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT16_VALUE)));
            a = "x16";
        }
        String out = half ? "y16" : "y";
        addMatMulNBits(g, r, "nbits", a, out, k, n, blockSize, bits, zp, half, bias);
        if (half) g.addNode(node("Cast", "y_float", List.of("y16"), "y", GraphBuilder.intAttr("to", TensorProto.DataType.FLOAT_VALUE)));
        g.addOutput(GraphBuilder.valueInfo("y", "batch", "seq", n));
        return model(g, 17);
    }

    /**
     * A q4 decoder-like block: x [batch, seq, 64] → MatMulNBits 'fc1' (64 → 80, block 32, packed zero points) → Relu
     * → MatMulNBits 'fc2' (80 → 64, block 32, K not a multiple of it, no zero points, bias) → y [batch, seq, 64].
     */
    public static OnnxMl.ModelProto nbitsDecoder(int opset) {
        Random r = new Random(23);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("nbits_decoder");
        g.addInput(GraphBuilder.valueInfo("x", "batch", "seq", 64));
        addMatMulNBits(g, r, "fc1", "x", "h", 64, 80, 32, 4, NBitsZeroPoints.PACKED, false, false);
        g.addNode(node("Relu", "relu", List.of("h"), "hr"));
        addMatMulNBits(g, r, "fc2", "hr", "y", 80, 64, 32, 4, NBitsZeroPoints.NONE, false, true);
        g.addOutput(GraphBuilder.valueInfo("y", "batch", "seq", 64));
        return model(g, opset);
    }

    private static void addMatMulNBits(OnnxMl.GraphProto.Builder g, Random r, String name, String a, String out, int k, int n, int blockSize,
                                       int bits, NBitsZeroPoints zp, boolean half, boolean bias) {
        int kBlocks = (k + blockSize - 1) / blockSize;
        int blob = blockSize * bits / 8;
        byte[] b = new byte[n * kBlocks * blob];
        r.nextBytes(b);
        g.addInitializer(TensorProto.newBuilder().setName(name + "_B").setDataType(TensorProto.DataType.UINT8_VALUE)
                .addDims(n).addDims(kBlocks).addDims(blob).setRawData(ByteString.copyFrom(b)));
        float[] s = new float[n * kBlocks];
        for (int i = 0; i < s.length; i++) s[i] = 0.002f + 0.01f * r.nextFloat();
        g.addInitializer(real(name + "_scales", s, half, n * kBlocks));
        List<String> inputs = new java.util.ArrayList<>(List.of(a, name + "_B", name + "_scales"));
        if (zp == NBitsZeroPoints.PACKED) {
            int perRow = (kBlocks * bits + 7) / 8;
            byte[] z = new byte[n * perRow];
            r.nextBytes(z);
            g.addInitializer(TensorProto.newBuilder().setName(name + "_zp").setDataType(TensorProto.DataType.UINT8_VALUE)
                    .addDims(n * perRow).setRawData(ByteString.copyFrom(z)));
        } else if (zp == NBitsZeroPoints.FLOAT) {
            float[] z = new float[n * kBlocks];
            for (int i = 0; i < z.length; i++) z[i] = r.nextFloat() * ((1 << bits) - 1);
            g.addInitializer(real(name + "_zp", z, half, n * kBlocks));
        }
        inputs.add(zp == NBitsZeroPoints.NONE ? "" : name + "_zp");
        if (bias) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (0.1 * r.nextGaussian());
            g.addInitializer(real(name + "_bias", v, half, n));
            inputs.add("");
            inputs.add(name + "_bias");
        }
        while (inputs.get(inputs.size() - 1).isEmpty()) inputs.remove(inputs.size() - 1);
        g.addNode(OnnxMl.NodeProto.newBuilder().setOpType("MatMulNBits").setDomain("com.microsoft").setName(name).addAllInput(inputs).addOutput(out)
                .addAttribute(GraphBuilder.intAttr("K", k)).addAttribute(GraphBuilder.intAttr("N", n)).addAttribute(GraphBuilder.intAttr("bits", bits))
                .addAttribute(GraphBuilder.intAttr("block_size", blockSize)).addAttribute(GraphBuilder.intAttr("accuracy_level", 0)));
    }

    /** A float32 tensor, or float16 (round to nearest even) when {@code half}. */
    private static TensorProto real(String name, float[] v, boolean half, long... dims) {
        if (!half) return floats(name, v, dims);
        byte[] raw = new byte[v.length * 2];
        for (int i = 0; i < v.length; i++) {
            int h = toHalf(v[i]);
            raw[2 * i] = (byte) h;
            raw[2 * i + 1] = (byte) (h >> 8);
        }
        TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT16_VALUE).setRawData(ByteString.copyFrom(raw));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    /** IEEE half bits of a normal-range float (the generated values are), round to nearest even. */
    private static int toHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int e = ((bits >>> 23) & 0xff) - 127 + 15;
        int mant = bits & 0x7fffff;
        if (f == 0) return sign;
        if (e <= 0 || e >= 0x1f) throw new IllegalArgumentException("outside the normal float16 range: " + f);
        int h = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
        return sign | h;
    }

    private static OnnxMl.ModelProto model(OnnxMl.GraphProto.Builder g, int opset) {
        OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("QuantizedGraphs")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g);
        if (g.getNodeList().stream().anyMatch(n -> n.getDomain().equals("com.microsoft"))) {
            m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1));
        }
        return m.build();
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
