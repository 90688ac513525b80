package ai.stamp.compiler.passes.dequantize;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.IntegerSources;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.MalformedNodes;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Pass;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code --dequantize-weights}: turns already-quantized weights of linear layers back into float (computed in Java)
 * so the linear-layer pass can rewrite them like float ones. Three rules ({@link QdqWeightRule},
 * {@link DynamicQuantMatMulRule}, {@link MatMulNBitsRule}) per graph; then what they leave unread goes: DynamicQuantizeLinear nodes whose
 * outputs nothing reads any more, and the integer initializers only the removed nodes read.
 */
public final class DequantizeWeightsPass implements Pass<DequantizeWeightsPass.Plan> {
    public static final String NAME = "dequantize-weights";

    private final LayerSelection selection;

    public DequantizeWeightsPass(LayerSelection selection) { this.selection = selection; }

    /** One graph's decisions: the rules' plans in node order, then the clean-up. */
    record GraphPlan(Graph graph, List<WeightRestore> restores, List<NodeProto> unusedQuantizers, List<String> unusedInitializers) {}

    /** The plan of every graph that changes. */
    public record Plan(List<GraphPlan> graphs) {
        /** How many weights are turned back into float. */
        public int weights() { return graphs.stream().mapToInt(g -> g.restores().size()).sum(); }

        /** The restored QDQ weights whose int8 symmetric per-axis integers the linear-layer pass may keep. */
        public IntegerSources integers() {
            List<IntegerSources.Source> out = new ArrayList<>();
            for (GraphPlan g : graphs) {
                for (WeightRestore r : g.restores()) if (r instanceof QdqWeightRule.Plan p) p.integers().ifPresent(out::add);
            }
            return IntegerSources.of(out);
        }
    }

    @Override public String name() { return NAME; }

    @Override
    public Plan plan(OnnxMl.ModelProto model) {
        List<GraphPlan> out = new ArrayList<>();
        for (Graph g : GraphWalker.walk(new Graph(model.getGraph())).graphs()) {
            GraphPlan p = planGraph(g);
            if (!p.restores().isEmpty()) out.add(p);
        }
        return new Plan(List.copyOf(out));
    }

    private GraphPlan planGraph(Graph graph) {
        QdqWeightRule qdqRule = new QdqWeightRule(selection);
        DynamicQuantMatMulRule dynamicRule = new DynamicQuantMatMulRule(selection);
        MatMulNBitsRule nbitsRule = new MatMulNBitsRule(selection);
        List<WeightRestore> restores = new ArrayList<>();
        Set<NodeProto> removed = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<String> freed = new LinkedHashSet<>();
        for (NodeProto node : graph.nodes()) {
            if (MalformedNodes.guard(graph, node, () -> qdqRule.match(graph, node)) instanceof Match.Planned<QdqWeightRule.Plan> p) {
                restores.add(p.plan());
                removed.add(p.plan().dequantize());
                freed.addAll(p.plan().dequantize().getInputList());
            } else if (MalformedNodes.guard(graph, node, () -> dynamicRule.match(graph, node)) instanceof Match.Planned<DynamicQuantMatMulRule.Plan> p
                    && Collections.disjoint(identitySet(p.plan().removed()), removed)) {
                restores.add(p.plan());
                removed.addAll(p.plan().removed());
                freed.addAll(p.plan().freedInputs());
            } else if (MalformedNodes.guard(graph, node, () -> nbitsRule.match(graph, node)) instanceof Match.Planned<MatMulNBitsRule.Plan> p) {
                restores.add(p.plan());
                removed.add(p.plan().node());
                freed.addAll(p.plan().freedInputs());
            }
        }
        if (restores.isEmpty()) return new GraphPlan(graph, restores, List.of(), List.of());
        List<NodeProto> unusedQuantizers = new ArrayList<>();
        for (NodeProto n : graph.nodes()) {
            if (n.getOpType().equals("DynamicQuantizeLinear") && !removed.contains(n) && unread(graph, n.getOutputList(), removed)) {
                unusedQuantizers.add(n);
                removed.add(n);
            }
        }
        List<String> unusedInitializers = new ArrayList<>();
        for (String name : freed) {
            if (name.isEmpty() || graph.isGraphOutput(name)) continue;
            boolean own = graph.proto().getInitializerList().stream().anyMatch(t -> t.getName().equals(name));
            if (own && graph.consumers(name).stream().allMatch(removed::contains)) unusedInitializers.add(name);
        }
        return new GraphPlan(graph, List.copyOf(restores), List.copyOf(unusedQuantizers), List.copyOf(unusedInitializers));
    }

    private static boolean unread(Graph graph, List<String> outputs, Set<NodeProto> removed) {
        for (String out : outputs) {
            if (graph.isGraphOutput(out)) return false;
            for (NodeProto c : graph.consumers(out)) if (!removed.contains(c)) return false;
        }
        return true;
    }

    private static Set<NodeProto> identitySet(List<NodeProto> nodes) {
        Set<NodeProto> s = Collections.newSetFromMap(new IdentityHashMap<>());
        s.addAll(nodes);
        return s;
    }

    @Override
    public void rewrite(Plan plan, ModelEditor editor) {
        QdqWeightRule qdqRule = new QdqWeightRule(selection);
        DynamicQuantMatMulRule dynamicRule = new DynamicQuantMatMulRule(selection);
        MatMulNBitsRule nbitsRule = new MatMulNBitsRule(selection);
        java.util.Map<String, String> shared = new java.util.HashMap<>();
        for (GraphPlan g : plan.graphs()) {
            GraphEditor edit = editor.graph(g.graph(), NAME);
            for (WeightRestore r : g.restores()) {
                if (r instanceof QdqWeightRule.Plan p && p.owner() != null) {
                    // one float copy in the graph that holds the integer initializers, whichever bodies dequantize them
                    String name = shared.computeIfAbsent(p.key(), k -> editor.graph(p.owner(), NAME).addInitializer(p.dequantize().getOutput(0), p.value()));
                    qdqRule.rewriteShared(p, edit.as(qdqRule.name()), name);
                } else if (r instanceof QdqWeightRule.Plan p) qdqRule.rewrite(p, edit.as(qdqRule.name()));
                else if (r instanceof DynamicQuantMatMulRule.Plan p) dynamicRule.rewrite(p, edit.as(dynamicRule.name()));
                else if (r instanceof MatMulNBitsRule.Plan p) nbitsRule.rewrite(p, edit.as(nbitsRule.name()));
            }
            for (NodeProto n : g.unusedQuantizers()) edit.remove(n);
            for (String name : g.unusedInitializers()) edit.removeInitializer(name);
        }
    }
}
