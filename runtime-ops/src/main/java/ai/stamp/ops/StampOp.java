package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import java.util.List;

/**
 * One {@code ai.stamp} operator, instantiated for fixed attribute values. It is emitted as a node whose
 * op_type is {@link #functionName()} in domain {@link StampDomain#NAME}, backed by a model-local
 * FunctionProto written with standard ops at the model's own default opset, so ONNX Runtime inlines it
 * on every execution provider. Each implementation also carries a Java reference kernel.
 */
public interface StampOp {
    /** Op family, e.g. "HaarSequence". */
    String opName();

    /**
     * Function name, unique per attribute values (the FunctionProto is specialised per instance), e.g.
     * "HaarSequence_l3_s1". Two instances with equal names must have identical bodies.
     */
    String functionName();

    /** Formal input names of the function, in order. */
    List<String> inputs();

    /** Formal output names of the function, in order. */
    List<String> outputs();

    /** The function body built from default-domain ops of {@code opset} (>= {@link StampDomain#MIN_OPSET}). */
    OnnxMl.FunctionProto function(int opset);

    /**
     * Runs the Java reference kernel on the function's inputs (same order as {@link #inputs()}) and
     * returns its single output. It computes what {@link #function(int)} computes, up to float rounding.
     */
    default FloatTensor reference(FloatTensor... inputs) {
        throw new UnsupportedOperationException(opName() + " has no reference kernel");
    }

    /** Human-readable attribute summary for reports and doc strings, e.g. "levels=3 sink_tokens=1". */
    String describe();
}
