package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.ir.ConstantFolder;
import ai.stamp.compiler.ir.Graph;
import java.util.Map;
import java.util.Optional;

/**
 * One stored weight that several layers plan the same way, emitted once: layers that read one weight — in one graph
 * (a weight read by many MatMuls: 1,000 consumers of one 384² weight used to get 1,000 copies) or in different
 * subgraphs (the two branches of an If, Optimum's merged decoders) — and plan the same stored form (method, bits,
 * block, form, feature transforms) read the same quantized initializers, added to the graph that holds the original
 * weight ({@code owner}; subgraphs see its names). The planner hands every such layer the same object
 * (keyed by {@link #key}); the weight stage fills {@link #emitted} the first time, so emission is idempotent.
 */
final class SharedWeight {
    private final Graph owner;
    private final String key;
    private WeightStage.Emitted emitted;

    private SharedWeight(Graph owner, String key) {
        this.owner = owner;
        this.key = key;
    }

    /** The graph whose initializers hold the stored weight. */
    Graph owner() { return owner; }

    String key() { return key; }

    /** What the first reader emitted; empty before it ran. */
    Optional<WeightStage.Emitted> emitted() { return Optional.ofNullable(emitted); }

    void emitted(WeightStage.Emitted e) {
        if (emitted != null) throw new IllegalStateException("shared weight " + key + " emitted twice");
        emitted = e;
    }

    /**
     * The shared weight of {@code layer}'s plan from {@code registry} (one per model), or empty where the weight is
     * not shared: it is computed in the layer's own graph, or GPTQ (which depends on the layer's Gram matrix) or
     * SmoothQuant (the activation's scales) shape it.
     */
    static Optional<SharedWeight> of(Map<String, SharedWeight> registry, LinearLayer layer, WeightPlan.Form form, WeightPlanPart part) {
        if (registry == null || part.gptq() || part.features().smoothing().isPresent()) return Optional.empty();
        ConstantFolder.Folded folded = LayerWeight.folded(layer);
        ConstantFolder.Read source = folded.reads().get(folded.reads().size() - 1);
        StringBuilder chain = new StringBuilder();
        for (ConstantFolder.Read r : folded.reads()) {
            if (r.graph() == layer.graph()) {
                // a chain part local to the layer's graph: compare what it computes, not its name
                if (r.producer() != null) chain.append(r.producer().getOpType()).append(r.producer().getAttributeList()).append(r.data() ? "" : "operand");
                else chain.append("local:").append(r.tensor());
            } else {
                chain.append(r.graph().scope()).append(':').append(r.tensor());
            }
            chain.append('|');
        }
        String key = source.graph().scope() + "|" + source.tensor() + "|" + chain + "|T=" + layer.transposeWeight() + "|" + form + "|"
                + part.method() + "|" + part.block() + "|" + part.int4() + "|" + part.features().shareKey() + "|" + part.features().features();
        return Optional.of(registry.computeIfAbsent(key, k -> new SharedWeight(source.graph(), k)));
    }

    /** The plan fields that decide the stored values. */
    record WeightPlanPart(ai.stamp.compiler.StampConfig.WeightQuant method, int block, boolean int4, FeaturePlan features) {
        boolean gptq() { return method.isGptq(); }
    }
}
