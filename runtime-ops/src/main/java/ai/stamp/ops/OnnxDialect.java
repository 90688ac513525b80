package ai.stamp.ops;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the body of one FunctionProto from default-domain ops at a fixed opset. Every per-opset
 * difference of the ops the bodies use lives here and nowhere else:
 * <ul>
 *   <li>ReduceMin / ReduceMax: {@code axes} attribute before opset 18, second input from 18;</li>
 *   <li>Unsqueeze / Squeeze: {@code axes} attribute before opset 13, second input from 13;</li>
 *   <li>Slice takes starts/ends/axes as inputs (10+), Pad takes pads as an input (11+), Range exists
 *       from 11 — so {@link StampDomain#MIN_OPSET} is 11;</li>
 *   <li>Min / Max on int64 only exist from opset 12, so integer clamps are spelled with Where
 *       ({@link #clampMinInt}) at every opset rather than with two code paths.</li>
 * </ul>
 * Constants are Constant nodes with a {@code value} tensor attribute (valid at every opset >= 11;
 * {@code value_ints} only appears at 12), because a FunctionProto cannot hold initializers.
 * Value names are generated ({@code _c0}, {@code _t1}, ...) and unique within the body.
 */
public final class OnnxDialect {
    /** Slice "to the end" sentinel; ONNX clamps ends to the dim. */
    public static final long END = Long.MAX_VALUE;

    private final int opset;
    private final List<NodeProto> nodes = new ArrayList<>();
    /** Constant values already emitted, so a body holds each distinct constant once. */
    private final Map<TensorProto, String> constants = new HashMap<>();
    /** Domains other than the default one that the body uses, with their versions (imported by the function). */
    private final Map<String, Long> otherDomains = new java.util.TreeMap<>();
    private int counter;

    public OnnxDialect(int opset) {
        if (opset < StampDomain.MIN_OPSET) {
            throw new IllegalArgumentException("function bodies need default opset >= " + StampDomain.MIN_OPSET + ", got " + opset);
        }
        this.opset = opset;
    }

    public int opset() { return opset; }

    /** Nodes emitted so far (read-only view). */
    public List<NodeProto> nodes() { return List.copyOf(nodes); }

    /** Wraps the emitted nodes into a FunctionProto of domain {@link StampDomain#NAME}. */
    public OnnxMl.FunctionProto function(String name, List<String> inputs, List<String> outputs, String doc) {
        return OnnxMl.FunctionProto.newBuilder()
                .setName(name)
                .setDomain(StampDomain.NAME)
                .setDocString(doc)
                .addAllInput(inputs)
                .addAllOutput(outputs)
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addAllOpsetImport(otherDomains.entrySet().stream()
                        .map(e -> OnnxMl.OperatorSetIdProto.newBuilder().setDomain(e.getKey()).setVersion(e.getValue()).build()).toList())
                .addAllNode(nodes)
                .build();
    }

    /** The contrib domain of ONNX Runtime's own ops. */
    public static final String ONNXRUNTIME_DOMAIN = "com.microsoft";

    /** Emits {@code opType(inputs)} of {@code domain} (version {@code version}, imported by the function); returns its output. */
    public String opIn(String domain, long version, String opType, List<AttributeProto> attrs, String... inputs) {
        otherDomains.merge(domain, version, Math::max);
        String out = fresh("_t");
        nodes.add(NodeProto.newBuilder().setOpType(opType).setDomain(domain).setName(fresh("_n") + "_" + opType)
                .addAllInput(Arrays.asList(inputs)).addOutput(out).addAllAttribute(attrs).build());
        return out;
    }

    // ---------------------------------------------------------------- generic emission

    private String fresh(String prefix) { return prefix + (counter++); }

    /** Emits {@code opType(inputs)} with one fresh output and returns the output name. */
    public String op(String opType, List<AttributeProto> attrs, String... inputs) {
        String out = fresh("_t");
        emit(opType, attrs, List.of(out), inputs);
        return out;
    }

    public String op(String opType, String... inputs) { return op(opType, List.of(), inputs); }

    /** Emits a node writing the given (formal output) names. */
    public void emit(String opType, List<AttributeProto> attrs, List<String> outputs, String... inputs) {
        nodes.add(NodeProto.newBuilder()
                .setOpType(opType)
                .setName(fresh("_n") + "_" + opType)
                .addAllInput(Arrays.asList(inputs))
                .addAllOutput(outputs)
                .addAllAttribute(attrs)
                .build());
    }

    /**
     * Makes {@code value} the formal output {@code formal}: renames the output of the node that wrote
     * it when that is the last node (no later node reads it), else falls back to an Identity node.
     */
    public void output(String value, String formal) {
        int last = nodes.size() - 1;
        if (last >= 0 && nodes.get(last).getOutputCount() == 1 && nodes.get(last).getOutput(0).equals(value)
                && !nodes.get(last).getOpType().equals("Constant")) {
            nodes.set(last, nodes.get(last).toBuilder().setOutput(0, formal).build());
        } else {
            emit("Identity", List.of(), List.of(formal), value);
        }
    }

    // ---------------------------------------------------------------- attributes

    public static AttributeProto intAttr(String name, long v) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
    }

    public static AttributeProto intsAttr(String name, long... v) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (long x : v) b.addInts(x);
        return b.build();
    }

    private static AttributeProto tensorAttr(String name, TensorProto t) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.TENSOR).setT(t).build();
    }

    // ---------------------------------------------------------------- constants

    /** int64 1-D constant. */
    public String ints(long... values) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE).addDims(values.length);
        for (long v : values) t.addInt64Data(v);
        return constant(t.build());
    }

    /** int64 scalar (rank-0) constant; Range needs scalars. */
    public String intScalar(long value) {
        return constant(TensorProto.newBuilder().setDataType(TensorProto.DataType.INT64_VALUE).addInt64Data(value).build());
    }

    /** float scalar (rank-0) constant; broadcasts against anything. */
    public String floatScalar(float value) {
        return constant(TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE).addFloatData(value).build());
    }

    /** float constant of the given shape, row-major. */
    public String floats(float[] data, long... dims) {
        TensorProto.Builder t = TensorProto.newBuilder().setDataType(TensorProto.DataType.FLOAT_VALUE);
        for (long d : dims) t.addDims(d);
        for (float v : data) t.addFloatData(v);
        return constant(t.build());
    }

    private String constant(TensorProto t) {
        String known = constants.get(t);
        if (known != null) return known;
        String out = fresh("_c");
        constants.put(t, out);
        emit("Constant", List.of(tensorAttr("value", t)), List.of(out));
        return out;
    }

    // ---------------------------------------------------------------- shape ops

    public String shape(String x) { return op("Shape", x); }

    /** {@code Slice(x, starts, ends, axes)} with constant parameters. */
    public String slice(String x, long[] starts, long[] ends, long[] axes) {
        return op("Slice", x, ints(starts), ints(ends), ints(axes));
    }

    /** Slice along one axis with constant bounds. */
    public String slice(String x, int axis, long start, long end) {
        return slice(x, new long[] {start}, new long[] {end}, new long[] {axis});
    }

    /** Slice along one axis with a constant start and a computed (1-element int64) end. */
    public String sliceTo(String x, int axis, long start, String end) {
        return op("Slice", x, ints(start), end, ints(axis));
    }

    public String reshape(String x, String shape) { return op("Reshape", x, shape); }

    public String concat(int axis, String... xs) { return op("Concat", List.of(intAttr("axis", axis)), xs); }

    public String transpose(String x, long... perm) { return op("Transpose", List.of(intsAttr("perm", perm)), x); }

    /** Zero-pads {@code x}; {@code pads} is a computed int64 [2·rank] tensor (an input since opset 11). */
    public String padZeros(String x, String pads) { return op("Pad", x, pads); }

    /**
     * Pads {@code x} by repeating its edge values ({@code mode="edge"}); {@code pads} as for
     * {@link #padZeros}. Negative pads crop (ONNX Pad semantics, checked on ORT at opset 11).
     */
    public String padEdge(String x, String pads) {
        AttributeProto mode = AttributeProto.newBuilder().setName("mode").setType(AttributeProto.AttributeType.STRING)
                .setS(com.google.protobuf.ByteString.copyFromUtf8("edge")).build();
        return op("Pad", List.of(mode), x, pads);
    }

    public String unsqueeze(String x, long... axes) {
        return opset >= 13 ? op("Unsqueeze", x, ints(axes)) : op("Unsqueeze", List.of(intsAttr("axes", axes)), x);
    }

    public String squeeze(String x, long... axes) {
        return opset >= 13 ? op("Squeeze", x, ints(axes)) : op("Squeeze", List.of(intsAttr("axes", axes)), x);
    }

    public String gather(String data, String indices) { return op("Gather", List.of(intAttr("axis", 0)), data, indices); }

    public String range(String start, String limit, String delta) { return op("Range", start, limit, delta); }

    // ---------------------------------------------------------------- reductions

    public String reduceMin(String x, long axis) { return reduce("ReduceMin", x, axis); }

    public String reduceMax(String x, long axis) { return reduce("ReduceMax", x, axis); }

    private String reduce(String type, String x, long axis) {
        AttributeProto keep = intAttr("keepdims", 1);
        return opset >= 18
                ? op(type, List.of(keep), x, ints(axis))
                : op(type, List.of(intsAttr("axes", axis), keep), x);
    }

    // ---------------------------------------------------------------- elementwise

    public String add(String a, String b) { return op("Add", a, b); }
    public String sub(String a, String b) { return op("Sub", a, b); }
    public String mul(String a, String b) { return op("Mul", a, b); }
    public String div(String a, String b) { return op("Div", a, b); }
    public String min(String a, String b) { return op("Min", a, b); }
    public String max(String a, String b) { return op("Max", a, b); }
    public String neg(String a) { return op("Neg", a); }
    public String round(String a) { return op("Round", a); }
    public String matmul(String a, String b) { return op("MatMul", a, b); }
    /** The integer GEMM (opset 10+): int32 = (a - 0)(b - 0), zero points omitted. */
    public String matMulInteger(String a, String b) { return op("MatMulInteger", a, b); }
    /** {@code Cast(x, to)} with {@code to} a TensorProto.DataType value. */
    public String cast(String x, int to) { return op("Cast", List.of(intAttr("to", to)), x); }
    public String less(String a, String b) { return op("Less", a, b); }
    public String equal(String a, String b) { return op("Equal", a, b); }
    public String or(String a, String b) { return op("Or", a, b); }
    public String where(String c, String a, String b) { return op("Where", c, a, b); }

    /** Integer modulus with the divisor's sign (fmod=0), i.e. a result in [0, b) for b > 0. */
    public String modInt(String a, String b) { return op("Mod", List.of(intAttr("fmod", 0)), a, b); }

    /** max(a, lo) on int64: Max has no integer kernel before opset 12, so use Where at every opset. */
    public String clampMinInt(String a, long lo) {
        String l = ints(lo);
        return where(less(a, l), l, a);
    }
}
