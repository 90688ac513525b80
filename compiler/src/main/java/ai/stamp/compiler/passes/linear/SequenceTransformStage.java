package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.SequenceTransforms;
import java.util.List;

/** Emits the sequence transform L (X → coefficients) and its inverse L^T (with the padding cropped to X's tokens). */
final class SequenceTransformStage {
    static final String NAME = "sequence-transform";

    private final GraphEditor edit;

    SequenceTransformStage(GraphEditor edit) { this.edit = edit; }

    /** Z = L·pad(input), in block layout. */
    String forward(TokenPlan plan, String input, String activation, String forLayer, List<NodeProto> nodes) {
        String z = edit.fresh(activation + "_stamp_coeffs");
        nodes.add(edit.call(SequenceTransforms.forward(plan.transformed()), List.of(input), List.of(z), forLayer));
        return z;
    }

    /** crop(L^T·y) into {@code out}; {@code shapeOf} is the forward input (its token count fixes the crop). */
    void inverse(TokenPlan plan, String y, String shapeOf, String out, String forLayer, List<NodeProto> nodes) {
        nodes.add(edit.call(SequenceTransforms.inverse(plan.transformed()), List.of(y, shapeOf), List.of(out), forLayer));
    }
}
