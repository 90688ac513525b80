package ai.stamp.compiler.passes.embedding;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.config.LayerSelection;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.MalformedNodes;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Pass;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code --quantize-embeddings}: every Gather the {@link EmbeddingQuantizationRule} plans, in walk order over every
 * graph ({@link GraphWalker}); then the clean-up: a float table goes when only quantized Gathers read it, and is kept
 * (and the report says by what) when anything else does: another node (a tied lm_head MatMul, a Gather left alone),
 * a graph output, or the graph's input list (IR < 4, where every initializer is listed there).
 */
public final class EmbeddingQuantizationPass implements Pass<EmbeddingQuantizationPass.Plan> {
    public static final String NAME = EmbeddingQuantizationRule.NAME;
    /** IR version from which an initializer listed as a graph input is an overridable default (below it: a constant). */
    static final long MIN_IR_OVERRIDABLE_INITIALIZERS = 4;

    private final LayerSelection selection;

    public EmbeddingQuantizationPass(LayerSelection selection) { this.selection = selection; }

    /** One Gather's decision, in the graph that holds it. */
    public record Step(Graph graph, NodeProto node, Match<EmbeddingQuantizationRule.Plan> match) {}

    /** A quantized table and what happens to its float original: dropped, or kept for {@code keptFor} (readers it still has). */
    public record TableFate(QuantizedTable table, List<String> keptFor) {
        public boolean dropped() { return keptFor.isEmpty(); }
    }

    /** The decisions on every Gather of a constant table, and the fate of each quantized table. */
    public record Plan(List<Step> steps, List<TableFate> tables) {
        public static final Plan EMPTY = new Plan(List.of(), List.of());

        /** The quantized Gathers, as report lines. */
        public List<StampReport.Embedding> quantized() {
            Map<QuantizedTable, TableFate> fates = new IdentityHashMap<>();
            for (TableFate f : tables) fates.put(f.table(), f);
            List<StampReport.Embedding> out = new ArrayList<>();
            for (Step s : steps) {
                if (!(s.match() instanceof Match.Planned<EmbeddingQuantizationRule.Plan> p)) continue;
                QuantizedTable t = p.plan().table();
                TableFate fate = fates.get(t);
                String detail = String.format(Locale.ROOT, "int8 per row (%d row scales, max %.3g): %s -> %s", t.rows(), t.maxScale(),
                        size(t.floatBytes()), size(t.quantizedBytes()))
                        + (fate.dropped() ? "; float table dropped" : "; float table '" + t.table() + "' kept: also read by " + String.join(", ", fate.keptFor()));
                out.add(new StampReport.Embedding(Graph.nameOf(s.node()), s.graph().path(), t.table(), s.node().getOutput(0), t.shape(),
                        !fate.dropped(), detail));
            }
            return out;
        }

        /** The Gathers of a constant table left alone, each with its refusal. */
        public List<StampReport.Skipped> skipped() {
            List<StampReport.Skipped> out = new ArrayList<>();
            for (Step s : steps) {
                if (s.match() instanceof Match.Refused<EmbeddingQuantizationRule.Plan> r) {
                    out.add(new StampReport.Skipped(Graph.nameOf(s.node()), s.node().getOpType(), s.graph().path(), r.refusal().code().id(),
                            r.refusal().detail()));
                }
            }
            return out;
        }
    }

    @Override public String name() { return NAME; }

    @Override
    public Plan plan(OnnxMl.ModelProto model) {
        EmbeddingQuantizationRule rule = new EmbeddingQuantizationRule(selection, model.getIrVersion() >= MIN_IR_OVERRIDABLE_INITIALIZERS);
        GraphWalker.Walk walk = GraphWalker.walk(new Graph(model.getGraph()));
        List<Step> steps = new ArrayList<>();
        Map<QuantizedTable, Set<NodeProto>> readers = new IdentityHashMap<>();
        List<QuantizedTable> order = new ArrayList<>();
        for (GraphWalker.Visit v : walk.visits()) {
            Match<EmbeddingQuantizationRule.Plan> m = MalformedNodes.guard(v.graph(), v.node(), () -> rule.match(v.graph(), v.node()));
            if (m instanceof Match.NotApplicable<EmbeddingQuantizationRule.Plan>) continue;
            steps.add(new Step(v.graph(), v.node(), m));
            if (m instanceof Match.Planned<EmbeddingQuantizationRule.Plan> p) {
                readers.computeIfAbsent(p.plan().table(), k -> {
                    order.add(k);
                    return Collections.newSetFromMap(new IdentityHashMap<>());
                }).add(v.node());
            }
        }
        List<TableFate> fates = new ArrayList<>();
        for (QuantizedTable t : order) fates.add(new TableFate(t, otherReaders(walk, t, readers.get(t))));
        return new Plan(List.copyOf(steps), List.copyOf(fates));
    }

    /** What still reads {@code t}'s float table besides the quantized Gathers (as input 0), across every graph that sees it. */
    private static List<String> otherReaders(GraphWalker.Walk walk, QuantizedTable t, Set<NodeProto> quantized) {
        List<String> out = new ArrayList<>();
        String name = t.table();
        if (t.owner().isGraphInput(name)) out.add("the input list of graph " + t.owner().path());
        for (Graph g : walk.graphs()) {
            Graph owner = EmbeddingQuantizationRule.tableOwner(g, name);
            if (owner == null || !owner.scope().equals(t.owner().scope())) continue;
            if (g.isGraphOutput(name)) out.add("graph output of " + g.path());
            for (NodeProto n : g.nodes()) {
                for (int i = 0; i < n.getInputCount(); i++) {
                    if (n.getInput(i).equals(name) && !(i == 0 && quantized.contains(n))) {
                        out.add(n.getOpType() + " '" + Graph.nameOf(n) + "'" + (g == walk.graphs().get(0) ? "" : " in " + g.path()));
                        break;
                    }
                }
            }
        }
        return List.copyOf(out);
    }

    /** "44.71 MiB", "3.00 KiB". */
    static String size(long bytes) {
        return bytes >= 1 << 20 ? String.format(Locale.ROOT, "%.2f MiB", bytes / (1024.0 * 1024.0))
                : String.format(Locale.ROOT, "%.2f KiB", bytes / 1024.0);
    }

    @Override
    public void rewrite(Plan plan, ModelEditor editor) {
        EmbeddingQuantizationRule rule = new EmbeddingQuantizationRule(selection, true);
        for (Step s : plan.steps()) {
            if (s.match() instanceof Match.Planned<EmbeddingQuantizationRule.Plan> p) rule.rewrite(p.plan(), editor.graph(s.graph(), NAME));
        }
        for (TableFate f : plan.tables()) {
            if (f.dropped()) editor.graph(f.table().owner(), NAME).removeInitializer(f.table().table());
        }
    }
}
