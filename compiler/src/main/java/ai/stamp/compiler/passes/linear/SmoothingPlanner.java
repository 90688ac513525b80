package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.calibration.ActivationStats;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.config.FeatureTransforms;
import ai.stamp.compiler.ir.Attrs;
import ai.stamp.compiler.ir.Graph;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides SmoothQuant for one activation tensor X: the per-channel scales s and where {@code X·diag(1/s)} goes.
 * Reads the graph and the layers the pass accepted (it never matches again); {@link SmoothingStage} emits what it
 * decides.
 *
 * <p>{@code s_j = max|X_j|^α / max_n |W_{j,n}|^(1−α)}, the weight maximum taken over every linear layer reading X
 * (Q, K and V share one s), clamped to [1e-5, 1e5]; s_j = 1 where the activation or weight channel is all zero.
 *
 * <p>The division is folded into X's producer when that is exact and safe: a LayerNormalization with initializer
 * scale/bias, an {@code Add(Mul(·, γ), β)} or an {@code Add(MatMul(·, W0), b0)} whose constants are initializers of
 * this graph read only there (the MatMul not itself a matched linear layer), and only when every reader of
 * X is one of the smoothed linear layers (post-LN models also feed X to the residual: there folding would change
 * the residual). Otherwise the emitter inserts {@code Mul(X, 1/s)} in front of the smoothed layers only.
 */
final class SmoothingPlanner {
    static final double MIN_SCALE = 1e-5;
    static final double MAX_SCALE = 1e5;

    /** Where diag(1/s) is folded. */
    sealed interface Fold {
        String describe();
    }

    /** LayerNormalization(·, scale, bias?): scale and bias divided by s. */
    record LayerNormFold(NodeProto node) implements Fold {
        public String describe() { return "LayerNorm '" + Graph.nameOf(node) + "'"; }
    }

    /** Add(Mul(·, γ), β): γ and β divided by s. */
    record MulAddFold(NodeProto mul, int gammaInput, NodeProto add, int betaInput) implements Fold {
        public String describe() { return "LayerNorm-like Mul/Add '" + Graph.nameOf(mul) + "'/'" + Graph.nameOf(add) + "'"; }
    }

    /** Add(MatMul(·, W0), b0): W0's columns and b0 divided by s. */
    record MatMulAddFold(NodeProto matmul, NodeProto add, int biasInput) implements Fold {
        public String describe() { return "MatMul/Add '" + Graph.nameOf(matmul) + "'/'" + Graph.nameOf(add) + "'"; }
    }

    /**
     * The decision for one activation: {@code layers} are the smoothed readers (their weights become diag(s)·W);
     * {@code fold} is empty when a Mul is inserted, and {@code whyNotFolded} then says why.
     */
    public record Decision(String activation, float[] scales, List<NodeProto> layers, Optional<Fold> fold, String whyNotFolded, double alpha) {
        boolean smooths(LinearLayer layer) { return layers.contains(layer.node()); }

        /** For reports: "smooth α=0.5 folded into LayerNorm 'ln'" or "... as inserted Mul (why)". */
        String describe() {
            return "smooth α=" + alpha + (fold.isPresent() ? " folded into " + fold.get().describe() : " as inserted Mul (" + whyNotFolded + ")");
        }
    }

    /** A decision, or why X is not smoothed at all. */
    public sealed interface Outcome {
        record Smooth(Decision decision) implements Outcome {}

        record Skip(String reason) implements Outcome {}
    }

    private final double alpha;
    private final CalibrationStats stats;
    private final Map<NodeProto, LinearLayer> accepted;
    private final Set<NodeProto> matched;

    /**
     * @param accepted the layers of the graph the pass will rewrite (only they can be smoothed)
     * @param matched  every node the matcher took as a linear layer (a fold never rewrites one of them)
     */
    SmoothingPlanner(FeatureTransforms features, CalibrationStats stats, Map<NodeProto, LinearLayer> accepted, Set<NodeProto> matched) {
        this.alpha = features.smoothAlpha();
        this.stats = stats;
        this.accepted = accepted;
        this.matched = matched;
    }

    Outcome plan(Graph graph, String x) {
        Optional<ActivationStats> st = stats.of(x);
        if (st.isEmpty() || st.get().channelAbsMax() == null) return new Outcome.Skip("no calibration statistics for '" + x + "'");
        float[] actMax = st.get().channelAbsMax();
        int d = actMax.length;
        List<LinearLayer> layers = new ArrayList<>();
        boolean allReadersSmoothed = !graph.isGraphOutput(x);
        for (NodeProto c : graph.consumers(x)) {
            Optional<LinearLayer> l = smoothable(c, x, d);
            if (l.isPresent() && layers.stream().noneMatch(o -> o.node() == c)) layers.add(l.get());
            if (l.isEmpty()) allReadersSmoothed = false;
        }
        if (layers.isEmpty()) return new Outcome.Skip("no linear layer reading '" + x + "' has a float [" + d + ", N] weight");
        float[] s = scales(actMax, weightRowMax(layers, d), alpha);
        List<NodeProto> nodes = layers.stream().map(LinearLayer::node).toList();

        String why;
        Optional<Fold> fold = Optional.empty();
        if (!allReadersSmoothed) {
            why = "'" + x + "' is also read by something other than the smoothed layers";
        } else {
            fold = foldTarget(graph, x, d);
            why = fold.isPresent() ? "" : graph.producer(x).map(p -> "its producer '" + Graph.nameOf(p) + "' (" + p.getOpType()
                    + ") is not a LayerNorm, Add(Mul(·, γ), β) or Add(MatMul(·, W0), b0) with initializers read only there")
                    .orElse("'" + x + "' has no producer node in this graph");
        }
        return new Outcome.Smooth(new Decision(x, s, nodes, fold, why, alpha));
    }

