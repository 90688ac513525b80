package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Graph;

/**
 * One rewrite: {@link #match} reads the graph and decides everything (a plan, or a refusal that says why), and
 * {@link #rewrite} carries the plan out through the {@link GraphEditor}, the only thing that changes a graph.
 * Matching never mutates, so planning the whole model first ({@code inspect}, {@code --dry-run}) cannot disagree
 * with the rewrite.
 *
 * @param <P> the immutable plan of one match
 */
public interface Rule<P> {
    /** The rule's name, which labels every node it makes (e.g. "linear-layer"). */
    String name();

    Match<P> match(Graph graph, NodeProto node);

    void rewrite(P plan, GraphEditor edit);
}
