package ai.stamp.compiler.rewrite;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.Graph;
import java.util.ArrayList;
import java.util.List;

/**
 * The one recursion into nested graphs: every node of a model in execution order, the bodies of an If/Loop/Scan
 * node right after the node itself, each body as a child {@link Graph} that sees its enclosing graphs as outer
 * scope. Every pass walks the model this way, so every rule sees every graph once, in the same order.
 */
public final class GraphWalker {
    private GraphWalker() {}

    /** One node, in the graph that holds it. */
    public record Visit(Graph graph, NodeProto node) {}

    /**
     * One walk of a model.
     *
     * @param graphs every graph, main first, each body right after the node that holds it
     * @param visits every node of every graph, in walk order
     */
    public record Walk(List<Graph> graphs, List<Visit> visits) {}

    public static Walk walk(Graph main) {
        List<Graph> graphs = new ArrayList<>();
        List<Visit> visits = new ArrayList<>();
        collect(main, graphs, visits);
        return new Walk(List.copyOf(graphs), List.copyOf(visits));
    }

    private static void collect(Graph g, List<Graph> graphs, List<Visit> visits) {
        graphs.add(g);
        for (NodeProto n : g.nodes()) {
            visits.add(new Visit(g, n));
            for (Graph body : g.subgraphs(n)) collect(body, graphs, visits);
        }
    }
}
