package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.Hadamard;
import ai.stamp.compiler.rewrite.GraphEditor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Emits the online half of the rotation, {@code MatMul(X', R)}: one constant R initializer per feature size per
 * graph, one rotated tensor per input (shared by its readers). The weight's half, R^T W, is computed offline by
 * {@link WeightStage} from {@link #matrix}.
 */
final class RotationStage {
    static final String NAME = "rotation";
    /** Seed of the random sign diagonal of {@link StampConfig.Rotation#RANDOM_HADAMARD} (fixed: builds are reproducible). */
    static final long RANDOM_HADAMARD_SEED = 0;

    private final GraphEditor edit;
    private final StampConfig.Rotation kind;
    private final Map<String, String> rotated = new HashMap<>();
    private final Map<Integer, String> initializers = new HashMap<>();
    private final Map<Integer, double[]> matrices = new HashMap<>();

    RotationStage(GraphEditor edit, StampConfig.Rotation kind) {
        this.edit = edit;
        this.kind = kind;
    }

    /** input·R for an input of {@code d} features. */
    String apply(String input, int d, String activation, String forLayer, List<NodeProto> nodes) {
        String done = rotated.get(input);
        if (done != null) return done;
        String out = edit.fresh(activation + "_rot");
        nodes.add(edit.node("MatMul", List.of(input, initializer(d)), List.of(out), forLayer));
        rotated.put(input, out);
        return out;
    }

    /** R [d, d] row-major, as the online MatMul uses it. */
    double[] matrix(int d) {
        return matrices.computeIfAbsent(d, k -> kind == StampConfig.Rotation.RANDOM_HADAMARD ? Hadamard.randomized(d, RANDOM_HADAMARD_SEED)
                : Hadamard.matrix(d));
    }

    /** R's Hadamard structure, for the fast offline product R^T W. */
    Hadamard.Factors factors(int d) {
        return Hadamard.factors(d, kind == StampConfig.Rotation.RANDOM_HADAMARD ? RANDOM_HADAMARD_SEED : null);
    }

    /** The graph's R [d, d] initializer, added on first use. */
    private String initializer(int d) {
        return initializers.computeIfAbsent(d, k -> {
            double[] r = matrix(d);
            float[] f = new float[r.length];
            for (int i = 0; i < f.length; i++) f[i] = (float) r[i];
            boolean random = kind == StampConfig.Rotation.RANDOM_HADAMARD;
            String hint = "stamp_" + (random ? "random_hadamard_seed" + RANDOM_HADAMARD_SEED + "_" : "hadamard_") + d;
            return edit.addInitializer(hint, Tensors.floatTensor(f, d, d));
        });
    }
}
