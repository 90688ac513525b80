package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * An {@code ai.stamp} op for a layer that computes in float16 or float64: the float32 op's function under the name
 * {@code <function><suffix>} ({@link FloatType#suffix()}, e.g. {@code HaarSequence_l3_s1_f16}), its body derived from
 * the float32 body in one of two ways, chosen per op by what its arithmetic needs:
 * <ul>
 *   <li>{@link #atType} (the sequence transforms): the body runs at the layer's type. Its only float values are the
 *   constant transform matrices, written at that type; the data ops (Pad, Reshape, Slice, Concat, Transpose, MatMul) are
 *   type-generic. A transform is one small matrix product per block, so float16 costs one float16 rounding of the
 *   matrix and of each output, nothing that accumulates across the sequence.</li>
 *   <li>{@link #inFloat32} (the quantizers and the integer GEMM's rescale): the body computes in float32 between a Cast
 *   of the layer-typed inputs and a Cast of the layer-typed outputs. Their arithmetic does not survive float16: EPS
 *   (1e-8) is below float16's smallest subnormal (6e-8) and flushes to 0, a token range max - min overflows where the
 *   values approach 65504, scale = range / q and z / scale lose ~3 of float16's 11 bits, and round(z / scale) would no
 *   longer be exact above 2048. In float32 the result is exactly the float32 op's, rounded once to the layer's type at
 *   the end. The per-token scales and zero points between the two integer ops stay float32.</li>
 * </ul>
 * A float32 body is never touched (the factories return the op itself for FLOAT), so float32 outputs stay
 * byte-identical. Bodies use only ops and types the model's own opset has (Cast and the data ops above all take
 * float16 and double from opset 11): the model's opset is never raised.
 *
 * <p>float64 layers get the float32 transform matrices widened to double, so L is orthogonal to float32 precision
 * (~1e-7 relative): far below the quantization error the rewrite adds, but a float64 layer in transform-only mode is
 * reproduced to float32 rounding, not to float64 rounding.
 */
public final class FloatTypedOp implements StampOp {
    /** How the body is derived from the float32 one. */
    private enum Strategy { AT_TYPE, IN_FLOAT32 }

    private final StampOp op;
    private final FloatType type;
    private final Strategy strategy;
    /** IN_FLOAT32: the formal inputs that arrive at the layer's type and the formal outputs that leave at it. */
    private final Set<String> typedInputs;
    private final Set<String> typedOutputs;

    private FloatTypedOp(StampOp op, FloatType type, Strategy strategy, Set<String> typedInputs, Set<String> typedOutputs) {
        if (type == FloatType.FLOAT) throw new IllegalArgumentException("a float32 op is used as it is");
        this.op = op;
        this.type = type;
        this.strategy = strategy;
        this.typedInputs = Set.copyOf(typedInputs);
        this.typedOutputs = Set.copyOf(typedOutputs);
    }

    /** A sequence transform (forward or inverse) at {@code type}; the op itself for FLOAT. */
    public static StampOp atType(StampOp transform, FloatType type) {
        return type == FloatType.FLOAT ? transform : new FloatTypedOp(transform, type, Strategy.AT_TYPE, Set.of(), Set.of());
    }

    /**
     * {@code op} computing in float32 for a layer of {@code type}: {@code typedInputs} are cast to float32 first,
     * {@code typedOutputs} cast to {@code type} last; the op itself for FLOAT.
     */
    public static StampOp inFloat32(StampOp op, FloatType type, Set<String> typedInputs, Set<String> typedOutputs) {
        if (!op.inputs().containsAll(typedInputs) || !op.outputs().containsAll(typedOutputs)) {
            throw new IllegalArgumentException(op.functionName() + " has no formal " + typedInputs + " / " + typedOutputs);
        }
        return type == FloatType.FLOAT ? op : new FloatTypedOp(op, type, Strategy.IN_FLOAT32, typedInputs, typedOutputs);
    }

    /** {@code MixedPrecisionQdq} for a layer of {@code type}: Z in and Zq out at the type, levels float32. */
    public static StampOp qdq(FloatType type) {
        return inFloat32(MixedPrecisionQdq.INSTANCE, type, Set.of("Z"), Set.of("Zq"));
    }

    /** {@code MixedPrecisionQuantize} for a layer of {@code type}: Z at the type; uint8 values and float32 scale and zero point out. */
    public static StampOp quantize(MixedPrecisionQuantize.Form form, FloatType type) {
        return inFloat32(MixedPrecisionQuantize.of(form), type, Set.of("Z"), Set.of());
    }

    /** {@code ScaledMatMulInteger} for a layer of {@code type}: float32 scales in, the rescaled Y out at the type. */
    public static StampOp scaledMatMulInteger(ScaledMatMulInteger.Form form, FloatType type) {
        return inFloat32(ScaledMatMulInteger.of(form), type, Set.of(), Set.of("Y"));
    }

    public StampOp op() { return op; }

    public FloatType type() { return type; }

    @Override public String opName() { return op.opName(); }
    @Override public String functionName() { return op.functionName() + type.suffix(); }
    @Override public List<String> inputs() { return op.inputs(); }
    @Override public List<String> outputs() { return op.outputs(); }
    @Override public String describe() { return op.describe() + ", " + variant(); }

    /** "at float16" or "in float32 for float16". */
    private String variant() { return (strategy == Strategy.AT_TYPE ? "at " : "in float32 for ") + type.label(); }

    /** The float32 op's kernel: the tests compare it with this body to a tolerance of the layer's type. */
    @Override public FloatTensor reference(FloatTensor... inputs) { return op.reference(inputs); }

    @Override
    public OnnxMl.FunctionProto function(int opset) {
        OnnxMl.FunctionProto body = op.function(opset);
        List<NodeProto> nodes = strategy == Strategy.AT_TYPE ? retyped(body) : inFloat32(body);
        return body.toBuilder().setName(functionName()).setDocString(body.getDocString() + ", " + variant())
                .clearNode().addAllNode(nodes).build();
    }

    /** AT_TYPE: every float32 constant written at the type; a body that casts to float32 is not type-generic. */
    private List<NodeProto> retyped(OnnxMl.FunctionProto body) {
        List<NodeProto> out = new ArrayList<>();
        for (NodeProto n : body.getNodeList()) {
            if (n.getOpType().equals("Cast") && n.getAttributeList().stream().anyMatch(a -> a.getName().equals("to") && a.getI() == FloatType.FLOAT.dataType())) {
                throw new IllegalStateException(body.getName() + " casts to float32: its body cannot run at " + type.label());
            }
            if (!n.getOpType().equals("Constant")) {
                out.add(n);
                continue;
            }
            NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < b.getAttributeCount(); i++) {
                OnnxMl.AttributeProto a = b.getAttribute(i);
                if (a.hasT() && a.getT().getDataType() == FloatType.FLOAT.dataType()) b.setAttribute(i, a.toBuilder().setT(retyped(a.getT())));
            }
            out.add(b.build());
        }
        return out;
    }

    private TensorProto retyped(TensorProto t) {
        float[] v;
        if (!t.getRawData().isEmpty()) {
            v = new float[t.getRawData().size() / 4];
            t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        } else {
            v = new float[t.getFloatDataCount()];
            for (int i = 0; i < v.length; i++) v[i] = t.getFloatData(i);
        }
        return type.tensor(v, t.getDimsList().stream().mapToLong(Long::longValue).toArray()).toBuilder().setName(t.getName()).build();
    }

    /** IN_FLOAT32: Cast(typed input) -> the float32 body -> Cast(typed output), by renaming the formals inside the body. */
    private List<NodeProto> inFloat32(OnnxMl.FunctionProto body) {
        List<NodeProto> out = new ArrayList<>();
        for (String in : op.inputs()) {
            if (typedInputs.contains(in)) out.add(cast(in, inner(in), FloatType.FLOAT.dataType()));
        }
        for (NodeProto n : body.getNodeList()) {
            NodeProto.Builder b = n.toBuilder();
            for (int i = 0; i < b.getInputCount(); i++) {
                if (typedInputs.contains(b.getInput(i)) || typedOutputs.contains(b.getInput(i))) b.setInput(i, inner(b.getInput(i)));
            }
            for (int i = 0; i < b.getOutputCount(); i++) if (typedOutputs.contains(b.getOutput(i))) b.setOutput(i, inner(b.getOutput(i)));
            out.add(b.build());
        }
        for (String o : op.outputs()) {
            if (typedOutputs.contains(o)) out.add(cast(inner(o), o, type.dataType()));
        }
        return out;
    }

    /** The float32 value behind formal {@code name}; the body's own names are {@code _c<n>}, {@code _t<n>}, so none collides. */
    private static String inner(String name) { return name + "__float32"; }

    private static NodeProto cast(String from, String to, int dataType) {
        return NodeProto.newBuilder().setOpType("Cast").setName(to + "__cast").addInput(from).addOutput(to)
                .addAttribute(OnnxDialect.intAttr("to", dataType)).build();
    }
}
