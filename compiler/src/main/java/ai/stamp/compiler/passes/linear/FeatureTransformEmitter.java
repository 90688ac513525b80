package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.quant.FeatureWeightTransform;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.compiler.rewrite.Rewriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The feature transforms of STAMP.md section 6 in front of one linear layer, called by {@link StampRule}:
 * <pre>
 *   X' = X · diag(1/s) · R        W' = R^T · diag(s) · W        X' W' = X W
 * </pre>
 * SmoothQuant's diag(1/s) (when {@code --smooth}) is folded into X's producer or emitted as {@code Mul(X, 1/s)}
 * (see {@link SmoothingPlanner}); the rotation R (when {@code --rotate}) is emitted as {@code MatMul(·, R)} with
 * one constant R initializer per (D, kind) per graph. The weight side is returned as a {@link FeatureWeightTransform}
 * for {@link WeightEmitter} to apply offline. Everything on the activation side is emitted once per activation
 * tensor and shared by the layers that read it. With both transforms off nothing is emitted.
 */
final class FeatureTransformEmitter {
    /** Seed of the random sign diagonal of {@link StampConfig.Rotation#RANDOM_HADAMARD} (fixed: builds are reproducible). */
    static final long RANDOM_HADAMARD_SEED = 0;

    /**
     * @param input    the tensor the rest of the rewrite reads instead of X
     * @param weight   what to do to W so the product is unchanged
     * @param shareKey tells apart prepared inputs of the same X ("" when nothing was applied)
     * @param detail   for the report ("" when both transforms are off)
     */
    record Applied(String input, FeatureWeightTransform weight, String shareKey, String detail) {}

    private record Smoothed(String tensor, SmoothingPlanner.Decision decision, String detail) {}

    private final Rewriter rewriter;
    private final Rewriter.GraphEdit edit;
    private final StampConfig config;
    private final SmoothingPlanner smoothing;
    private final Map<String, Smoothed> smoothed = new HashMap<>();
    private final Map<String, String> skippedSmoothing = new HashMap<>();
    private final Map<String, String> rotated = new HashMap<>();
    private final Map<Integer, String> rotationInitializers = new HashMap<>();
    private final Map<Integer, double[]> rotations = new HashMap<>();

    FeatureTransformEmitter(Rewriter rewriter, Rewriter.GraphEdit edit, StampConfig config, CalibrationStats stats) {
        this.rewriter = rewriter;
        this.edit = edit;
        this.config = config;
        this.smoothing = new SmoothingPlanner(config, stats);
    }

    Applied apply(LinearLayer layer, List<NodeProto> nodes) {
        String x = layer.activation();
        if (!config.smooth() && config.rotation() == StampConfig.Rotation.NONE) {
            return new Applied(x, FeatureWeightTransform.IDENTITY, "", "");
        }
        List<String> details = new ArrayList<>();
        String weightProblem = WeightEmitter.weightProblem(layer);
        String input = x;
        float[] scales = null;
        double[] rotation = null;
        String key = "";
        if (config.smooth()) {
            Smoothed sm = smooth(layer, nodes);
            if (sm != null && sm.decision().smooths(layer)) {
                input = sm.tensor();
                scales = sm.decision().scales();
                key += "|smooth";
                details.add(sm.detail());
            } else {
                String why = sm == null ? skippedSmoothing.get(x) : weightProblem != null ? weightProblem : "not a smoothable reader of '" + x + "'";
                details.add("smooth skipped: " + why);
            }
        }
        if (config.rotation() != StampConfig.Rotation.NONE) {
            int d = (int) (long) layer.weightShape().get(0);
            String kind = config.rotation().name().toLowerCase().replace('_', '-');
            if (weightProblem != null) {
                details.add("rotate skipped: " + weightProblem);
            } else if (!Hadamard.supports(d)) {
                details.add("rotate skipped: no Hadamard matrix of order " + d + " (sizes 2^k, 12·2^k, 20·2^k, 28·2^k)");
            } else {
                String rotatedInput = rotated.get(input);
                if (rotatedInput == null) {
                    rotatedInput = rewriter.fresh(x + "_rot");
                    nodes.add(edit.node("MatMul", List.of(input, rotationInitializer(d)), List.of(rotatedInput), layer.name()));
                    rotated.put(input, rotatedInput);
            }
                input = rotatedInput;
                rotation = rotations.get(d);
                key += "|rot";
                details.add("rotate " + kind + " D=" + d);
            }
        }
        return new Applied(input, new FeatureWeightTransform(scales, rotation), key, String.join("; ", details));
    }

