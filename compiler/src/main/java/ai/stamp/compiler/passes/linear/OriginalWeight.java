package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.ir.ConstantFolder;
import ai.stamp.compiler.ir.Graph;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What of a layer's original weight goes once the layer reads a new one: the nodes that computed it (a Constant,
 * the chain of a folded weight) and the initializers they read, each only when nothing else reads it. Never a graph
 * input or output, nothing read by another node (a subgraph's reads count as its If/Loop/Scan node's), nothing of
 * an enclosing graph.
 *
 * @param nodes        removed nodes of the layer's graph
 * @param initializers removed initializers of the layer's graph
 * @param note         for the report: "" when the whole weight goes, else which part of it stays and why
 * @param outer        removed initializers of other graphs (an enclosing one, or the layer's own read elsewhere only by
 *                     other rewritten layers): a model-level decision of {@link #acrossLayers}, each read only by
 *                     layers that stop reading it and by nodes that go with them
 */
public record OriginalWeight(List<NodeProto> nodes, List<String> initializers, String note, List<ConstantFolder.Read> outer) {
    /** Nothing removed and nothing to say (the layer keeps reading its weight). */
    public static final OriginalWeight KEPT = new OriginalWeight(List.of(), List.of(), "");

    public OriginalWeight {
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        outer = List.copyOf(outer);
    }

    public OriginalWeight(List<NodeProto> nodes, List<String> initializers, String note) { this(nodes, initializers, note, List.of()); }

    /** The note of a weight whose kept initializer {@code tensor} goes after all, because only rewritten layers read it. */
    static String droppedNote(String tensor) { return "; original '" + tensor + "' dropped (read only by rewritten layers)"; }

    /**
     * The model-level part of the decision: an initializer a layer's weight is folded from that {@link #of} keeps
     * (an outer-scope one, or one another layer reads) goes when, in every graph that sees it, it is read only by
     * rewritten layers (as their weight, input 1) and by nodes those layers remove, is no graph output and no input of
     * the graph that holds it. Returns each such layer's original with the initializer added to {@link #outer} and its
     * note saying so.
     */
    static Map<NodeProto, OriginalWeight> acrossLayers(List<Graph> graphs, Map<NodeProto, LinearLayer> rewritten, Map<NodeProto, OriginalWeight> originals) {
        Set<NodeProto> removedNodes = Collections.newSetFromMap(new IdentityHashMap<>());
        originals.values().forEach(o -> removedNodes.addAll(o.nodes()));
        Map<NodeProto, OriginalWeight> out = new IdentityHashMap<>();
        Map<String, Boolean> verdicts = new java.util.HashMap<>();
        for (Map.Entry<NodeProto, OriginalWeight> e : originals.entrySet()) {
            OriginalWeight o = e.getValue();
            LinearLayer layer = rewritten.get(e.getKey());
            if (o.note().isEmpty()) continue;
            List<ConstantFolder.Read> reads = LayerWeight.folded(layer).reads();
            Set<NodeProto> goneNodes = Collections.newSetFromMap(new IdentityHashMap<>());
            goneNodes.addAll(o.nodes());
            Set<String> goneInits = new LinkedHashSet<>(o.initializers());
            ConstantFolder.Read kept = null;
            for (ConstantFolder.Read r : reads) {
                if (!r.data() || r.graph() == layer.graph() && gone(r, goneNodes, goneInits)) continue;
                kept = r;
                break;
            }
            // only the source initializer may be what stays (a chain computed in an outer scope stays as it is)
            if (kept == null || kept.producer() != null || kept != reads.get(reads.size() - 1)) continue;
            ConstantFolder.Read source = kept;
            boolean unread = verdicts.computeIfAbsent(source.graph().scope() + "|" + source.tensor(),
                    k -> readOnlyByRewritten(graphs, source, rewritten, removedNodes));
            if (!unread) continue;
            out.put(e.getKey(), new OriginalWeight(o.nodes(), o.initializers(), "", List.of(source)));
        }
        return out;
    }

    private static boolean readOnlyByRewritten(List<Graph> graphs, ConstantFolder.Read source, Map<NodeProto, LinearLayer> rewritten,
                                               Set<NodeProto> removedNodes) {
        String t = source.tensor();
        Graph holder = source.graph();
        if (holder.isGraphInput(t)) return false;
        for (Graph g : graphs) {
            java.util.Optional<Graph> d = g.definingGraph(t);
            if (d.isEmpty() || d.get() != holder) continue;
            if (g.isGraphOutput(t)) return false;
            for (NodeProto n : g.nodes()) {
                for (int i = 0; i < n.getInputCount(); i++) {
                    if (!n.getInput(i).equals(t) || removedNodes.contains(n)) continue;
                    LinearLayer l = rewritten.get(n);
                    if (l == null || i != 1 || !l.weight().equals(t)) return false;
                }
            }
        }
        return true;
    }

    /** Whether the weight's values go with it: the tensor the layer read and everything it was computed from. */
    public boolean removed() { return note.isEmpty() && (!nodes.isEmpty() || !initializers.isEmpty()); }

    /** What goes when {@code layer} stops reading its weight (folded: the planner checked). */
    static OriginalWeight of(LinearLayer layer) {
        Graph graph = layer.graph();
        List<ConstantFolder.Read> reads = LayerWeight.folded(layer).reads();
        Set<NodeProto> nodes = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<String> initializers = new LinkedHashSet<>();
        // a read goes when its readers all go: repeat until nothing more does (the chain is read from the layer down)
        for (boolean more = true; more; ) {
            more = false;
            for (ConstantFolder.Read r : reads) {
                if (r.graph() != graph || gone(r, nodes, initializers) || !unreadAfter(r, layer, nodes)) continue;
                if (r.producer() != null) nodes.add(r.producer());
                else initializers.add(r.tensor());
                more = true;
            }
        }
        String note = "";
        for (ConstantFolder.Read r : reads) {
            if (!r.data() || gone(r, nodes, initializers)) continue;
            String why = r.graph() != graph ? (r.producer() == null ? "outer-scope initializer" : "computed in an outer scope") : "read elsewhere";
            note = "; original '" + r.tensor() + "' kept (" + why + ")";
            break;
        }
        List<NodeProto> inOrder = new ArrayList<>();
        for (NodeProto n : graph.nodes()) if (nodes.contains(n)) inOrder.add(n);
        return new OriginalWeight(inOrder, List.copyOf(initializers), note);
    }

    private static boolean gone(ConstantFolder.Read r, Set<NodeProto> nodes, Set<String> initializers) {
        return r.producer() != null ? nodes.contains(r.producer()) : initializers.contains(r.tensor());
    }

    /**
     * Whether nothing reads {@code r}'s tensors (a node's every output) once the layer and {@code gone} are gone: not a
     * graph input or output, read by no other node; the layer may read it only as its weight.
     */
    private static boolean unreadAfter(ConstantFolder.Read r, LinearLayer layer, Set<NodeProto> gone) {
        Graph graph = r.graph();
        List<String> tensors = r.producer() != null ? r.producer().getOutputList() : List.of(r.tensor());
        for (String t : tensors) {
            if (t.isEmpty()) continue;
            if (graph.isGraphOutput(t) || graph.isGraphInput(t)) return false;
            for (NodeProto reader : graph.consumers(t)) {
                if (reader == layer.node() ? !readsOnlyAsWeight(reader, t) : !gone.contains(reader)) return false;
            }
        }
        return true;
    }

    private static boolean readsOnlyAsWeight(NodeProto layer, String tensor) {
        for (int i = 0; i < layer.getInputCount(); i++) if (i != 1 && layer.getInput(i).equals(tensor)) return false;
        return true;
    }
}
