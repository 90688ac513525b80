package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.MalformedNodes;
import ai.stamp.compiler.rewrite.Match;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The matcher's verdict on every node of a model, computed once (every graph, in walk order) and read by
 * calibration (which tensors to collect), smoothing (which readers are linear layers) and the rewrite. The graphs
 * are kept as the very {@link Graph} views the matched layers point into.
 */
public final class LayerMatches {
    private final GraphWalker.Walk walk;
    private final Map<String, Map<NodeProto, Match<LinearLayer>>> byScope = new LinkedHashMap<>();

    private LayerMatches(Graph main, LinearLayerMatcher matcher) {
        this.walk = GraphWalker.walk(main);
        for (Graph g : walk.graphs()) byScope.put(g.scope(), new IdentityHashMap<>());
        for (GraphWalker.Visit v : walk.visits()) {
            byScope.get(v.graph().scope()).put(v.node(), MalformedNodes.guard(v.graph(), v.node(), () -> matcher.match(v.graph(), v.node())));
        }
    }

    public static LayerMatches of(OnnxMl.ModelProto model, LayerSelection selection) {
        return new LayerMatches(new Graph(model.getGraph()), new LinearLayerMatcher(selection));
    }

    /** Every graph of the model, main first, each body right after the node that holds it. */
    public List<Graph> graphs() { return walk.graphs(); }

    /** Every node of the model in walk order, with the graph view that holds it. */
    public List<GraphWalker.Visit> visits() { return walk.visits(); }

    /** The matcher's verdict on {@code node} of {@code graph} (one of {@link #graphs()}). */
    public Match<LinearLayer> of(Graph graph, NodeProto node) { return byScope.get(graph.scope()).get(node); }

    /** The linear layers of {@code graph}, in node order. */
    public List<LinearLayer> layers(Graph graph) {
        List<LinearLayer> out = new ArrayList<>();
        for (NodeProto n : graph.nodes()) if (of(graph, n) instanceof Match.Planned<LinearLayer> p) out.add(p.plan());
        return out;
    }

    /**
     * The input tensors of the main graph's linear layers, in graph order, each once: what calibration collects.
     * (Inputs of layers in nested bodies cannot be exposed as graph outputs.)
     */
    public List<String> mainGraphActivations() {
        Set<String> out = new LinkedHashSet<>();
        for (LinearLayer l : layers(walk.graphs().get(0))) out.add(l.activation());
        return new ArrayList<>(out);
    }
}
