package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.ops.ChunkSequence;
import ai.stamp.ops.ChunkSequenceInverse;
import ai.stamp.ops.FloatType;
import ai.stamp.ops.FloatTypedOp;
import ai.stamp.ops.SequenceTransforms;
import ai.stamp.ops.StampOp;
import java.util.List;

/**
 * Emits the sequence transform L (X → coefficients) and its inverse L^T (with the padding cropped to X's tokens), at the
 * layer's float type ({@link FloatTypedOp#atType}). In a decoder with a KV cache ({@link Chunking}) they are the chunk
 * ops, which also read the past length.
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
    String forward(TokenPlan plan, FloatType type, String input, String activation, String forLayer, List<NodeProto> nodes) {
        String z = edit.fresh(activation + "_stamp_coeffs");
        StampOp op = chunking.applies(plan) ? new ChunkSequence(plan.transformed().sequenceTransform()) : SequenceTransforms.forward(plan.transformed());
        List<String> inputs = chunking.applies(plan) ? List.of(input, chunking.past()) : List.of(input);
        nodes.add(edit.call(FloatTypedOp.atType(op, type), inputs, List.of(z), forLayer));
        return z;
    }

    /** crop(L^T·y) into {@code out}; {@code shapeOf} is the forward input (its token count fixes the crop). */
    void inverse(TokenPlan plan, FloatType type, String y, String shapeOf, String out, String forLayer, List<NodeProto> nodes) {
        StampOp op = chunking.applies(plan) ? new ChunkSequenceInverse(plan.transformed().sequenceTransform()) : SequenceTransforms.inverse(plan.transformed());
        List<String> inputs = chunking.applies(plan) ? List.of(y, shapeOf, chunking.past()) : List.of(y, shapeOf);
        nodes.add(edit.call(FloatTypedOp.atType(op, type), inputs, List.of(out), forLayer));
    }
}
