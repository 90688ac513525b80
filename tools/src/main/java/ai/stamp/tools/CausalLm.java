package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.LoadedModel;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A causal language model in ONNX Runtime, batch 1: finds its token, mask, position, KV-cache and logits tensors from
 * the declared graph inputs and outputs (Hugging Face / Optimum conventions, not one model's names) and returns the
 * logits of a token sequence, either from one prefill call or fed through the KV cache a few tokens per call.
 *
 * <p>Inputs it can feed: {@code input_ids} (int64 or int32), {@code attention_mask} (ones over past + new tokens),
 * {@code position_ids} (past length onwards), {@code token_type_ids} (zeros), past key/value inputs (a name containing
 * {@code past}; empty along their sequence axis on the first call, then the matching {@code present} output of the
 * previous call, passed back as ONNX Runtime returned it, so a float16 cache stays float16) and a merged decoder's
 * {@code use_cache_branch} (true once there is a past). Any other input makes {@link #open} refuse the model.
 */
public final class CausalLm implements AutoCloseable {
    /** Metadata keys exporters use for the context length; the first in the model's metadata limits the window. */
    private static final List<String> CONTEXT_KEYS = List.of("max_position_embeddings", "n_positions", "n_ctx",
            "context_length", "max_sequence_length", "seq_len");

    private enum Role { TOKENS, MASK, POSITIONS, TOKEN_TYPES, USE_CACHE, PAST, ENCODER_STATES, ENCODER_MASK }

    private record Feed(ModelInputs.Declared declared, Role role) {}

    /** A past input, its empty (first-call) shape, and the output that holds its next value. */
    private record Cache(String input, int elemType, long[] emptyShape, String present) {}

    private final String name;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<Feed> feeds;
    private final List<Cache> caches;
    private final String logits;
    private final int contextLimit;
    private final String contextSource;
    /** The sequence length input_ids declares, or 0 when it is dynamic. */
    private final int fixedLength;
    /** The last dimension logits declares, or 0 when it is dynamic. */
    private final int vocabulary;

    private CausalLm(String name, OrtEnvironment env, OrtSession session, List<Feed> feeds, List<Cache> caches,
                     String logits, int contextLimit, String contextSource, int fixedLength, int vocabulary) {
        this.name = name;
        this.env = env;
        this.session = session;
        this.feeds = feeds;
        this.caches = caches;
        this.logits = logits;
        this.contextLimit = contextLimit;
        this.contextSource = contextSource;
        this.fixedLength = fixedLength;
        this.vocabulary = vocabulary;
    }

    /**
     * Checks that {@code model} is a causal LM this class can feed (else an UNSUPPORTED_MODEL StampException naming
     * what is missing) and opens an ONNX Runtime session on it.
     */
    public static CausalLm open(LoadedModel model) {
        OnnxMl.ModelProto proto = model.proto();
        String name = model.path().getFileName().toString();
        List<ModelInputs.Declared> declared = ModelInputs.declaredInputs(proto);
        // what is missing first (the usual reason a model is not a causal LM), then what this class cannot feed
        if (declared.stream().noneMatch(d -> roleOf(d) == Role.TOKENS)) {
            throw unsupported(name, "it has no int64 or int32 'input_ids' input (inputs: " + ModelInputs.describe(proto) + ")");
        }
        String logits = logitsOutput(proto);
        if (logits == null) {
            throw unsupported(name, "it has no rank-3 float 'logits' output [batch, sequence, vocabulary] (outputs: " + describeOutputs(proto) + ")");
        }
        List<Feed> feeds = new ArrayList<>();
        List<ModelInputs.Declared> past = new ArrayList<>();
        ModelInputs.Declared tokens = null;
        for (ModelInputs.Declared d : declared) {
            Role role = roleOf(d);
            if (role == Role.ENCODER_STATES || role == Role.ENCODER_MASK) {
                throw unsupported(name, "input '" + d.name() + "' is an encoder's output: this is an encoder-decoder's decoder, "
                        + "whose logits depend on the encoded input, not on the tokens alone");
            }
            if (role == null) {
                throw unsupported(name, "input '" + d.name() + "' is none of those a causal LM takes (input_ids, attention_mask, "
                        + "position_ids, token_type_ids, past key/values, use_cache_branch)");
            }
            if (role == Role.PAST) past.add(d);
            else if (role != Role.USE_CACHE && d.rank() != 2) {
                throw unsupported(name, "input '" + d.name() + "' has rank " + d.rank() + "; expected [batch, sequence]");
            }
            if (role == Role.TOKENS && tokens == null) tokens = d;
            feeds.add(new Feed(d, role));
        }
        List<Cache> caches = caches(name, proto, past, logits);
        int limit = 0;
        String source = null;
        Long fixed = tokens.dims().get(1);
        if (fixed != null) {
            limit = fixed.intValue();
            source = "input_ids declares a fixed sequence length";
        }
        for (OnnxMl.StringStringEntryProto p : proto.getMetadataPropsList()) {
            if (limit == 0 && CONTEXT_KEYS.contains(p.getKey().toLowerCase(Locale.ROOT))) {
                try {
                    limit = Integer.parseInt(p.getValue().strip());
                    source = "metadata " + p.getKey() + " = " + p.getValue().strip();
                } catch (NumberFormatException ignored) {
                    // not a number: the metadata says nothing usable about the context
                }
            }
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try {
            return new CausalLm(name, env, Validator.session(env, proto, model), List.copyOf(feeds), List.copyOf(caches), logits,
                    Math.max(0, limit), source, fixed == null ? 0 : fixed.intValue(), declaredVocabulary(proto, logits));
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime cannot load " + name + ": " + TokenWindows.firstLine(e), e);
        }
    }

    /**
     * Each past input with its first-call shape and the output that holds its next value: the present named like it
     * (past_key_values.N.key → present.N.key, past.N.key → present.N.key); else, since exporters that name the cache
     * otherwise still list its outputs in the pasts' order, the present* outputs, or else every output but the logits.
     */
    private static List<Cache> caches(String name, OnnxMl.ModelProto proto, List<ModelInputs.Declared> past, String logits) {
        List<Cache> caches = new ArrayList<>();
        Set<String> outputs = new HashSet<>();
        for (OnnxMl.ValueInfoProto v : proto.getGraph().getOutputList()) outputs.add(v.getName());
        List<String> presents = proto.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName)
                .filter(n -> n.toLowerCase(Locale.ROOT).startsWith("present")).toList();
        if (presents.size() != past.size()) {
            presents = proto.getGraph().getOutputList().stream().map(OnnxMl.ValueInfoProto::getName).filter(n -> !n.equals(logits)).toList();
        }
        for (int i = 0; i < past.size(); i++) {
            ModelInputs.Declared d = past.get(i);
            String present = d.name().replaceFirst("^(past_key_values|past)", "present");
            if (!outputs.contains(present)) {
                if (presents.size() != past.size()) {
                    throw unsupported(name, "past input '" + d.name() + "' has no matching present output (outputs: " + describeOutputs(proto) + ")");
                }
                present = presents.get(i);
            }
            caches.add(new Cache(d.name(), d.elemType(), emptyShape(name, d), present));
        }
        return caches;
    }

    /** True when {@code proto} takes past key/value inputs: a decoder whose inputs an encoder-style window cannot fill. */
    public static boolean takesCache(OnnxMl.ModelProto proto) {
        return ModelInputs.declaredInputs(proto).stream().anyMatch(d -> roleOf(d) == Role.PAST);
    }

    /** True when {@code proto} is a decoder: it takes past key/value inputs or an encoder's hidden states. */
    public static boolean isDecoder(OnnxMl.ModelProto proto) {
        return ModelInputs.declaredInputs(proto).stream().anyMatch(d -> roleOf(d) == Role.PAST || roleOf(d) == Role.ENCODER_STATES);
    }

    /**
     * One prefill sample per window, as {@link #logits} feeds its first call (for calibration, which runs the graph
     * with plain tensors): the ids, attention_mask ones, position_ids 0.., token_type_ids zeros, every past input empty
     * along its sequence axis and use_cache_branch false. UNSUPPORTED_MODEL when {@link #open} would refuse the inputs,
     * or a past is not float32 (the calibrator's samples are float, int and bool tensors).
     */
    public static List<ModelInputs.Sample> prefillSamples(LoadedModel model, List<long[]> windows) {
        return samples(model, windows, java.util.Map.of(), 0, null, true);
    }

    /**
     * The prefill samples validate feeds a decoder: as {@link #prefillSamples}, and also for an encoder-decoder's
     * decoder, whose {@code encoder_hidden_states} [batch, encoder length, hidden] get reproducible standard-normal
     * values (an encoder's output is layer-normed) and {@code encoder_attention_mask} ones. Sizes: {@code dims}
     * ({@code --dim NAME=VALUE} or {@code INPUT:AXIS=VALUE}) first, then the declared size, then — the hidden size — the
     * rows of the first weight that multiplies the states, and {@value #ENCODER_LENGTH} for the encoder length. A past
     * is empty of its declared type (float32, float16 or bfloat16), its dynamic heads or head size set by {@code dims}.
     * Each choice is added to {@code used}; a {@code dims} key that sets nothing is a BAD_OPTION.
     */
    public static List<ModelInputs.Sample> decoderSamples(LoadedModel model, List<long[]> windows, java.util.Map<String, Long> dims,
                                                          long seed, List<String> used) {
        return samples(model, windows, dims, seed, used, false);
    }

    /** Default encoder length of an encoder-decoder's decoder's random encoder states. */
    static final int ENCODER_LENGTH = 64;

    private static List<ModelInputs.Sample> samples(LoadedModel model, List<long[]> windows, java.util.Map<String, Long> dims, long seed,
                                                    List<String> used, boolean calibration) {
        String name = model.path().getFileName().toString();
        List<ModelInputs.Declared> declared = ModelInputs.declaredInputs(model.proto());
        Set<String> usedDims = new HashSet<>();
        java.util.Random rnd = new java.util.Random(seed);
        List<ModelInputs.Sample> samples = new ArrayList<>();
        long[] encoderShape = null;
        for (long[] ids : windows) {
            Map<String, ModelInputs.Input> inputs = new LinkedHashMap<>();
            long[] mask = new long[ids.length];
            java.util.Arrays.fill(mask, 1L);
            for (ModelInputs.Declared d : declared) {
                Role role = roleOf(d);
                if (role == null || (calibration && (role == Role.ENCODER_STATES || role == Role.ENCODER_MASK))) {
                    throw unsupported(name, "input '" + d.name() + "' is none of those a causal LM takes");
                }
                if (role == Role.ENCODER_STATES || role == Role.ENCODER_MASK) continue; // after the loop: they share a length
                long[] row = switch (role) {
                    case TOKENS -> ids.clone();
                    case MASK -> mask.clone();
                    case POSITIONS -> java.util.stream.LongStream.range(0, ids.length).toArray();
                    case TOKEN_TYPES -> new long[ids.length];
                    default -> null;
                };
                if (row != null) {
                    Object data = d.elemType() == OnnxMl.TensorProto.DataType.INT32_VALUE
                            ? java.util.Arrays.stream(row).mapToInt(v -> (int) v).toArray() : row;
                    inputs.put(d.name(), new ModelInputs.Input(new long[] {1, ids.length}, data));
                } else if (role == Role.USE_CACHE) {
                    long[] shape = new long[d.rank()];
                    java.util.Arrays.fill(shape, 1L);
                    inputs.put(d.name(), new ModelInputs.Input(shape, new boolean[] {false}));
                } else {
                    if (calibration && d.elemType() != OnnxMl.TensorProto.DataType.FLOAT_VALUE) {
                        throw unsupported(name, "calibration feeds float32 past inputs; '" + d.name() + "' is "
                                + OnnxMl.TensorProto.DataType.forNumber(d.elemType()));
                    }
                    long[] shape = emptyShape(name, EncoderStates.withDims(d, dims, usedDims));
                    inputs.put(d.name(), new ModelInputs.Input(shape, EncoderStates.empty(d)));
                    if (samples.isEmpty() && used != null && d == firstPast(declared)) {
                        used.add("past key/values: empty, " + java.util.Arrays.toString(shape) + " "
                                + EncoderStates.typeName(d) + " (each of " + declared.stream().filter(x -> roleOf(x) == Role.PAST).count() + ")");
                    }
                }
            }
            for (ModelInputs.Declared d : declared) {
                if (roleOf(d) != Role.ENCODER_STATES) continue;
                if (encoderShape == null) encoderShape = EncoderStates.shape(model.proto(), d, dims, usedDims, ENCODER_LENGTH, used);
                inputs.put(d.name(), new ModelInputs.Input(encoderShape.clone(), EncoderStates.normal(d, encoderShape, rnd)));
            }
            for (ModelInputs.Declared d : declared) {
                if (roleOf(d) != Role.ENCODER_MASK) continue;
                long length = encoderShape != null ? encoderShape[1] : EncoderStates.length(d, dims, usedDims, ENCODER_LENGTH);
                long[] ones = new long[(int) length];
                java.util.Arrays.fill(ones, 1L);
                Object data = d.elemType() == OnnxMl.TensorProto.DataType.INT32_VALUE
                        ? java.util.Arrays.stream(ones).mapToInt(v -> (int) v).toArray() : ones;
                inputs.put(d.name(), new ModelInputs.Input(new long[] {1, length}, data));
            }
            samples.add(new ModelInputs.Sample(inputs, mask));
        }
        for (String k : dims.keySet()) {
            if (!usedDims.contains(k)) {
                throw new StampException(StampException.Kind.BAD_OPTION, "--dim " + k + " sets none of the sizes validate chooses for "
                        + name + " (encoder states, past heads and head size; inputs: " + ModelInputs.describe(model.proto()) + ")");
            }
        }
        return samples;
    }

    private static ModelInputs.Declared firstPast(List<ModelInputs.Declared> declared) {
        for (ModelInputs.Declared d : declared) if (roleOf(d) == Role.PAST) return d;
        return null;
    }

    /** The model's file name. */
    public String name() { return name; }

    /** True when the model takes a KV cache (past inputs), so it can decode a few tokens per call. */
    public boolean hasCache() { return !caches.isEmpty(); }

    /** The context length the model declares (fixed input_ids length or metadata), or 0 when it declares none. */
    public int contextLimit() { return contextLimit; }

    /** Where {@link #contextLimit()} comes from, or null. */
    public String contextSource() { return contextSource; }

    /**
     * The logits [ids.length][vocabulary] of {@code ids} (one sequence, starting at position 0). With {@code chunk}
     * ≥ ids.length it is one call with an empty past; otherwise the tokens go through the KV cache {@code chunk} per
     * call (chunk 1: token-by-token decoding), which must give the same logits up to float rounding. A model with a
     * fixed input_ids length gets one call padded on the right (attention mask 0): a causal model's logits at a
     * position do not depend on later tokens, so the padding changes none of the rows returned.
     */
    public float[][] logits(long[] ids, int chunk) {
        if (chunk < 1) throw new StampException(StampException.Kind.BAD_OPTION, "--chunk must be >= 1, got " + chunk);
        if (chunk < ids.length && !hasCache()) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--chunk " + chunk + " needs a KV cache, but " + name
                    + " has no past key/value inputs: leave --chunk out to score each window in one call");
        }
        if (fixedLength > 0 && ids.length > fixedLength) {
            throw new StampException(StampException.Kind.BAD_OPTION, "a window of " + ids.length + " tokens does not fit " + name
                    + ", whose input_ids length is fixed at " + fixedLength + ": give --window " + fixedLength + " or less");
        }
        if (fixedLength > 0 && chunk < ids.length) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "--chunk " + chunk + " needs a dynamic input_ids length, but "
                    + name + "'s is fixed at " + fixedLength + ": leave --chunk out");
        }
        for (long id : ids) checkToken(id, vocabulary);
        float[][] out = new float[ids.length][];
        Set<String> wanted = new HashSet<>();
        wanted.add(logits);
        if (chunk < ids.length) for (Cache c : caches) wanted.add(c.present());
        OrtSession.Result previous = null;
        try {
            for (int start = 0; start < ids.length; start += chunk) {
                int n = Math.min(chunk, ids.length - start);
                OrtSession.Result result = run(ids, start, n, fixedLength > 0 ? fixedLength - n : 0, previous, wanted);
                if (previous != null) previous.close();
                previous = result;
                OnnxTensor t = (OnnxTensor) result.get(logits).orElseThrow();
                long[] shape = t.getInfo().getShape();
                FloatBuffer b = t.getFloatBuffer(); // float16 and bfloat16 logits come back widened to float
                if (b == null) throw unsupported(name, "its logits are " + t.getInfo().type + ", not float or float16");
                int vocab = (int) shape[2];
                for (int i = 0; i < n; i++) {
                    out[start + i] = new float[vocab];
                    b.get(i * vocab, out[start + i]);
                }
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed to run " + name + ": " + TokenWindows.firstLine(e), e);
        } finally {
            if (previous != null) previous.close();
        }
        return out;
    }

    /** Checked before each run: an out-of-range id would fail in the embedding Gather with a message naming no tokenizer. */
    private void checkToken(long id, int entries) {
        if (entries > 0 && (id < 0 || id >= entries)) {
            throw new StampException(StampException.Kind.UNSUPPORTED_MODEL, "the tokenizer gives token id " + id + " but " + name
                    + "'s logits have " + entries + " entries: is the tokenizer the model's own?");
        }
    }

    private static int declaredVocabulary(OnnxMl.ModelProto proto, String logits) {
        for (OnnxMl.ValueInfoProto v : proto.getGraph().getOutputList()) {
            if (!v.getName().equals(logits) || !v.getType().getTensorType().hasShape()) continue;
            OnnxMl.TensorShapeProto.Dimension d = v.getType().getTensorType().getShape().getDim(2);
            return d.hasDimValue() ? (int) d.getDimValue() : 0;
        }
        return 0;
    }

    /**
     * log p(ids[i+1] | ids[0..i]) for i = 0 .. ids.length − 2: the log-softmax of {@link #logits} at each position,
     * in double with the maximum subtracted first, taken at the token that follows.
     */
    public double[] nextTokenLogProbs(long[] ids, int chunk) {
        float[][] rows = logits(ids, chunk);
        double[] out = new double[Math.max(0, ids.length - 1)];
        for (int i = 0; i < out.length; i++) {
            float[] row = rows[i];
            long target = ids[i + 1];
            checkToken(target, row.length);
            double max = Double.NEGATIVE_INFINITY;
            for (float v : row) max = Math.max(max, v);
            double sum = 0;
            for (float v : row) sum += Math.exp(v - max);
            out[i] = row[(int) target] - max - Math.log(sum);
        }
        return out;
    }

    /**
     * One call on ids[start, start+n), then {@code pad} copies of the last id masked out, after {@code start} tokens
     * already in {@code previous}'s cache.
     */
    private OrtSession.Result run(long[] ids, int start, int n, int pad, OrtSession.Result previous, Set<String> wanted) throws OrtException {
        long[] tokens = java.util.Arrays.copyOfRange(ids, start, start + n + pad);
        java.util.Arrays.fill(tokens, n, n + pad, ids[start + n - 1]);
        long[] mask = new long[start + n + pad];
        java.util.Arrays.fill(mask, 0, start + n, 1L);
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        List<OnnxTensor> created = new ArrayList<>();
        try {
            for (Feed f : feeds) {
                OnnxTensor t;
                switch (f.role()) {
                    case TOKENS -> t = ints(f.declared(), tokens);
                    case MASK -> t = ints(f.declared(), mask);
                    case POSITIONS -> {
                        long[] p = new long[n + pad];
                        for (int i = 0; i < p.length; i++) p[i] = start + i;
                        t = ints(f.declared(), p);
                    }
                    case TOKEN_TYPES -> t = ints(f.declared(), new long[n + pad]);
                    case USE_CACHE -> t = bool(f.declared(), start > 0);
                    case PAST -> {
                        Cache c = cacheOf(f.declared().name());
                        if (previous != null) {
                            in.put(f.declared().name(), (OnnxTensor) previous.get(c.present()).orElseThrow());
                            continue;
                        }
                        t = empty(c);
                    }
                    default -> throw new IllegalStateException(f.role().toString());
                }
                created.add(t);
                in.put(f.declared().name(), t);
            }
            return session.run(in, wanted);
        } finally {
            for (OnnxTensor t : created) t.close();
        }
    }

    private Cache cacheOf(String input) {
        for (Cache c : caches) if (c.input().equals(input)) return c;
        throw new IllegalStateException(input);
    }

    private OnnxTensor ints(ModelInputs.Declared d, long[] values) throws OrtException {
        long[] shape = {1, values.length};
        if (d.elemType() == OnnxMl.TensorProto.DataType.INT32_VALUE) {
            int[] v = new int[values.length];
            for (int i = 0; i < v.length; i++) v[i] = (int) values[i];
            return OnnxTensor.createTensor(env, IntBuffer.wrap(v), shape);
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(values), shape);
    }

    private OnnxTensor bool(ModelInputs.Declared d, boolean value) throws OrtException {
        long[] shape = new long[d.rank()];
        java.util.Arrays.fill(shape, 1L);
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        b.put(0, (byte) (value ? 1 : 0));
        return OnnxTensor.createTensor(env, b, shape, OnnxJavaType.BOOL);
    }

    private OnnxTensor empty(Cache c) throws OrtException {
        return switch (c.elemType()) {
            case OnnxMl.TensorProto.DataType.FLOAT16_VALUE -> OnnxTensor.createTensor(env, ShortBuffer.allocate(0), c.emptyShape(), OnnxJavaType.FLOAT16);
            case OnnxMl.TensorProto.DataType.BFLOAT16_VALUE -> OnnxTensor.createTensor(env, ShortBuffer.allocate(0), c.emptyShape(), OnnxJavaType.BFLOAT16);
            default -> OnnxTensor.createTensor(env, FloatBuffer.allocate(0), c.emptyShape());
        };
    }

    private static Role roleOf(ModelInputs.Declared d) {
        String n = d.name().toLowerCase(Locale.ROOT);
        boolean integer = d.elemType() == OnnxMl.TensorProto.DataType.INT64_VALUE || d.elemType() == OnnxMl.TensorProto.DataType.INT32_VALUE;
        boolean floating = d.elemType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE || d.elemType() == OnnxMl.TensorProto.DataType.FLOAT16_VALUE
                || d.elemType() == OnnxMl.TensorProto.DataType.BFLOAT16_VALUE;
        if (integer && n.contains("encoder") && n.contains("mask")) return Role.ENCODER_MASK;
        if (floating && d.rank() == 3 && n.contains("encoder") && (n.contains("hidden") || n.contains("output") || n.contains("states"))) {
            return Role.ENCODER_STATES;
        }
        if (integer && n.contains("input_ids")) return Role.TOKENS;
        if (integer && n.contains("attention_mask")) return Role.MASK;
        if (integer && n.contains("position_ids")) return Role.POSITIONS;
        if (integer && n.contains("token_type_ids")) return Role.TOKEN_TYPES;
        if (d.elemType() == OnnxMl.TensorProto.DataType.BOOL_VALUE && n.contains("use_cache")) return Role.USE_CACHE;
        if (floating && n.contains("past") && d.rank() >= 3) return Role.PAST;
        return null;
    }

    /**
     * The first-call shape of a past input: batch 1, the sequence axis 0, every other axis as declared. The batch
     * axis is the dim_param naming a batch (else axis 0); the sequence axis the dim_param naming a past or sequence
     * length, else the one dynamic axis left.
     */
    private static long[] emptyShape(String model, ModelInputs.Declared d) {
        int r = d.rank();
        int batch = -1;
        int seq = -1;
        for (int a = 0; a < r; a++) {
            String p = d.dimParams().get(a).toLowerCase(Locale.ROOT);
            if (d.dims().get(a) != null) continue;
            if (batch < 0 && p.contains("batch")) batch = a;
            else if (seq < 0 && (p.contains("past") || p.contains("seq") || p.contains("length"))) seq = a;
        }
        if (batch < 0 && d.dims().get(0) == null && seq != 0) batch = 0;
        List<Integer> dynamic = new ArrayList<>();
        for (int a = 0; a < r; a++) if (d.dims().get(a) == null && a != batch) dynamic.add(a);
        if (seq < 0 && dynamic.size() == 1) seq = dynamic.get(0);
        if (seq < 0 || dynamic.size() != 1) {
            throw unsupported(model, "past input '" + d.name() + "' has dynamic axes " + dynamic + " besides the batch; expected exactly one "
                    + "(the past sequence length) with heads and head size fixed");
        }
        long[] shape = new long[r];
        for (int a = 0; a < r; a++) shape[a] = a == batch ? 1 : a == seq ? 0 : d.dims().get(a);
        return shape;
    }

    private static String logitsOutput(OnnxMl.ModelProto proto) {
        for (OnnxMl.ValueInfoProto v : proto.getGraph().getOutputList()) {
            if (!v.getName().toLowerCase(Locale.ROOT).contains("logits") || !v.getType().hasTensorType()) continue;
            OnnxMl.TypeProto.Tensor t = v.getType().getTensorType();
            boolean floating = t.getElemType() == OnnxMl.TensorProto.DataType.FLOAT_VALUE || t.getElemType() == OnnxMl.TensorProto.DataType.FLOAT16_VALUE;
            if (floating && (!t.hasShape() || t.getShape().getDimCount() == 3)) return v.getName();
        }
        return null;
    }

    private static String describeOutputs(OnnxMl.ModelProto proto) {
        StringBuilder sb = new StringBuilder();
        for (OnnxMl.ValueInfoProto v : proto.getGraph().getOutputList()) {
            if (sb.length() > 0) sb.append(", ");
            sb.append(v.getName());
            if (v.getType().hasTensorType() && v.getType().getTensorType().hasShape()) {
                sb.append('[');
                List<OnnxMl.TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
                for (int a = 0; a < dims.size(); a++) {
                    if (a > 0) sb.append(',');
                    sb.append(dims.get(a).hasDimValue() ? String.valueOf(dims.get(a).getDimValue()) : "?");
                }
                sb.append(']');
            }
        }
        return sb.toString();
    }

    private static StampException unsupported(String model, String what) {
        return new StampException(StampException.Kind.UNSUPPORTED_MODEL, model + " is not a causal LM this command can run: " + what);
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed to close " + name + ": " + e.getMessage(), e);
        }
    }
}
