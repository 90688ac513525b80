package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.passes.dequantize.QuantizedWeightDetector;
import ai.stamp.compiler.rewrite.GraphEditor;
import ai.stamp.compiler.rewrite.MalformedNodes;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.compiler.rewrite.Rule;
import ai.stamp.ops.MixedPrecisionQuantize;
import ai.stamp.ops.ScaledMatMulInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The STaMP rewrite of the linear layers of one graph:
 * <pre>
 *   Y = X W (+ b)   becomes   Y = L^T( Q(L X') W' ) (+ b),   X' = X diag(1/s) R,   W' = R^T diag(s) W (quantized)
 * </pre>
 * L = the sequence transform (sink tokens kept out, zero padding to whole blocks), Q = per-token mixed-precision
 * quantization, L^T = the inverse with the padding cropped; SmoothQuant's s and the rotation R are optional, and so
 * is the weight's quantization. The matched baseline drops L and L^T (same bits per token count); transform-only
 * drops Q.
 *
 * <p>Matching decides everything, in three steps over the graph, before anything is emitted: which layers are
 * accepted (the matcher's verdict, then already-quantized and overridable weights, then the token plan); the
 * smoothing decisions over the accepted layers; then per layer its feature transforms, its weight and its prepared
 * input, shared (the same {@link InputPlan}) by the layers that read one activation with one plan. {@link #rewrite}
 * then carries each plan out through the stages, in this order: smoothing, rotation, sequence transform,
 * activation quantization, inverse on the input side, weight, MatMul (with the inverse on the output side).
 */
final class LinearLayerRule implements Rule<LayerPlan> {
    static final String NAME = "linear-layer";

    /** What the rule needs beyond the graph: the planners of each concern. */
    record Planners(TokenPlanner tokens, WeightPlanner weights, StampConfig.InversePlacement inverseAt, FeatureTransforms features,
                    CalibrationStats stats, boolean dequantizeRequested, boolean bakesWeights, boolean overridableInputs,
                    StampConfig.Emit emit, MixedPrecisionQuantize.Form quantizeForm, ScaledMatMulInteger.Form productForm,
                    java.util.Optional<DecoderChunks> decoder) {}

    private final Graph graph;
    private final Planners planners;
    private final Map<NodeProto, Match<LinearLayer>> accepted = new IdentityHashMap<>();
    private final Map<NodeProto, TokenPlan> tokenPlans = new IdentityHashMap<>();
    private final FeaturePlanner features;
    private final Map<String, InputPlan> inputs = new HashMap<>();
    private Emission emission;

    LinearLayerRule(Graph graph, LayerMatches matches, Planners planners) {
        this.graph = graph;
        this.planners = planners;
        Map<String, TokenGridInference.TokenGrid> grids = planners.tokens().needsInferredGrids() ? TokenGridInference.infer(graph) : Map.of();
        Map<NodeProto, LinearLayer> acceptedLayers = new IdentityHashMap<>();
        Set<NodeProto> matched = Collections.newSetFromMap(new IdentityHashMap<>());
        for (NodeProto node : graph.nodes()) {
            Match<LinearLayer> m = MalformedNodes.guard(graph, node, () -> accept(matches.of(graph, node), grids));
            accepted.put(node, m);
            if (matches.of(graph, node) instanceof Match.Planned<LinearLayer>) matched.add(node);
            if (m instanceof Match.Planned<LinearLayer> p) acceptedLayers.put(node, p.plan());
        }
        this.features = new FeaturePlanner(planners.features(), new SmoothingPlanner(planners.features(), planners.stats(), acceptedLayers, matched), graph);
    }

    @Override public String name() { return NAME; }

    /** The matcher's verdict, then: not already quantized, not an overridable weight to bake, a token plan. */
    private Match<LinearLayer> accept(Match<LinearLayer> matched, Map<String, TokenGridInference.TokenGrid> grids) {
        if (!(matched instanceof Match.Planned<LinearLayer> p)) return matched;
        LinearLayer layer = p.plan();
        Optional<String> quantized = QuantizedWeightDetector.skipReason(graph, layer.weight(), planners.dequantizeRequested());
        if (quantized.isPresent()) return Match.refused(Refusal.Code.ALREADY_QUANTIZED, quantized.get());
        Optional<String> overridable = planners.bakesWeights() && planners.overridableInputs() ? LayerWeight.overridableSource(layer) : Optional.empty();
        if (overridable.isPresent()) {
            String w = layer.weight(), source = overridable.get();
            return Match.refused(Refusal.Code.OVERRIDABLE_WEIGHT, "weight '" + w + "' " + (source.equals(w) ? "" : "is computed from '" + source + "', which ")
                    + "is also a graph input, so a caller may replace it at run time; quantizing or transforming it would bake today's value in:"
                    + " layer left alone");
        }
        Optional<String> unquantizable = planners.bakesWeights() ? LayerWeight.arithmeticProblem(layer) : Optional.empty();
        if (unquantizable.isPresent()) return Match.refused(Refusal.Code.NON_FINITE_WEIGHT, unquantizable.get() + ": layer left alone");
        Match<TokenPlan> tokens = planners.tokens().plan(layer, grids);
        if (tokens instanceof Match.Refused<TokenPlan> r) return new Match.Refused<>(r.refusal());
        tokenPlans.put(layer.node(), ((Match.Planned<TokenPlan>) tokens).plan());
        return matched;
    }

    @Override
    public Match<LayerPlan> match(Graph g, NodeProto node) {
        if (g != graph) throw new IllegalArgumentException("this rule plans graph " + graph.path() + ", not " + g.path());
        Match<LinearLayer> m = accepted.get(node);
        if (m instanceof Match.NotApplicable<LinearLayer>) {
            return QuantizedWeightDetector.isIntegerMatMul(node)
                    ? Match.refused(Refusal.Code.ALREADY_QUANTIZED, QuantizedWeightDetector.integerMatMulReason(node, planners.dequantizeRequested()))
                    : Match.notApplicable();
        }
        if (m instanceof Match.Refused<LinearLayer> r) return new Match.Refused<>(r.refusal());
        LinearLayer layer = ((Match.Planned<LinearLayer>) m).plan();
        TokenPlan tokens = tokenPlans.get(node);
        FeaturePlan featurePlan = features.plan(layer);
        WeightPlan weight = planners.weights().plan(layer, featurePlan, planners.emit() != StampConfig.Emit.SIMULATE && tokens.quantizes());
        // the integer GEMM consumes the quantized coefficients, so its inverse always runs on the output side
        boolean inverseFirst = tokens.transforms() && !weight.integer() && inverseOnInput(layer);
        InputPlan planned = new InputPlan(layer.activation(), layer.type(), featurePlan, tokens, inverseFirst, weight.integer());
        InputPlan input = inputs.computeIfAbsent(planned.key(), k -> planned);
        return Match.planned(new LayerPlan(layer, input, weight));
    }

    /** Whether L^T runs on the layer's input side (see {@link StampConfig.InversePlacement}). */
    private boolean inverseOnInput(LinearLayer layer) {
        return switch (planners.inverseAt()) {
            case OUTPUT -> false;
            case INPUT -> true;
            case AUTO -> layer.outputs() >= layer.features();
        };
    }

    @Override
    public void rewrite(LayerPlan plan, GraphEditor edit) {
        if (emission == null) emission = new Emission(edit);
        emission.emit(plan);
    }

    /** The stages of one graph's rewrite and what they emitted so far (each shared input once). */
    private final class Emission {
        final GraphEditor edit;
        final SmoothingStage smoothing;
        final RotationStage rotation;
        final SequenceTransformStage sequence;
        final ActivationQuantStage quantization;
        final WeightStage weights;
        final MatMulStage matmul;
        final Map<InputPlan, String> prepared = new IdentityHashMap<>();
        final Map<InputPlan, ActivationQuantStage.Quantized> preparedIntegers = new IdentityHashMap<>();

        /** Each stage labels the nodes it makes "linear-layer/STAGE". */
        Emission(GraphEditor edit) {
            this.edit = edit;
            this.smoothing = new SmoothingStage(stage(edit, SmoothingStage.NAME), graph);
            this.rotation = new RotationStage(stage(edit, RotationStage.NAME), planners.features().rotation());
            Chunking chunking = Chunking.of(planners.decoder(), edit.model());
            this.sequence = new SequenceTransformStage(stage(edit, SequenceTransformStage.NAME), chunking);
            this.quantization = new ActivationQuantStage(stage(edit, ActivationQuantStage.NAME), planners.quantizeForm(), chunking);
            this.weights = new WeightStage(stage(edit, WeightStage.NAME), planners.stats(), planners.weights().external(), rotation);
            this.matmul = new MatMulStage(stage(edit, MatMulStage.NAME), sequence, planners.productForm());
        }

        private static GraphEditor stage(GraphEditor edit, String stage) { return edit.as(NAME + "/" + stage); }

        void emit(LayerPlan plan) {
            LinearLayer layer = plan.layer();
            String name = layer.name();
            List<NodeProto> nodes = new ArrayList<>();
            String input = featureInput(plan.input(), layer, nodes);
            if (plan.input().integer()) {
                ActivationQuantStage.Quantized q = preparedIntegers.get(plan.input());
                if (q == null) {
                    q = prepareInteger(plan.input(), input, name, nodes);
                    preparedIntegers.put(plan.input(), q);
                }
                matmul.emitInteger(plan, q, weights.emit(plan.weight(), layer, nodes), nodes);
            } else {
                String prepared = this.prepared.get(plan.input());
                if (prepared == null) {
                    prepared = prepare(plan.input(), input, name, nodes);
                    this.prepared.put(plan.input(), prepared);
                }
                String weight = weights.emit(plan.weight(), layer, nodes).tensor();
                if (plan.weight().form() == WeightPlan.Form.UNCHANGED && layer.transposeWeight()) weight = matmul.transposed(weight, name, nodes);
                matmul.emit(plan, prepared, weight, nodes);
            }
            edit.replace(layer.node(), nodes);
        }

        /** L X' as uint8 coefficients with their per-token scale and zero point, for the integer GEMM. */
        private ActivationQuantStage.Quantized prepareInteger(InputPlan in, String input, String forLayer, List<NodeProto> nodes) {
            TokenPlan tokens = in.tokens();
            String z = tokens.transforms() ? sequence.forward(tokens, in.type(), input, in.activation(), forLayer, nodes) : input;
            return quantization.quantizeToInteger(tokens, in.type(), z, in.activation(), forLayer, nodes);
        }

        /** X diag(1/s) R (each part emitted once per tensor), or X itself. */
        private String featureInput(InputPlan in, LinearLayer layer, List<NodeProto> nodes) {
            String x = in.activation();
            FeaturePlan f = in.features();
            if (f.smoothing().isPresent()) x = smoothing.apply(f.smoothing().get(), layer.name(), nodes);
            if (f.rotation().isPresent()) x = rotation.apply(x, f.features(), in.activation(), layer.name(), nodes);
            return x;
        }

        /** L X' quantized (each part that applies), then L^T when the inverse runs on the input side. */
        private String prepare(InputPlan in, String input, String forLayer, List<NodeProto> nodes) {
            TokenPlan tokens = in.tokens();
            String x = in.activation();
            String z = tokens.transforms() ? sequence.forward(tokens, in.type(), input, x, forLayer, nodes) : input;
            if (tokens.quantizes()) z = quantization.quantize(tokens, in.type(), z, x, forLayer, nodes);
            if (!in.inverseFirst()) return z;
            // L^T Q(L X): back in the token domain, so the MatMul needs no inverse and readers share this one
            String restored = edit.fresh(x + "_stamp_dq");
            sequence.inverse(tokens, in.type(), z, input, restored, forLayer, nodes);
            return restored;
        }
    }
}
