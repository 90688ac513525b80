package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.Graph;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.rewrite.GraphEditor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Emits SmoothQuant's X·diag(1/s) as its {@link SmoothingPlanner.Decision} says: folded into X's producer (its
 * per-feature constants divided by s; X keeps its name) or as {@code Mul(X, 1/s)}. Once per activation, with the
 * first smoothed layer that reads it.
 */
final class SmoothingStage {
    static final String NAME = "smoothing";

    private final GraphEditor edit;
    private final Graph graph;
    private final Map<String, String> smoothed = new HashMap<>();

    SmoothingStage(GraphEditor edit, Graph graph) {
        this.edit = edit;
        this.graph = graph;
    }

    /** The tensor holding X·diag(1/s). */
    String apply(SmoothingPlanner.Decision d, String forLayer, List<NodeProto> nodes) {
        String x = d.activation();
        String done = smoothed.get(x);
        if (done != null) return done;
        float[] inv = inverse(d.scales());
        String out;
        if (d.fold().isPresent()) {
            fold(d.fold().get(), inv);
            out = x;
        } else {
            String invName = edit.addInitializer(x + "_smooth_inv_s", Tensors.floatTensor(inv, inv.length));
            out = edit.fresh(x + "_smooth");
            nodes.add(edit.node("Mul", List.of(x, invName), List.of(out), forLayer));
        }
        smoothed.put(x, out);
        return out;
    }

    /** Rewrites the producer so it outputs X·diag(1/s): its per-feature constants are divided by s. */
    private void fold(SmoothingPlanner.Fold fold, float[] inv) {
        if (fold instanceof SmoothingPlanner.LayerNormFold ln) {
            NodeProto.Builder b = ln.node().toBuilder();
            for (int i = 1; i < Math.min(3, b.getInputCount()); i++) {
                if (!b.getInput(i).isEmpty()) b.setInput(i, scaledVector(b.getInput(i), inv));
            }
            edit.replace(ln.node(), List.of(b.build()));
        } else if (fold instanceof SmoothingPlanner.MulAddFold ma) {
            edit.replace(ma.mul(), List.of(ma.mul().toBuilder().setInput(ma.gammaInput(), scaledVector(ma.mul().getInput(ma.gammaInput()), inv)).build()));
            edit.replace(ma.add(), List.of(ma.add().toBuilder().setInput(ma.betaInput(), scaledVector(ma.add().getInput(ma.betaInput()), inv)).build()));
        } else if (fold instanceof SmoothingPlanner.MatMulAddFold mm) {
            String w0 = mm.matmul().getInput(1);
            OnnxMl.TensorProto t = graph.initializer(w0).orElseThrow();
            float[] w = Tensors.floats(t);
            int d = inv.length;
            for (int i = 0; i < w.length; i++) w[i] *= inv[i % d];
            edit.removeInitializer(w0);
            String nw = edit.addInitializer(w0 + "_smooth", Tensors.floatTensor(w, t.getDims(0), t.getDims(1)));
            edit.replace(mm.matmul(), List.of(mm.matmul().toBuilder().setInput(1, nw).build()));
            edit.replace(mm.add(), List.of(mm.add().toBuilder().setInput(mm.biasInput(), scaledVector(mm.add().getInput(mm.biasInput()), inv)).build()));
        }
    }

    /** A new initializer holding {@code name}'s values times {@code inv} (same shape); the old one is removed. */
    private String scaledVector(String name, float[] inv) {
        OnnxMl.TensorProto t = graph.initializer(name).orElseThrow();
        float[] v = Tensors.floats(t);
        for (int i = 0; i < v.length; i++) v[i] *= inv[i];
        edit.removeInitializer(name);
        return edit.addInitializer(name + "_smooth", Tensors.floatTensor(v, Tensors.dims(t)));
    }

    private static float[] inverse(float[] s) {
        float[] inv = new float[s.length];
        for (int i = 0; i < s.length; i++) inv[i] = 1f / s[i];
        return inv;
    }
}