    /** The consumer as an accepted linear layer reading X with a readable [d, N] float weight, if it is one. */
    private Optional<LinearLayer> smoothable(NodeProto c, String x, int d) {
        LinearLayer l = accepted.get(c);
        if (l == null) return Optional.empty();
        if (!l.activation().equals(x) || l.weight().equals(x) || LayerWeight.problem(l) != null) return Optional.empty();
        if (l.weightShape().get(0) != d) return Optional.empty();
        return Optional.of(l);
    }

    private static double[] weightRowMax(List<LinearLayer> layers, int d) {
        double[] m = new double[d];
        for (LinearLayer l : layers) {
            float[] w = LayerWeight.valuesDN(l);
            int n = w.length / d;
            for (int j = 0; j < d; j++)
                for (int k = 0; k < n; k++) m[j] = Math.max(m[j], Math.abs(w[j * n + k]));
        }
        return m;
    }

    /** s_j = a_j^α / w_j^(1−α), clamped; 1 where either is zero. */
    static float[] scales(float[] actMax, double[] weightMax, double alpha) {
        float[] s = new float[actMax.length];
        for (int j = 0; j < s.length; j++) {
            double a = Math.abs(actMax[j]), w = weightMax[j];
            if (a == 0 || w == 0 || !Double.isFinite(a)) { s[j] = 1; continue; }
            double v = Math.pow(a, alpha) / Math.pow(w, 1 - alpha);
            s[j] = (float) Math.min(MAX_SCALE, Math.max(MIN_SCALE, v));
        }
        return s;
    }

    private Optional<Fold> foldTarget(Graph graph, String x, int d) {
        Optional<NodeProto> p = graph.producer(x);
        if (p.isEmpty() || !p.get().getDomain().isEmpty() || p.get().getOutputCount() < 1 || !p.get().getOutput(0).equals(x)) return Optional.empty();
        NodeProto n = p.get();
        if (n.getOpType().equals("LayerNormalization") && Attrs.i(n, "axis", -1) == -1 && n.getInputCount() >= 2
                && privateVector(graph, n.getInput(1), d) && (n.getInputCount() < 3 || n.getInput(2).isEmpty() || privateVector(graph, n.getInput(2), d))) {
            return Optional.of(new LayerNormFold(n));
        }
        if (!n.getOpType().equals("Add") || n.getInputCount() != 2) return Optional.empty();
        for (int b = 0; b < 2; b++) {
            if (!privateVector(graph, n.getInput(b), d)) continue;
            String other = n.getInput(1 - b);
            Optional<NodeProto> inner = graph.producer(other);
            if (inner.isEmpty() || !inner.get().getDomain().isEmpty() || graph.consumers(other).size() != 1 || graph.isGraphOutput(other)) continue;
            NodeProto in = inner.get();
            if (in.getOpType().equals("Mul") && in.getInputCount() == 2) {
                for (int g = 0; g < 2; g++) {
                    if (privateVector(graph, in.getInput(g), d)) return Optional.of(new MulAddFold(in, g, n, b));
                }
            }
            if (in.getOpType().equals("MatMul") && privateMatrix(graph, in.getInput(1), d) && !matched.contains(in)) {
                return Optional.of(new MatMulAddFold(in, n, b));
            }
        }
        return Optional.empty();
    }

    /** A float initializer of this graph with d values along its last axis, read by exactly one node. */
    private static boolean privateVector(Graph graph, String name, int d) {
        Optional<OnnxMl.TensorProto> t = privateInitializer(graph, name);
        if (t.isEmpty()) return false;
        long count = 1;
        for (long dim : t.get().getDimsList()) count *= dim;
        return count == d && t.get().getDimsCount() >= 1 && t.get().getDims(t.get().getDimsCount() - 1) == d;
    }

    /** A float [K, d] initializer of this graph read by exactly one node. */
    private static boolean privateMatrix(Graph graph, String name, int d) {
        Optional<OnnxMl.TensorProto> t = privateInitializer(graph, name);
        return t.isPresent() && t.get().getDimsCount() == 2 && t.get().getDims(1) == d;
    }

    private static Optional<OnnxMl.TensorProto> privateInitializer(Graph graph, String name) {
        Optional<OnnxMl.TensorProto> t = graph.proto().getInitializerList().stream().filter(i -> i.getName().equals(name)).findFirst();
        if (t.isEmpty() || t.get().getDataType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE
                || t.get().getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) return Optional.empty();
        if (graph.consumers(name).size() != 1 || graph.isGraphOutput(name)) return Optional.empty();
        if (graph.proto().getInputList().stream().anyMatch(v -> v.getName().equals(name))) return Optional.empty();
        return t;
    }
}
