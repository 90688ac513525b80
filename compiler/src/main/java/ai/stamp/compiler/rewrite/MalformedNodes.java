package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.ir.Graph;
import java.util.function.Supplier;

/**
 * A node with fewer inputs, outputs or attribute values than its op has makes the analyses index past the end;
 * that is the model's defect, reported as one line naming the node, not a crash.
 */
public final class MalformedNodes {
    private MalformedNodes() {}

    public static <T> T guard(Graph graph, NodeProto node, Supplier<T> analysis) {
        try {
            return analysis.get();
        } catch (IndexOutOfBoundsException e) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "node '" + Graph.nameOf(node) + "' (" + node.getOpType()
                    + ") in graph " + graph.path() + " or one next to it is malformed (" + e.getMessage()
                    + "); check the model with onnx.checker.check_model", e);
        }
    }
}
