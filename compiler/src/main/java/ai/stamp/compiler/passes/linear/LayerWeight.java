package ai.stamp.compiler.passes.linear;

import ai.onnx.proto.OnnxMl.TensorProto;
import ai.stamp.compiler.ir.Tensors;
import java.util.Optional;

/** Reads a matched layer's weight values, for the stages that compute a new weight offline. */
public final class LayerWeight {
    private LayerWeight() {}

    /** Null when the layer's weight is a plain float32 rank-2 initializer (of this graph or an outer one), else why not. */
    public static String problem(LinearLayer layer) {
        String w = layer.weight();
        Optional<TensorProto> init = layer.graph().initializer(w);
        return init.isPresent() ? unreadable(w, init.get()) : "weight '" + w + "' is "
                + layer.graph().producer(w).map(p -> "computed by a " + p.getOpType() + " node").orElse("not an initializer")
                + ", not a float initializer";
    }

    /** The weight as the MatMul uses it, [D, N] row-major (a Gemm's transB folded in); only when {@link #problem} is null. */
    public static float[] valuesDN(LinearLayer layer) {
        TensorProto t = layer.graph().initializer(layer.weight()).orElseThrow();
        float[] values = Tensors.floats(t);
        return layer.transposeWeight() ? Tensors.transpose(values, (int) t.getDims(0), (int) t.getDims(1)) : values;
    }

    /** Null when {@code t} is a plain float32 rank-2 initializer with its data inline, else the problem. */
    private static String unreadable(String w, TensorProto t) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) return "weight '" + w + "' is stored as external data";
        if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            return "weight '" + w + "' is " + TensorProto.DataType.forNumber(t.getDataType()) + ", not float32";
        }
        if (t.getDimsCount() != 2) return "weight '" + w + "' has rank " + t.getDimsCount();
        long count = t.getDims(0) * t.getDims(1);
        long stored = t.getFloatDataCount() > 0 ? t.getFloatDataCount() : t.getRawData().size() / 4;
        if (count != stored) return "weight '" + w + "' holds " + stored + " values, its shape says " + count;
        return null;
    }
}
