package ai.stamp.testmodels;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.ops.OnnxDialect;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A small fluent builder for test graphs. Dims given as {@code null} (or a String) are symbolic, so
 * graphs can have a dynamic sequence length like real exports.
 */
public final class GraphBuilder {
    private final OnnxMl.GraphProto.Builder graph = OnnxMl.GraphProto.newBuilder().setName("test");
    private final Random random;
    private int counter;

    public GraphBuilder(long seed) { this.random = new Random(seed); }

    public GraphBuilder input(String name, Object... dims) {
        graph.addInput(valueInfo(name, dims));
        return this;
    }

    /** An int64 graph input (token ids, indices); dims as for {@link #input}. */
    public GraphBuilder intInput(String name, Object... dims) {
        OnnxMl.ValueInfoProto v = valueInfo(name, dims);
        OnnxMl.TypeProto.Builder t = v.getType().toBuilder();
        t.getTensorTypeBuilder().setElemType(OnnxMl.TensorProto.DataType.INT64_VALUE);
        graph.addInput(v.toBuilder().setType(t));
        return this;
    }

    public GraphBuilder output(String name, Object... dims) {
        graph.addOutput(valueInfo(name, dims));
        return this;
    }

    /** A float initializer with values uniform in [-scale, scale). */
    public String weight(String name, float scale, long... dims) {
        long n = 1;
        for (long d : dims) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (random.nextFloat() * 2 - 1) * scale;
        return initializer(name, v, dims);
    }

    public String initializer(String name, float[] values, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) t.addDims(d);
        for (float f : values) t.addFloatData(f);
        graph.addInitializer(t);
        return name;
    }

    /** An int32 initializer with values uniform in [-range, range]. */
    public String int32Weight(String name, int range, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(OnnxMl.TensorProto.DataType.INT32_VALUE);
        long n = 1;
        for (long d : dims) {
            t.addDims(d);
            n *= d;
        }
        for (long i = 0; i < n; i++) t.addInt32Data(random.nextInt(2 * range + 1) - range);
        graph.addInitializer(t);
        return name;
    }

    public String ints(String name, long... values) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        graph.addInitializer(t);
        return name;
    }

    /** A scalar int64 initializer (rank 0), e.g. a Gather index. */
    public String scalarInt(String name, long value) {
        graph.addInitializer(OnnxMl.TensorProto.newBuilder().setName(name)
                .setDataType(OnnxMl.TensorProto.DataType.INT64_VALUE).addInt64Data(value));
        return name;
    }

    /** Adds a node; returns its first output. */
    public String node(String op, String name, List<String> inputs, List<String> outputs, AttributeProto... attrs) {
        graph.addNode(OnnxMl.NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addAllOutput(outputs)
                .addAllAttribute(List.of(attrs)));
        return outputs.get(0);
    }

    /** Adds a single-output node named {@code name} whose output is {@code name + "_out"}. */
    public String op(String op, String name, String... inputs) {
        return node(op, name, List.of(inputs), List.of(name + "_out"));
    }

    public String op(String op, String name, List<String> inputs, AttributeProto... attrs) {
        return node(op, name, inputs, List.of(name + "_out"), attrs);
    }

    public String fresh(String hint) { return hint + "_" + (counter++); }

    public OnnxMl.GraphProto.Builder graph() { return graph; }

    public OnnxMl.ModelProto model(int opset, long irVersion) {
        return OnnxMl.ModelProto.newBuilder().setIrVersion(irVersion).setProducerName("stamp-onnx-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .setGraph(graph).build();
    }

    public static AttributeProto intAttr(String name, long v) { return OnnxDialect.intAttr(name, v); }

    public static AttributeProto floatAttr(String name, float v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
    }

    public static AttributeProto intsAttr(String name, long... v) { return OnnxDialect.intsAttr(name, v); }

    public static AttributeProto graphAttr(String name, OnnxMl.GraphProto g) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.GRAPH).setG(g).build();
    }

    static OnnxMl.ValueInfoProto valueInfo(String name, Object... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        List<Object> ds = new ArrayList<>(List.of(dims));
        for (Object d : ds) {
            OnnxMl.TensorShapeProto.Dimension.Builder dim = OnnxMl.TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number num) dim.setDimValue(num.longValue());
            else if (d instanceof String s) dim.setDimParam(s);
            shape.addDim(dim);
        }
        OnnxMl.TypeProto.Tensor.Builder tt = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(OnnxMl.TensorProto.DataType.FLOAT_VALUE);
        if (dims.length > 0) tt.setShape(shape);
        return OnnxMl.ValueInfoProto.newBuilder().setName(name).setType(OnnxMl.TypeProto.newBuilder().setTensorType(tt)).build();
    }
}
