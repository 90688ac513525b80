package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.FloatType;
import ai.stamp.ops.FloatTypedOp;
import ai.stamp.ops.SequenceTransforms;
import java.util.List;

/**
 * Emits the sequence transform L (X → coefficients) and its inverse L^T (with the padding cropped to X's tokens), at the
 * layer's float type ({@link FloatTypedOp#atType}).
 */
final class SequenceTransformStage {
    static final String NAME = "sequence-transform";

    private final GraphEditor edit;

    SequenceTransformStage(GraphEditor edit) { this.edit = edit; }

    /** Z = L·pad(input), in block layout. */
    String forward(TokenPlan plan, FloatType type, String input, String activation, String forLayer, List<NodeProto> nodes) {
        String z = edit.fresh(activation + "_stamp_coeffs");
        nodes.add(edit.call(FloatTypedOp.atType(SequenceTransforms.forward(plan.transformed()), type), List.of(input), List.of(z), forLayer));
        return z;
    }

    /** crop(L^T·y) into {@code out}; {@code shapeOf} is the forward input (its token count fixes the crop). */
    void inverse(TokenPlan plan, FloatType type, String y, String shapeOf, String out, String forLayer, List<NodeProto> nodes) {
        nodes.add(edit.call(FloatTypedOp.atType(SequenceTransforms.inverse(plan.transformed()), type), List.of(y, shapeOf), List.of(out), forLayer));
    }
}
