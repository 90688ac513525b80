package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.ConstantFolder;
import ai.stamp.compiler.ir.Tensors;
import ai.stamp.compiler.quant.QuantizedArithmetic;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads a matched layer's weight values, for the stages that compute a new weight offline: a float initializer or
 * Constant, or a chain of shape-only ops and Cast to float over one ({@link ConstantFolder}).
 */
public final class LayerWeight {
    private LayerWeight() {}

    /** The layer's weight folded to its value, or why it cannot be. */
    static ConstantFolder.Outcome fold(LinearLayer layer) { return ConstantFolder.fold(layer.graph(), layer.weight()); }

    /** Null when the layer's weight folds to a rank-2 value of the layer's float type with its data inline, else why not. */
    public static String problem(LinearLayer layer) {
        String w = layer.weight();
        ConstantFolder.Outcome outcome = fold(layer);
        if (outcome instanceof ConstantFolder.Unfoldable u) {
            return "weight '" + w + "' " + (u.tensor().equals(w) ? "" : "is computed from '" + u.tensor() + "', which ") + u.problem();
        }
        ConstantFolder.Folded f = (ConstantFolder.Folded) outcome;
        if (f.external()) {
            return "weight '" + w + "' " + (f.source().equals(w) ? "" : "is computed from '" + f.source() + "', which ") + "is stored as external data";
        }
        if (f.type() != layer.type().dataType()) {
            return "weight '" + w + "' is " + TensorProto.DataType.forNumber(f.type()) + ", the layer computes in " + layer.type().label();
        }
        long[] dims = f.dims();
        if (dims.length != 2) return "weight '" + w + "' has rank " + dims.length;
        long[] used = layer.transposeWeight() ? new long[] {layer.outputs(), layer.features()} : new long[] {layer.features(), layer.outputs()};
        if (!Arrays.equals(dims, used)) {
            return "weight '" + w + "' folds to shape " + Arrays.toString(dims) + ", the graph's shapes say " + Arrays.toString(used);
        }
        return null;
    }

    /** The folded weight; only when {@link #problem} is null. */
    static ConstantFolder.Folded folded(LinearLayer layer) { return (ConstantFolder.Folded) fold(layer); }

    /**
     * The weight as the MatMul uses it, [D, N] row-major (a Gemm's transB folded in), as float32 (float16 exactly, float64
     * rounded: its int8 scales are float32 either way); only when {@link #problem} is null.
     */
    public static float[] valuesDN(LinearLayer layer) {
        float[] values = folded(layer).values();
        return layer.transposeWeight() ? Tensors.transpose(values, layer.outputs(), layer.features()) : values;
    }

    /**
     * Why the weight's values cannot be quantized with finite arithmetic ({@link QuantizedArithmetic#problem}), or
     * empty; only for an inline weight (external data is read later, streamed, and checked there).
     */
    static Optional<String> arithmeticProblem(LinearLayer layer) {
        if (problem(layer) != null) return Optional.empty();
        float maxAbs = 0;
        for (float v : valuesDN(layer)) {
            if (!Float.isFinite(v)) { maxAbs = v; break; }
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        String problem = QuantizedArithmetic.problem(maxAbs, layer.features());
        return problem == null ? Optional.empty() : Optional.of("weight '" + layer.weight() + "' " + problem);
    }

    /**
     * An initializer the weight is computed from that is also a graph input of the graph holding it (a default a
     * caller may replace at run time), if there is one: the weight itself, or the source of its chain.
     */
    static Optional<String> overridableSource(LinearLayer layer) {
        if (layer.graph().isOverridable(layer.weight())) return Optional.of(layer.weight());
        if (!(fold(layer) instanceof ConstantFolder.Folded f)) return Optional.empty();
        return f.reads().stream().filter(r -> r.producer() == null && r.graph().isOverridable(r.tensor()))
                .map(ConstantFolder.Read::tensor).findFirst();
    }
}