    /** X·diag(1/s) for this layer's input, planned and emitted once per activation; null when X is not smoothed. */
    private Smoothed smooth(LinearLayer layer, List<NodeProto> nodes) {
        String x = layer.activation();
        if (smoothed.containsKey(x)) return smoothed.get(x);
        if (skippedSmoothing.containsKey(x)) return null;
        SmoothingPlanner.Outcome outcome = smoothing.plan(layer.graph(), x);
        if (outcome instanceof SmoothingPlanner.Outcome.Skip skip) {
            skippedSmoothing.put(x, skip.reason());
            return null;
        }
        SmoothingPlanner.Decision d = ((SmoothingPlanner.Outcome.Smooth) outcome).decision();
        String alpha = "smooth α=" + config.smoothAlpha();
        Smoothed result;
        if (d.fold().isPresent()) {
            fold(d.fold().get(), inverse(d.scales()), layer.graph());
            result = new Smoothed(x, d, alpha + " folded into " + d.fold().get().describe());
        } else {
            String inv = edit.addInitializer(x + "_smooth_inv_s", WeightEmitter.floatTensor(inverse(d.scales()), new long[] {d.scales().length}));
            String out = rewriter.fresh(x + "_smooth");
            nodes.add(edit.node("Mul", List.of(x, inv), List.of(out), layer.name()));
            result = new Smoothed(out, d, alpha + " as inserted Mul (" + d.whyNotFolded() + ")");
        }
        smoothed.put(x, result);
        return result;
    }

    /** Rewrites the producer so it outputs X·diag(1/s): its per-feature constants are divided by s. */
    private void fold(SmoothingPlanner.Fold fold, float[] inv, Graph graph) {
        if (fold instanceof SmoothingPlanner.LayerNormFold ln) {
            NodeProto.Builder b = ln.node().toBuilder();
            for (int i = 1; i < Math.min(3, b.getInputCount()); i++) {
                if (!b.getInput(i).isEmpty()) b.setInput(i, scaledVector(graph, b.getInput(i), inv));
            }
            edit.replace(ln.node(), List.of(b.build()));
        } else if (fold instanceof SmoothingPlanner.MulAddFold ma) {
            edit.replace(ma.mul(), List.of(ma.mul().toBuilder().setInput(ma.gammaInput(), scaledVector(graph, ma.mul().getInput(ma.gammaInput()), inv)).build()));
            edit.replace(ma.add(), List.of(ma.add().toBuilder().setInput(ma.betaInput(), scaledVector(graph, ma.add().getInput(ma.betaInput()), inv)).build()));
        } else if (fold instanceof SmoothingPlanner.MatMulAddFold mm) {
            String w0 = mm.matmul().getInput(1);
            OnnxMl.TensorProto t = graph.initializer(w0).orElseThrow();
            float[] w = WeightEmitter.floats(t);
            int d = inv.length;
            for (int i = 0; i < w.length; i++) w[i] *= inv[i % d];
            edit.removeInitializer(w0);
            String nw = edit.addInitializer(w0 + "_smooth", WeightEmitter.floatTensor(w, new long[] {t.getDims(0), t.getDims(1)}));
            edit.replace(mm.matmul(), List.of(mm.matmul().toBuilder().setInput(1, nw).build()));
            edit.replace(mm.add(), List.of(mm.add().toBuilder().setInput(mm.biasInput(), scaledVector(graph, mm.add().getInput(mm.biasInput()), inv)).build()));
        }
    }

    /** A new initializer holding {@code name}'s values times {@code inv} (same shape); the old one is removed. */
    private String scaledVector(Graph graph, String name, float[] inv) {
        OnnxMl.TensorProto t = graph.initializer(name).orElseThrow();
        float[] v = WeightEmitter.floats(t);
        for (int i = 0; i < v.length; i++) v[i] *= inv[i];
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        edit.removeInitializer(name);
        return edit.addInitializer(name + "_smooth", WeightEmitter.floatTensor(v, dims));
    }

    private static float[] inverse(float[] s) {
        float[] inv = new float[s.length];
        for (int i = 0; i < s.length; i++) inv[i] = 1f / s[i];
        return inv;
    }

    /** The graph's R [d, d] initializer for the configured kind, added on first use. */
    private String rotationInitializer(int d) {
        return rotationInitializers.computeIfAbsent(d, k -> {
            boolean random = config.rotation() == StampConfig.Rotation.RANDOM_HADAMARD;
            double[] r = random ? Hadamard.randomized(d, RANDOM_HADAMARD_SEED) : Hadamard.matrix(d);
            rotations.put(d, r);
            float[] f = new float[r.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) r[i];
            String hint = "stamp_" + (random ? "random_hadamard_seed" + RANDOM_HADAMARD_SEED + "_" : "hadamard_") + d;
            return edit.addInitializer(hint, WeightEmitter.floatTensor(f, new long[] {d, d}));
        });
    }
}
