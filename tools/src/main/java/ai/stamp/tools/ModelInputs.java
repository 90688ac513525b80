package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.LoadedModel;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Builds the inputs validation feeds to both models: real text for token-id models, reproducible random tensors
 * otherwise.
 *
 * <p><b>Token models</b> (an int64 input whose name contains {@code input_ids}): one sample per text window, batch
 * 1; {@code attention_mask} ones, {@code token_type_ids} zeros, {@code position_ids} 0..S−1, any other integer
 * input zeros. Without a tokenizer, validate draws the ids at random within the model's vocabulary
 * ({@link TokenVocabulary}). A decoder (KV cache or encoder hidden states) gets {@link CausalLm#decoderSamples}.
 *
 * <p><b>Other models</b>: uniform [0,1) floats (integer inputs zero, bool true) from a fixed seed, one draw per
 * sample. Dynamic dimensions come from {@code --dim NAME=VALUE} (NAME a symbolic dim_param) or
 * {@code --dim INPUT:AXIS=VALUE}, else these defaults: axis 0 (batch) = 1; for an image input [N, C, H, W] with
 * C ∈ {1, 3}: H = 48 and W = 320 (a text-line crop, as PP-OCR recognizers take) — W = H instead when H is fixed
 * above 64; every other dynamic axis = 256, grown 4x while ONNX Runtime rejects it ({@link InputGrowth}).
 */
public final class ModelInputs {
    /** Default seed of the random inputs. */
    public static final long DEFAULT_SEED = 20251030L;

    private ModelInputs() {}

    /** One input tensor: shape and flat row-major data (float[], double[], int[], long[] or boolean[]). */
    public record Input(long[] shape, Object data) {
        public OnnxTensor toTensor(OrtEnvironment env) throws OrtException {
            if (data instanceof float[] f) return OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape);
            if (data instanceof long[] l) return OnnxTensor.createTensor(env, LongBuffer.wrap(l), shape);
            if (data instanceof int[] i) return OnnxTensor.createTensor(env, IntBuffer.wrap(i), shape);
            if (data instanceof double[] d) return OnnxTensor.createTensor(env, DoubleBuffer.wrap(d), shape);
            if (data instanceof Half h) {
                return OnnxTensor.createTensor(env, java.nio.ShortBuffer.wrap(h.bits()), shape, h.brain() ? OnnxJavaType.BFLOAT16 : OnnxJavaType.FLOAT16);
            }
            if (data instanceof boolean[] b) {
                ByteBuffer buf = ByteBuffer.allocateDirect(b.length);
                for (boolean v : b) buf.put((byte) (v ? 1 : 0));
                buf.rewind();
                return OnnxTensor.createTensor(env, buf, shape, OnnxJavaType.BOOL);
            }
            throw new IllegalStateException("unsupported input data " + data.getClass());
        }
    }

    /** 16-bit float data as raw bits: IEEE half ({@code brain} false) or bfloat16 ({@code brain} true). */
    public record Half(short[] bits, boolean brain) {}

    /** One run's inputs, by name; {@code attentionMask} ([batch × seq], for pooling) is null when there is none. */
    public record Sample(Map<String, Input> inputs, long[] attentionMask) {}

    /** A declared graph input: name, ONNX elem type, and dims (value > 0, or null with its dim_param when dynamic). */
    public record Declared(String name, int elemType, List<Long> dims, List<String> dimParams) {
        public int rank() { return dims.size(); }
    }

    /** The graph inputs that are not initializers, in order. */
    public static List<Declared> declaredInputs(OnnxMl.ModelProto model) {
        Set<String> inits = new HashSet<>();
        for (OnnxMl.TensorProto t : model.getGraph().getInitializerList()) inits.add(t.getName());
        List<Declared> out = new ArrayList<>();
        for (OnnxMl.ValueInfoProto v : model.getGraph().getInputList()) {
            if (inits.contains(v.getName())) continue;
            if (!v.getType().hasTensorType()) {
                throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "input '" + v.getName() + "' is not a tensor; validate feeds tensors only");
            }
            OnnxMl.TypeProto.Tensor tt = v.getType().getTensorType();
            if (!tt.hasShape()) {
                throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "input '" + v.getName() + "' declares no shape, so its rank is unknown");
            }
            List<Long> dims = new ArrayList<>();
            List<String> params = new ArrayList<>();
            for (OnnxMl.TensorShapeProto.Dimension d : tt.getShape().getDimList()) {
                dims.add(d.hasDimValue() && d.getDimValue() > 0 ? d.getDimValue() : null);
                params.add(d.hasDimParam() ? d.getDimParam() : "");
            }
            out.add(new Declared(v.getName(), tt.getElemType(), dims, params));
        }
        return out;
    }

    /** True when the model takes token ids (an int64 input whose name contains "input_ids"). */
    public static boolean takesTokenIds(OnnxMl.ModelProto model) {
        for (Declared d : declaredInputs(model)) {
            if (isTokenIds(d)) return true;
        }
        return false;
    }

    private static boolean isTokenIds(Declared d) {
        return d.elemType() == OnnxMl.TensorProto.DataType.INT64_VALUE && d.name().toLowerCase(Locale.ROOT).contains("input_ids");
    }

    /** One sample per window (each {@code seqLen} ids, batch 1), for a token-id model. */
    public static List<Sample> fromWindows(OnnxMl.ModelProto model, List<long[]> windows) {
        List<Declared> declared = declaredInputs(model);
        List<Sample> samples = new ArrayList<>();
        for (long[] ids : windows) {
            int seq = ids.length;
            long[] mask = new long[seq];
            Arrays.fill(mask, 1L);
            Map<String, Input> inputs = new LinkedHashMap<>();
            for (Declared d : declared) {
                String n = d.name().toLowerCase(Locale.ROOT);
                long[] shape = d.rank() == 1 ? new long[] {seq} : new long[] {1, seq};
                if (d.rank() != 1 && d.rank() != 2) {
                    throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "token model input '" + d.name() + "' has rank " + d.rank() + "; expected [batch, seq]");
                }
                long[] values;
                if (isTokenIds(d)) values = ids.clone();
                else if (n.contains("attention_mask") || n.contains("input_mask")) values = mask.clone();
                else if (n.contains("position_ids")) {
                    values = new long[seq];
                    for (int i = 0; i < seq; i++) values[i] = i;
                } else values = new long[seq];
                inputs.put(d.name(), new Input(shape, convert(values, d)));
            }
            samples.add(new Sample(inputs, mask));
        }
        return samples;
    }

    private static Object convert(long[] values, Declared d) {
        switch (d.elemType()) {
            case OnnxMl.TensorProto.DataType.INT64_VALUE: return values;
            case OnnxMl.TensorProto.DataType.INT32_VALUE: {
                int[] out = new int[values.length];
                for (int i = 0; i < out.length; i++) out[i] = (int) values[i];
                return out;
            }
            case OnnxMl.TensorProto.DataType.FLOAT_VALUE: {
                float[] out = new float[values.length];
                for (int i = 0; i < out.length; i++) out[i] = values[i];
                return out;
            }
            default:
                throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "token model input '" + d.name() + "' has element type "
                        + OnnxMl.TensorProto.DataType.forNumber(d.elemType()) + "; expected int64, int32 or float");
        }
    }

    /**
     * Parses {@code --dim} values: "NAME=VALUE" (a dim_param) or "INPUT:AXIS=VALUE". Throws BAD_OPTION on malformed text.
     */
    public static Map<String, Long> parseDims(List<String> specs) {
        Map<String, Long> out = new LinkedHashMap<>();
        if (specs == null) return out;
        for (String s : specs) {
            int eq = s.lastIndexOf('=');
            if (eq <= 0 || eq == s.length() - 1) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--dim must look like NAME=VALUE or INPUT:AXIS=VALUE, got '" + s + "'");
            }
            long v;
            try {
                v = Long.parseLong(s.substring(eq + 1).trim());
            } catch (NumberFormatException e) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--dim value must be a positive integer, got '" + s + "'");
            }
            if (v < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--dim value must be a positive integer, got '" + s + "'");
            out.put(s.substring(0, eq).trim(), v);
        }
        return out;
    }

    /** The concrete shape of each input after applying {@code dims} and the documented defaults. */
    public static Map<String, long[]> resolveShapes(OnnxMl.ModelProto model, Map<String, Long> dims) {
        return resolve(model, dims).shapes();
    }

    /**
     * Resolved input shapes, and the axes that got a documented default (neither fixed by the model nor given by
     * {@code --dim}) as {@code --dim} keys: the dim_param when the axis has one, else {@code INPUT:AXIS}.
     */
    public record Resolved(Map<String, long[]> shapes, Map<String, Long> defaulted) {}

    /** As {@link #resolveShapes}, also naming the defaulted axes. */
    public static Resolved resolve(OnnxMl.ModelProto model, Map<String, Long> dims) {
        Map<String, Long> defaulted = new LinkedHashMap<>();
        Map<String, Long> byParam = new HashMap<>();
        Set<String> used = new HashSet<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Declared d : declaredInputs(model)) {
            long[] shape = new long[d.rank()];
            for (int a = 0; a < d.rank(); a++) {
                Long fixed = d.dims().get(a);
                String param = d.dimParams().get(a);
                String axisKey = d.name() + ":" + a;
                if (dims.containsKey(axisKey)) {
                    shape[a] = dims.get(axisKey);
                    used.add(axisKey);
                } else if (!param.isEmpty() && dims.containsKey(param)) {
                    shape[a] = dims.get(param);
                    used.add(param);
                } else if (fixed != null) {
                    shape[a] = fixed;
                } else if (!param.isEmpty() && byParam.containsKey(param)) {
                    shape[a] = byParam.get(param);
                } else {
                    shape[a] = defaultDim(d, a, shape);
                    if (a > 0) defaulted.put(param.isEmpty() ? axisKey : param, shape[a]);
                }
                if (!param.isEmpty()) byParam.putIfAbsent(param, shape[a]);
            }
            shapes.put(d.name(), shape);
        }
        for (String k : dims.keySet()) {
            if (!used.contains(k)) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--dim " + k + " matches no dynamic dimension of the model's inputs "
                        + describe(model));
            }
        }
        return new Resolved(shapes, defaulted);
    }

    private static long defaultDim(Declared d, int axis, long[] resolvedSoFar) {
        if (axis == 0) return 1;
        boolean image = d.rank() == 4 && d.dims().get(1) != null && (d.dims().get(1) == 1 || d.dims().get(1) == 3);
        if (image && axis == 2) return 48;
        if (image && axis == 3) {
            long h = resolvedSoFar[2];
            return h <= 64 ? 320 : h;
        }
        return 256;
    }

    /** A one-line description of the inputs, e.g. {@code x[?,3,?,?] float}. */
    public static String describe(OnnxMl.ModelProto model) {
        StringBuilder sb = new StringBuilder();
        for (Declared d : declaredInputs(model)) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(d.name()).append('[');
            for (int a = 0; a < d.rank(); a++) {
                if (a > 0) sb.append(',');
                Long v = d.dims().get(a);
                String p = d.dimParams().get(a);
                sb.append(v != null ? v.toString() : p.isEmpty() ? "?" : p);
            }
            sb.append("] ").append(String.valueOf(OnnxMl.TensorProto.DataType.forNumber(d.elemType())).toLowerCase(Locale.ROOT));
        }
        return sb.toString();
    }

    /** {@code count} reproducible random samples of the resolved shapes. */
    public static List<Sample> random(OnnxMl.ModelProto model, Map<String, Long> dims, int count, long seed) {
        Map<String, long[]> shapes = resolveShapes(model, dims);
        Map<String, Declared> declared = new HashMap<>();
        for (Declared d : declaredInputs(model)) declared.put(d.name(), d);
        Random rnd = new Random(seed);
        List<Sample> samples = new ArrayList<>();
        for (int s = 0; s < count; s++) {
            Map<String, Input> inputs = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long[] shape = e.getValue();
                long n = 1;
                for (long v : shape) n *= v;
                if (n > Integer.MAX_VALUE) throw new StampException(StampException.Kind.BAD_OPTION, "input " + e.getKey() + " would have " + n + " elements");
                int len = (int) n;
                Object data;
                int type = declared.get(e.getKey()).elemType();
                switch (type) {
                    case OnnxMl.TensorProto.DataType.FLOAT_VALUE: {
                        float[] f = new float[len];
                        for (int i = 0; i < len; i++) f[i] = rnd.nextFloat();
                        data = f;
                        break;
                    }
                    case OnnxMl.TensorProto.DataType.DOUBLE_VALUE: {
                        double[] d = new double[len];
                        for (int i = 0; i < len; i++) d[i] = rnd.nextDouble();
                        data = d;
                        break;
                    }
                    case OnnxMl.TensorProto.DataType.INT64_VALUE: data = new long[len]; break;
                    case OnnxMl.TensorProto.DataType.INT32_VALUE: data = new int[len]; break;
                    case OnnxMl.TensorProto.DataType.BOOL_VALUE: {
                        boolean[] b = new boolean[len];
                        Arrays.fill(b, true);
                        data = b;
                        break;
                    }
                    default:
                        throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "input '" + e.getKey() + "' has element type "
                                + OnnxMl.TensorProto.DataType.forNumber(type) + ", which validate cannot generate");
                }
                inputs.put(e.getKey(), new Input(shape, data));
            }
            samples.add(new Sample(inputs, null));
        }
        return samples;
    }

    /** The samples, and one line per choice made that the user did not spell out (printed by validate as notes). */
    public record Prepared(List<Sample> samples, List<String> used, java.nio.file.Path tokenizer) {}

    /**
     * As {@link #prepare}, the samples only, for commands that report the text they measured on (table, demo): a
     * token-id model without a tokenizer is an INPUT_MISSING error here, not random ids.
     */
    public static List<Sample> forModel(LoadedModel model, String text, java.nio.file.Path tokenizer,
                                        int seqLen, int samples, Map<String, Long> dims) {
        if (takesTokenIds(model.proto()) && tokenizer == null && TokenWindows.findBeside(model.path()) == null) {
            throw noTokenizer(model);
        }
        return prepare(model, text, tokenizer, seqLen, samples, dims).samples();
    }

    private static StampException noTokenizer(LoadedModel model) {
        return new StampException(StampException.Kind.INPUT_MISSING, model.path().getFileName() + " takes token ids but no tokenizer was found: "
                + "give --tokenizer FILE (a HuggingFace tokenizer.json) or put tokenizer.json beside the model");
    }

    /**
     * The inputs validate uses for {@code model}, with what was chosen for it.
     *
     * <p>A token-id model gets text windows ({@code tokenizer}, else the tokenizer beside the model; {@code text}, else
     * the built-in text); without any tokenizer, reproducible random ids in [0, V) with V the vocabulary size the model
     * itself declares ({@link TokenVocabulary}). A decoder — one that also takes a KV cache or an encoder's hidden
     * states — gets each window as its prefill call ({@link CausalLm#decoderSamples}): every past empty, encoder
     * states random of the declared (or inferred) rank-3 shape. Any other model gets reproducible random tensors,
     * whose default lengths grow 4x when ONNX Runtime rejects them ({@link InputGrowth}).
     */
    public static Prepared prepare(LoadedModel model, String text, java.nio.file.Path tokenizer,
                                   int seqLen, int samples, Map<String, Long> dims) {
        if (samples < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--samples must be >= 1, got " + samples);
        if (!takesTokenIds(model.proto())) return InputGrowth.fit(model, dims, samples, DEFAULT_SEED);
        if (seqLen < 3) throw new StampException(StampException.Kind.BAD_OPTION, "--seq-len must be >= 3, got " + seqLen);
        List<String> used = new ArrayList<>();
        java.nio.file.Path tok = tokenizer != null ? tokenizer : TokenWindows.findBeside(model.path());
        List<long[]> windows;
        if (tok != null) {
            try (TokenWindows tw = TokenWindows.load(tok)) {
                windows = tw.windows(text == null ? DefaultText.get() : text, seqLen, samples);
            }
            used.add("token ids: " + (text == null ? "the built-in text" : "--text") + ", tokenized with " + tok.getFileName() + ", "
                    + samples + " window(s) of " + seqLen + " tokens");
        } else {
            if (text != null) throw noTokenizer(model);
            TokenVocabulary vocab = TokenVocabulary.of(model.proto());
            Random rnd = new Random(DEFAULT_SEED);
            windows = new ArrayList<>();
            for (int w = 0; w < samples; w++) windows.add(rnd.longs(seqLen, 0, vocab.size()).toArray());
            used.add("token ids: no tokenizer found (give --tokenizer FILE for real text), so " + samples + " window(s) of " + seqLen
                    + " random ids in [0, " + vocab.size() + ") (vocabulary from " + vocab.source() + ", seed " + DEFAULT_SEED + ")");
        }
        if (CausalLm.isDecoder(model.proto())) {
            return new Prepared(CausalLm.decoderSamples(model, windows, dims, DEFAULT_SEED, used), used, tok);
        }
        return new Prepared(fromWindows(model.proto(), windows), used, tok);
    }
}
