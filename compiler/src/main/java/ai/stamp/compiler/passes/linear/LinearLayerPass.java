package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.IntegerSources;
import ai.stamp.compiler.quant.WeightStorage;
import ai.stamp.compiler.rewrite.GraphWalker;
import ai.stamp.compiler.rewrite.MalformedNodes;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.ModelEditor;
import ai.stamp.compiler.rewrite.Pass;
import ai.stamp.ops.MixedPrecisionQuantize;
import ai.stamp.ops.ScaledMatMulInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The linear-layer rewrite of a whole model: one {@link LinearLayerRule} per graph, every node of every graph in
 * walk order ({@link GraphWalker}). Its plan holds the decision on every node, which is all that {@code inspect},
 * {@code --dry-run} and the report need; {@link #rewrite} emits the planned layers in the same order.
 */
public final class LinearLayerPass implements Pass<LinearLayerPass.Plan> {
    /** IR version from which an initializer listed as a graph input is an overridable default (below it: a constant). */
    static final long MIN_IR_OVERRIDABLE_INITIALIZERS = 4;

    private final StampConfig config;
    private final CalibrationStats stats;
    private final ExternalWeights external;
    private final int opset;
    private final IntegerSources integers;

    /**
     * @param opset    the model's default opset (the stored weight forms depend on it)
     * @param external how external-data weights are read (NONE: they are left as they are)
     */
    public LinearLayerPass(StampConfig config, CalibrationStats stats, ExternalWeights external, int opset) {
        this(config, stats, external, opset, IntegerSources.NONE);
    }

    /** As above; {@code integers}: the restored QDQ weights' own integers, kept where RTN8 per channel re-quantizes them. */
    public LinearLayerPass(StampConfig config, CalibrationStats stats, ExternalWeights external, int opset, IntegerSources integers) {
        this.integers = integers;
        this.config = config;
        this.stats = stats;
        this.external = external;
        this.opset = opset;
    }

    /** One node's decision, in the graph that holds it. */
    public record Step(Graph graph, NodeProto node, Match<LayerPlan> match, LinearLayerRule rule) {}

    /**
     * The decisions on every node of the model, in walk order; {@code chunks}: the decoder's past length when the graph
     * has a KV cache (the sequence ops are then the chunk ops).
     */
    public record Plan(List<Step> steps, Optional<DecoderChunks> chunks) {
        /** Chunk lengths (tokens, past) the report gives effective bits for: prefills of several lengths and a decode step. */
        private static final int[][] REPORTED_CHUNKS = {{16, 0}, {128, 0}, {512, 0}, {1, 512}, {4, 512}};

        /** For a decoder: where P comes from and the effective activation bits of prefill and decode chunks. */
        public Optional<StampReport.Decoder> decoder() {
            if (chunks.isEmpty()) return Optional.empty();
            List<StampReport.ChunkBits> bits = new ArrayList<>();
            for (int[] c : REPORTED_CHUNKS) {
                double sum = 0;
                int n = 0;
                for (Step s : steps) {
                    if (s.match() instanceof Match.Planned<LayerPlan> p && p.plan().tokens().quantizes() && !p.plan().tokens().transformed().is2d()) {
                        sum += p.plan().tokens().tokenPrecision().chunked().averageBits(c[0], c[1]);
                        n++;
                    }
                }
                if (n > 0) bits.add(new StampReport.ChunkBits(c[1] == 0 ? "prefill" : "decode", c[0], c[1], sum / n));
            }
            return Optional.of(new StampReport.Decoder(chunks.get().source().describe(), List.copyOf(bits)));
        }

        /** The layers that will be rewritten, as report lines. */
        public List<StampReport.Layer> rewritten() {
            List<StampReport.Layer> out = new ArrayList<>();
            for (Step s : steps) if (s.match() instanceof Match.Planned<LayerPlan> p) out.add(p.plan().report());
            return out;
        }

        /** The MatMul/Gemm (and integer matmul) nodes left alone, each with its refusal. */
        public List<StampReport.Skipped> skipped() {
            List<StampReport.Skipped> out = new ArrayList<>();
            for (Step s : steps) {
                if (s.match() instanceof Match.Refused<LayerPlan> r) {
                    out.add(new StampReport.Skipped(Graph.nameOf(s.node()), s.node().getOpType(), s.graph().path(), r.refusal().code().id(),
                            r.refusal().detail()));
                }
            }
            return out;
        }
    }

    @Override public String name() { return LinearLayerRule.NAME; }

    @Override
    public Plan plan(OnnxMl.ModelProto model) { return plan(model, LayerMatches.of(model, config.selection())); }

    /** As {@link #plan(OnnxMl.ModelProto)} with the matcher's verdicts already computed for {@code model}. */
    public Plan plan(OnnxMl.ModelProto model, LayerMatches matches) {
        Graph main = matches.graphs().get(0);
        Optional<DecoderChunks> chunks = PastLength.of(main).map(p -> new DecoderChunks(p, main));
        LinearLayerRule.Planners planners = new LinearLayerRule.Planners(
                new TokenPlanner(config.mode(), config.sequence(), config.precision(), stats),
                new WeightPlanner(config.weightQuantization(), new WeightStorage(opset), stats, external, integers, new HashMap<>()),
                config.inverseAt(), config.features(), stats, config.dequantizeWeights(),
                config.weightQuantization().enabled() || config.features().any(),
                model.getIrVersion() >= MIN_IR_OVERRIDABLE_INITIALIZERS, config.emit(), quantizeForm(),
                config.portable() ? ScaledMatMulInteger.Form.STANDARD : ScaledMatMulInteger.Form.ONNXRUNTIME, chunks);
        Map<String, LinearLayerRule> rules = new HashMap<>();
        for (Graph g : matches.graphs()) rules.put(g.scope(), new LinearLayerRule(g, matches, planners));
        List<Step> steps = new ArrayList<>();
        for (GraphWalker.Visit v : matches.visits()) {
            LinearLayerRule rule = rules.get(v.graph().scope());
            Match<LayerPlan> m = MalformedNodes.guard(v.graph(), v.node(), () -> rule.match(v.graph(), v.node()));
            if (!(m instanceof Match.NotApplicable<LayerPlan>)) steps.add(new Step(v.graph(), v.node(), m, rule));
        }
        return new Plan(List.copyOf(acrossLayers(steps, matches.graphs())), chunks);
    }

    /**
     * The originals that go only because every reader of them, in every graph, is rewritten (an outer-scope weight both
     * branches of an If read; a weight two layers of one graph read): {@link OriginalWeight#acrossLayers}.
     */
    private static List<Step> acrossLayers(List<Step> steps, List<Graph> graphs) {
        Map<NodeProto, LinearLayer> rewritten = new java.util.IdentityHashMap<>();
        Map<NodeProto, OriginalWeight> originals = new java.util.IdentityHashMap<>();
        for (Step s : steps) {
            if (s.match() instanceof Match.Planned<LayerPlan> p && p.plan().weight().form() != WeightPlan.Form.UNCHANGED) {
                rewritten.put(s.node(), p.plan().layer());
                originals.put(s.node(), p.plan().weight().original());
            }
        }
        Map<NodeProto, OriginalWeight> decided = OriginalWeight.acrossLayers(graphs, rewritten, originals);
        if (decided.isEmpty()) return steps;
        List<Step> out = new ArrayList<>(steps.size());
        for (Step s : steps) {
            OriginalWeight o = decided.get(s.node());
            if (o != null && s.match() instanceof Match.Planned<LayerPlan> p) {
                LayerPlan lp = p.plan();
                out.add(new Step(s.graph(), s.node(), Match.planned(new LayerPlan(lp.layer(), lp.input(), lp.weight().withOriginal(o))), s.rule()));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    /** Per-axis QuantizeLinear where the opset has it, ONNX Runtime's where it does not (unless --portable), else arithmetic. */
    private MixedPrecisionQuantize.Form quantizeForm() {
        if (opset >= 13) return MixedPrecisionQuantize.Form.QUANTIZE_LINEAR;
        return config.portable() ? MixedPrecisionQuantize.Form.ARITHMETIC : MixedPrecisionQuantize.Form.ONNXRUNTIME;
    }

    @Override
    public void rewrite(Plan plan, ModelEditor editor) {
        for (Step s : plan.steps()) {
            if (s.match() instanceof Match.Planned<LayerPlan> p) s.rule().rewrite(p.plan(), editor.graph(s.graph(), s.rule().name()));
        }
    }
}
