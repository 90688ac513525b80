package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.ChunkSequence;
import ai.stamp.ops.ChunkSequenceInverse;
import ai.stamp.ops.SequenceTransforms;
import java.util.List;

/**
 * Emits the sequence transform L (X → coefficients) and its inverse L^T (with the padding cropped to X's tokens). In
 * a decoder with a KV cache ({@link Chunking}) they are the chunk ops, which also read the past length.
 */
final class SequenceTransformStage {
    static final String NAME = "sequence-transform";

    private final GraphEditor edit;
    private final Chunking chunking;

    SequenceTransformStage(GraphEditor edit, Chunking chunking) {
        this.edit = edit;
        this.chunking = chunking;
    }

    /** Z = L·pad(input), in block layout. */
    String forward(TokenPlan plan, String input, String activation, String forLayer, List<NodeProto> nodes) {
        String z = edit.fresh(activation + "_stamp_coeffs");
        if (chunking.applies(plan)) {
            nodes.add(edit.call(new ChunkSequence(plan.transformed().sequenceTransform()), List.of(input, chunking.past()), List.of(z), forLayer));
        } else {
            nodes.add(edit.call(SequenceTransforms.forward(plan.transformed()), List.of(input), List.of(z), forLayer));
        }
        return z;
    }

    /** crop(L^T·y) into {@code out}; {@code shapeOf} is the forward input (its token count fixes the crop). */
    void inverse(TokenPlan plan, String y, String shapeOf, String out, String forLayer, List<NodeProto> nodes) {
        if (chunking.applies(plan)) {
            nodes.add(edit.call(new ChunkSequenceInverse(plan.transformed().sequenceTransform()), List.of(y, shapeOf, chunking.past()), List.of(out),
                    forLayer));
        } else {
            nodes.add(edit.call(SequenceTransforms.inverse(plan.transformed()), List.of(y, shapeOf), List.of(out), forLayer));
        }
    }
}
