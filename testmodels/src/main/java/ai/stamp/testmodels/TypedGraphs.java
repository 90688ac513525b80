package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.ops.FloatType;
import java.util.Random;

/**
 * One-layer graphs whose linear layer computes in an element type other than float32 (float16, float64, bfloat16, int32):
 * X [batch, seq, D] and the weight of that type, Y of that type. The float values are drawn as float32 and written at the
 * type (float16 rounded to nearest even), so a test can feed the same values to a float32 twin.
 */
public final class TypedGraphs {
    private TypedGraphs() {}

    /** {@code y = MatMul(x, W)}, W [d, n], all of {@code dataType} (a float type, BFLOAT16 or INT32). */
    public static OnnxMl.ModelProto matMul(int dataType, int opset, int d, int n, long seed) {
        Random rnd = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("typed_matmul");
        g.addInput(value("x", dataType, "batch", "seq", d));
        g.addInitializer(weight("W", dataType, rnd, d, n));
        g.addNode(OnnxMl.NodeProto.newBuilder().setName("proj").setOpType("MatMul").addInput("x").addInput("W").addOutput("y"));
        g.addOutput(value("y", dataType, "batch", "seq", n));
        return model(g, opset);
    }

    /** {@code y = Gemm(x, W, C; transB=1, alpha=0.5, beta=2)}, x [seq, d], W [n, d], C [n], all of the float {@code dataType}. */
    public static OnnxMl.ModelProto gemm(int dataType, int opset, int d, int n, long seed) {
        Random rnd = new Random(seed);
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("typed_gemm");
        g.addInput(value("x", dataType, "seq", d));
        g.addInitializer(weight("W", dataType, rnd, n, d));
        g.addInitializer(weight("C", dataType, rnd, n));
        g.addNode(OnnxMl.NodeProto.newBuilder().setName("fc").setOpType("Gemm").addInput("x").addInput("W").addInput("C").addOutput("y")
                .addAttribute(GraphBuilder.intAttr("transB", 1)).addAttribute(GraphBuilder.floatAttr("alpha", 0.5f))
                .addAttribute(GraphBuilder.floatAttr("beta", 2f)));
        g.addOutput(value("y", dataType, "seq", n));
        return model(g, opset);
    }

    private static TensorProto weight(String name, int dataType, Random rnd, long... dims) {
        int count = 1;
        for (long dim : dims) count *= (int) dim;
        if (dataType == TensorProto.DataType.INT32_VALUE) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType);
            for (long dim : dims) t.addDims(dim);
            for (int i = 0; i < count; i++) t.addInt32Data(rnd.nextInt(7) - 3);
            return t.build();
        }
        float[] v = new float[count];
        for (int i = 0; i < count; i++) v[i] = (rnd.nextFloat() * 2 - 1) * 0.5f;
        if (dataType == TensorProto.DataType.BFLOAT16_VALUE) {
            TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType);
            for (long dim : dims) t.addDims(dim);
            for (float x : v) t.addInt32Data(Float.floatToIntBits(x) >>> 16); // truncated to bfloat16: test data only
            return t.build();
        }
        FloatType type = FloatType.of(dataType).orElseThrow(() -> new IllegalArgumentException("type " + dataType));
        return type.tensor(v, dims).toBuilder().setName(name).build();
    }

    private static OnnxMl.ValueInfoProto value(String name, int dataType, Object... dims) {
        OnnxMl.ValueInfoProto v = GraphBuilder.valueInfo(name, dims);
        OnnxMl.TypeProto.Builder t = v.getType().toBuilder();
        t.getTensorTypeBuilder().setElemType(dataType);
        return v.toBuilder().setType(t).build();
    }

    private static OnnxMl.ModelProto model(OnnxMl.GraphProto.Builder g, int opset) {
        return OnnxMl.ModelProto.newBuilder().setIrVersion(8).setProducerName("stamp-onnx-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
    }
}
