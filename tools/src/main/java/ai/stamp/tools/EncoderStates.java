package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.StampException;
import ai.stamp.ops.Float16;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** Sizes and values of the inputs a decoder takes besides its tokens: encoder hidden states and empty pasts. */
final class EncoderStates {
    private EncoderStates() {}

    /** The {@code --dim} value for axis {@code a} of {@code d} (by INPUT:AXIS, then dim_param), or null; marks the key used. */
    static Long dim(ModelInputs.Declared d, int a, Map<String, Long> dims, Set<String> used) {
        String axisKey = d.name() + ":" + a;
        String param = d.dimParams().get(a);
        if (dims.containsKey(axisKey)) {
            used.add(axisKey);
            return dims.get(axisKey);
        }
        if (!param.isEmpty() && dims.containsKey(param)) {
            used.add(param);
            return dims.get(param);
        }
        return null;
    }

    /** {@code d} with the dynamic axes that {@code dims} sets made fixed, the batch axis (0) excepted. */
    static ModelInputs.Declared withDims(ModelInputs.Declared d, Map<String, Long> dims, Set<String> used) {
        List<Long> fixed = new ArrayList<>(d.dims());
        for (int a = 1; a < d.rank(); a++) {
            if (fixed.get(a) != null) continue;
            Long v = dim(d, a, dims, used);
            if (v != null) fixed.set(a, v);
        }
        return new ModelInputs.Declared(d.name(), d.elemType(), fixed, d.dimParams());
    }

    /** The encoder length of an encoder mask with no states beside it: --dim, declared, else {@code fallback}. */
    static long length(ModelInputs.Declared d, Map<String, Long> dims, Set<String> used, long fallback) {
        Long v = dim(d, 1, dims, used);
        if (v != null) return v;
        return d.rank() > 1 && d.dims().get(1) != null ? d.dims().get(1) : fallback;
    }

    /**
     * The shape [1, encoder length, hidden] of encoder-states input {@code d}: each axis from {@code dims}, else as
     * declared, else the encoder length {@code defaultLength} and the hidden size from {@link #hiddenFromModel}.
     */
    static long[] shape(OnnxMl.ModelProto model, ModelInputs.Declared d, Map<String, Long> dims, Set<String> used, long defaultLength,
                        List<String> notes) {
        Long length = dim(d, 1, dims, used);
        String lengthFrom = "--dim";
        if (length == null && d.dims().get(1) != null) {
            length = d.dims().get(1);
            lengthFrom = "declared";
        }
        if (length == null) {
            length = defaultLength;
            lengthFrom = "default";
        }
        Long hidden = dim(d, 2, dims, used);
        String hiddenFrom = "--dim";
        if (hidden == null && d.dims().get(2) != null) {
            hidden = d.dims().get(2);
            hiddenFrom = "declared";
        }
        if (hidden == null) {
            String[] from = new String[1];
            hidden = hiddenFromModel(model, d.name(), from);
            hiddenFrom = from[0];
        }
        if (hidden == null) {
            throw new StampException(StampException.Kind.BAD_OPTION, "the hidden size of '" + d.name() + "' is neither declared nor readable "
                    + "from a weight that multiplies it: give --dim " + key(d, 2) + "=H");
        }
        long[] shape = {1, length, hidden};
        if (notes != null) {
            notes.add("encoder states '" + d.name() + "': standard-normal random " + Arrays.toString(shape) + " " + typeName(d)
                    + " (encoder length " + lengthFrom + ", hidden size " + hiddenFrom + "; set them with --dim " + key(d, 1)
                    + "=N, --dim " + key(d, 2) + "=H)");
        }
        return shape;
    }

    private static String key(ModelInputs.Declared d, int a) {
        String p = d.dimParams().get(a);
        return p.isEmpty() ? d.name() + ":" + a : p;
    }

    /**
     * The hidden size of {@code input} read from the model: the rows of the first MatMul weight it is multiplied by
     * (an initializer, or the DequantizeLinear of one), else the length of the scale of a LayerNormalization it feeds.
     */
    static Long hiddenFromModel(OnnxMl.ModelProto model, String input, String[] from) {
        Map<String, OnnxMl.TensorProto> inits = new HashMap<>();
        for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) inits.put(t.getName(), t);
        Map<String, OnnxMl.NodeProto> producer = new HashMap<>();
        for (OnnxMl.NodeProto n : model.getGraph().getNodeList()) for (String o : n.getOutputList()) producer.put(o, n);
        for (OnnxMl.NodeProto n : model.getGraph().getNodeList()) {
            if (n.getInputCount() < 2 || !n.getInput(0).equals(input)) continue;
            OnnxMl.TensorProto w = inits.get(n.getInput(1));
            OnnxMl.NodeProto p = producer.get(n.getInput(1));
            if (w == null && p != null && p.getOpType().equals("DequantizeLinear")) w = inits.get(p.getInput(0));
            if (w == null) continue;
            if (n.getOpType().equals("MatMul") && w.getDimsCount() == 2) {
                from[0] = "the rows of weight '" + w.getName() + "' of " + n.getOpType() + " '" + n.getName() + "'";
                return w.getDims(0);
            }
            if (n.getOpType().equals("LayerNormalization") && w.getDimsCount() == 1) {
                from[0] = "the scale of LayerNormalization '" + n.getName() + "'";
                return w.getDims(0);
            }
        }
        return null;
    }

    /** Standard-normal values of {@code shape} in {@code d}'s element type. */
    static Object normal(ModelInputs.Declared d, long[] shape, Random rnd) {
        long n = 1;
        for (long v : shape) n *= v;
        if (n > Integer.MAX_VALUE) throw new StampException(StampException.Kind.BAD_OPTION, "input " + d.name() + " would have " + n + " elements");
        float[] f = new float[(int) n];
        for (int i = 0; i < f.length; i++) f[i] = (float) rnd.nextGaussian();
        return switch (d.elemType()) {
            case OnnxMl.TensorProto.DataType.FLOAT_VALUE -> f;
            case OnnxMl.TensorProto.DataType.FLOAT16_VALUE -> {
                short[] h = new short[f.length];
                for (int i = 0; i < h.length; i++) h[i] = Float16.fromFloat(f[i]);
                yield new ModelInputs.Half(h, false);
            }
            case OnnxMl.TensorProto.DataType.BFLOAT16_VALUE -> {
                short[] h = new short[f.length];
                for (int i = 0; i < h.length; i++) h[i] = (short) (Float.floatToIntBits(f[i]) >>> 16);
                yield new ModelInputs.Half(h, true);
            }
            default -> throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "input '" + d.name() + "' is " + typeName(d)
                    + "; validate generates float32, float16 and bfloat16 encoder states");
        };
    }

    /** No values, in {@code d}'s float type: an empty past. */
    static Object empty(ModelInputs.Declared d) {
        return switch (d.elemType()) {
            case OnnxMl.TensorProto.DataType.FLOAT16_VALUE -> new ModelInputs.Half(new short[0], false);
            case OnnxMl.TensorProto.DataType.BFLOAT16_VALUE -> new ModelInputs.Half(new short[0], true);
            default -> new float[0];
        };
    }

    static String typeName(ModelInputs.Declared d) {
        return String.valueOf(OnnxMl.TensorProto.DataType.forNumber(d.elemType())).toLowerCase(Locale.ROOT);
    }
}
