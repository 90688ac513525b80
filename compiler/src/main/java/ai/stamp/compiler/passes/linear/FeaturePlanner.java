package ai.stamp.compiler.passes.linear;

import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.ops.FloatType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Decides the feature transforms of each layer of one graph: whether SmoothQuant's decision for its input smooths
 * it, and whether the rotation applies (a Hadamard matrix of its feature size exists, its weight is readable). One
 * smoothing decision per activation, shared by its readers.
 */
final class FeaturePlanner {
    private final FeatureTransforms features;
    private final SmoothingPlanner smoothing;
    private final Graph graph;
    private final Map<String, SmoothingPlanner.Outcome> decisions = new HashMap<>();

    FeaturePlanner(FeatureTransforms features, SmoothingPlanner smoothing, Graph graph) {
        this.features = features;
        this.smoothing = smoothing;
        this.graph = graph;
    }

    FeaturePlan plan(LinearLayer layer) {
        if (!features.any()) return FeaturePlan.NONE;
        String x = layer.activation();
        List<String> details = new ArrayList<>();
        if (layer.type() != FloatType.FLOAT) {
            // the stages fold s and R into float32 producers and constants; a float16 / float64 layer keeps its features
            String why = " skipped: the layer computes in " + layer.type().label() + ", feature transforms are emitted for float32 layers only";
            if (features.smooth()) details.add("smooth" + why);
            if (features.rotates()) details.add("rotate" + why);
            return new FeaturePlan(Optional.empty(), Optional.empty(), layer.features(), String.join("; ", details));
        }
        String weightProblem = LayerWeight.problem(layer);
        Optional<SmoothingPlanner.Decision> smoothed = Optional.empty();
        if (features.smooth()) {
            SmoothingPlanner.Outcome outcome = decisions.computeIfAbsent(x, t -> smoothing.plan(graph, t));
            if (outcome instanceof SmoothingPlanner.Outcome.Smooth s && s.decision().smooths(layer)) {
                smoothed = Optional.of(s.decision());
                details.add(s.decision().describe());
            } else {
                String why = outcome instanceof SmoothingPlanner.Outcome.Skip skip ? skip.reason()
                        : weightProblem != null ? weightProblem : "not a smoothable reader of '" + x + "'";
                details.add("smooth skipped: " + why);
            }
        }
        int d = layer.features();
        Optional<ai.stamp.compiler.StampConfig.Rotation> rotation = Optional.empty();
        if (features.rotates()) {
            String kind = features.rotation().name().toLowerCase().replace('_', '-');
            if (weightProblem != null) {
                details.add("rotate skipped: " + weightProblem);
            } else if (!Hadamard.supports(d)) {
                details.add("rotate skipped: no Hadamard matrix of order " + d + " (sizes 2^k, 12·2^k, 20·2^k, 28·2^k)");
            } else {
                rotation = Optional.of(features.rotation());
                details.add("rotate " + kind + " D=" + d);
            }
        }
        return new FeaturePlan(smoothed, rotation, d, String.join("; ", details));
    }
}
