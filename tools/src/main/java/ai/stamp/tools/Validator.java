package ai.stamp.tools;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.StampMetadata;
import ai.stamp.compiler.io.LoadedModel;
import ai.stamp.compiler.ir.GraphOutputs;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Runs an original and a rewritten model side by side in ONNX Runtime (CPU) on the same inputs and measures how
 * far the rewritten model is from the original. Only reads the models.
 *
 * <p>Per model output: SQNR (dB, summed over all samples) and a cosine — for a rank-3 [batch, seq, hidden] output
 * of a model fed text (samples with an attention mask) the cosine of the attention-mask mean-pooled embedding
 * ("pooled", what sentence-embedding models return), else the cosine of the flattened tensors ("flat") — averaged
 * over samples and batch elements.
 *
 * <p>Per rewritten layer (listed in the rewritten model's {@link StampMetadata#LAYERS} metadata): the SQNR of the
 * layer's output tensor in the rewritten model against the same tensor in the original. Those tensors are added to
 * both graphs as extra outputs, in memory only.
 */
public final class Validator {
    private static final String EXTERNAL_FOLDER_KEY = "session.model_external_initializers_file_folder_path";

    private Validator() {}

    /** A rewritten layer as the LAYERS metadata names it. */
    public record Layer(String name, String output) {}

    /** Metrics of one model output. {@code cosineKind} is "pooled" or "flat". */
    public record OutputMetric(String name, long[] shape, double sqnrDb, double cosine, String cosineKind,
                               double maxAbsError, double maxAbsReference) {
        /** max|Δ| / max|x|. */
        public double maxRelativeError() { return maxAbsReference == 0 ? maxAbsError : maxAbsError / maxAbsReference; }
    }

    /** SQNR of one rewritten layer's output tensor. */
    public record LayerMetric(String name, String output, double sqnrDb) {}

    /** Everything validate measured. Non-finite numbers are written to JSON as null. */
    public record Report(List<OutputMetric> outputs, List<LayerMetric> layers, List<String> notes, int samples) {
        /** Mean of the finite per-layer SQNRs; NaN when there are none; +Infinity when every layer is exact. */
        public double meanLayerSqnrDb() {
            double sum = 0;
            int n = 0;
            boolean anyInfinite = false;
            for (LayerMetric l : layers) {
                if (Double.isFinite(l.sqnrDb())) {
                    sum += l.sqnrDb();
                    n++;
                } else if (l.sqnrDb() == Double.POSITIVE_INFINITY) {
                    anyInfinite = true;
                }
            }
            if (n == 0) return anyInfinite ? Double.POSITIVE_INFINITY : Double.NaN;
            return sum / n;
        }

        public OutputMetric output(String name) {
            return outputs.stream().filter(o -> o.name().equals(name)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no output " + name));
        }

        public JsonObject toJsonObject() {
            JsonObject root = new JsonObject();
            root.addProperty("samples", samples);
            JsonArray outs = new JsonArray();
            for (OutputMetric o : outputs) {
                JsonObject j = new JsonObject();
                j.addProperty("name", o.name());
                JsonArray shape = new JsonArray();
                for (long d : o.shape()) shape.add(d);
                j.add("shape", shape);
                j.add("sqnr_db", num(o.sqnrDb()));
                j.add("cosine", num(o.cosine()));
                j.addProperty("cosine_kind", o.cosineKind());
                j.add("max_abs_error", num(o.maxAbsError()));
                j.add("max_abs_reference", num(o.maxAbsReference()));
                outs.add(j);
            }
            root.add("outputs", outs);
            JsonArray ls = new JsonArray();
            for (LayerMetric l : layers) {
                JsonObject j = new JsonObject();
                j.addProperty("name", l.name());
                j.addProperty("output", l.output());
                j.add("sqnr_db", num(l.sqnrDb()));
                ls.add(j);
            }
            root.add("layers", ls);
            root.add("mean_layer_sqnr_db", num(meanLayerSqnrDb()));
            JsonArray ns = new JsonArray();
            notes.forEach(ns::add);
            root.add("notes", ns);
            return root;
        }

        public String toJson() {
            return new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(toJsonObject());
        }

        private static JsonElement num(double v) {
            return Double.isFinite(v) ? new JsonPrimitive(round(v)) : JsonNull.INSTANCE;
        }

        private static double round(double v) {
            return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? Math.round(v * 1e6) / 1e6 : v;
        }
    }

    /** The rewritten layers named in {@code model}'s metadata; empty when it has none. */
    public static List<Layer> rewrittenLayers(OnnxMl.ModelProto model) {
        List<Layer> out = new ArrayList<>();
        for (OnnxMl.StringStringEntryProto e : model.getMetadataPropsList()) {
            if (!e.getKey().equals(StampMetadata.LAYERS)) continue;
            try {
                for (JsonElement el : JsonParser.parseString(e.getValue()).getAsJsonArray()) {
                    JsonObject o = el.getAsJsonObject();
                    out.add(new Layer(o.get("name").getAsString(), o.get("output").getAsString()));
                }
            } catch (RuntimeException ex) {
                throw new StampException(StampException.Kind.NOT_ONNX, "metadata " + StampMetadata.LAYERS + " is not a JSON array of {name, output}: " + ex.getMessage(), ex);
            }
        }
        return out;
    }

    /** Validates {@code rewritten} against {@code original} on {@code samples}. */
    public static Report validate(LoadedModel original, LoadedModel rewritten, List<ModelInputs.Sample> samples) {
        if (samples.isEmpty()) throw new StampException(StampException.Kind.BAD_OPTION, "validation needs at least one sample");
        List<String> notes = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        for (OnnxMl.ValueInfoProto v : original.proto().getGraph().getOutputList()) outputs.add(v.getName());

        // the layer tensors both graphs can expose
        Set<String> producedOrig = producedTensors(original.proto().getGraph());
        Set<String> producedRew = producedTensors(rewritten.proto().getGraph());
        List<Layer> layers = new ArrayList<>();
        Set<String> extra = new java.util.LinkedHashSet<>();
        for (Layer l : rewrittenLayers(rewritten.proto())) {
            if (!producedOrig.contains(l.output())) {
                notes.add("layer " + l.name() + ": tensor " + l.output() + " is not produced in the original's main graph; skipped");
                continue;
            }
            if (!producedRew.contains(l.output())) {
                notes.add("layer " + l.name() + ": tensor " + l.output() + " is not produced in the rewritten main graph; skipped");
                continue;
            }
            layers.add(l);
            if (!outputs.contains(l.output())) extra.add(l.output());
        }
        if (rewrittenLayers(rewritten.proto()).isEmpty()) {
            notes.add("the rewritten model carries no " + StampMetadata.LAYERS + " metadata: no per-layer SQNR");
        }

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, Sqnr> outSqnr = new LinkedHashMap<>();
        Map<String, double[]> outCos = new LinkedHashMap<>(); // {sum, count}
        Map<String, String> cosKind = new HashMap<>();
        Map<String, long[]> outShape = new HashMap<>();
        Map<String, Sqnr> layerSqnr = new LinkedHashMap<>();
        for (String o : outputs) {
            outSqnr.put(o, new Sqnr());
            outCos.put(o, new double[2]);
        }
        for (Layer l : layers) layerSqnr.putIfAbsent(l.output(), new Sqnr());

        try (OrtSession a = session(env, GraphOutputs.expose(original.proto(), extra), original);
             OrtSession b = session(env, GraphOutputs.expose(rewritten.proto(), extra), rewritten)) {
            for (ModelInputs.Sample sample : samples) {
                Map<String, float[]> ra = new HashMap<>();
                Map<String, float[]> rb = new HashMap<>();
                Map<String, long[]> shapes = new HashMap<>();
                run(env, a, sample, ra, shapes, original);
                run(env, b, sample, rb, null, rewritten);
                for (String o : outputs) {
                    float[] x = ra.get(o);
                    float[] y = rb.get(o);
                    if (x == null) {
                        notes.add("output " + o + " is not a numeric tensor; skipped");
                        outSqnr.remove(o);
                        continue;
                    }
                    if (y == null || y.length != x.length) {
                        throw new StampException(StampException.Kind.RUNTIME_FAILURE, "output " + o + " of the rewritten model "
                                + (y == null ? "is missing" : "has " + y.length + " values, the original's " + x.length));
                    }
                    long[] shape = shapes.get(o);
                    outShape.put(o, shape);
                    outSqnr.get(o).add(x, y);
                    double[] acc = outCos.get(o);
                    long[] mask = sample.attentionMask() != null && shape.length == 3 && sample.attentionMask().length == shape[0] * shape[1]
                            ? sample.attentionMask() : null;
                    if (mask != null) {
                        cosKind.put(o, "pooled");
                        float[][] pa = Cosine.meanPool(x, shape, mask);
                        float[][] pb = Cosine.meanPool(y, shape, mask);
                        for (int i = 0; i < pa.length; i++) {
                            acc[0] += Cosine.of(pa[i], pb[i]);
                            acc[1]++;
                        }
                    } else {
                        cosKind.put(o, "flat");
                        acc[0] += Cosine.of(x, y);
                        acc[1]++;
                    }
                }
                for (Map.Entry<String, Sqnr> e : layerSqnr.entrySet()) {
                    float[] x = ra.get(e.getKey());
                    float[] y = rb.get(e.getKey());
                    if (x == null || y == null || x.length != y.length) {
                        throw new StampException(StampException.Kind.RUNTIME_FAILURE, "layer tensor " + e.getKey()
                                + " could not be compared (missing or of different size in one model)");
                    }
                    e.getValue().add(x, y);
                }
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed: " + TokenWindows.firstLine(e), e);
        }

        List<OutputMetric> om = new ArrayList<>();
        for (Map.Entry<String, Sqnr> e : outSqnr.entrySet()) {
            double[] acc = outCos.get(e.getKey());
            Sqnr s = e.getValue();
            om.add(new OutputMetric(e.getKey(), outShape.get(e.getKey()), s.db(), acc[1] == 0 ? Double.NaN : acc[0] / acc[1],
                    cosKind.get(e.getKey()), s.maxAbsError(), s.maxAbsReference()));
        }
        List<LayerMetric> lm = new ArrayList<>();
        for (Layer l : layers) lm.add(new LayerMetric(l.name(), l.output(), layerSqnr.get(l.output()).db()));
        return new Report(om, lm, notes, samples.size());
    }

    /** One tensor of one run: values as floats (row-major) and shape. */
    public record Captured(String name, float[] values, long[] shape) {}

    /**
     * Runs {@code model} on {@code sample} with tensor {@code name} added as an extra graph output (in memory only,
     * as for the layer tensors) and returns its values. A graph input is returned from the sample directly.
     */
    public static Captured capture(LoadedModel model, ModelInputs.Sample sample, String name) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        ModelInputs.Input given = sample.inputs().get(name);
        try {
            if (given != null) {
                try (OnnxTensor t = given.toTensor(env)) {
                    float[] f = toFloats(t);
                    if (f == null) throw new StampException(StampException.Kind.RUNTIME_FAILURE, "input " + name + " is not numeric");
                    return new Captured(name, f, given.shape().clone());
                }
            }
            try (OrtSession s = session(env, GraphOutputs.expose(model.proto(), Set.of(name)), model)) {
                Map<String, float[]> values = new HashMap<>();
                Map<String, long[]> shapes = new HashMap<>();
                run(env, s, sample, values, shapes, model);
                float[] f = values.get(name);
                if (f == null) {
                    throw new StampException(StampException.Kind.RUNTIME_FAILURE, "tensor " + name + " of "
                            + model.path().getFileName() + " is missing or not numeric");
                }
                return new Captured(name, f, shapes.get(name));
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed: " + TokenWindows.firstLine(e), e);
        }
    }

    private static void run(OrtEnvironment env, OrtSession session, ModelInputs.Sample sample, Map<String, float[]> into,
                            Map<String, long[]> shapes, LoadedModel which) throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, ModelInputs.Input> e : sample.inputs().entrySet()) {
                if (session.getInputNames().contains(e.getKey())) feeds.put(e.getKey(), e.getValue().toTensor(env));
            }
            try (OrtSession.Result r = session.run(feeds)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    if (!(e.getValue() instanceof OnnxTensor t)) continue;
                    float[] f = toFloats(t);
                    if (f == null) continue;
                    into.put(e.getKey(), f);
                    if (shapes != null) shapes.put(e.getKey(), t.getInfo().getShape());
                }
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed to run " + which.path().getFileName()
                    + ": " + TokenWindows.firstLine(e), e);
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
    }

    /** A tensor's values as floats; null for non-numeric tensors. */
    static float[] toFloats(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        switch (info.type) {
            case FLOAT:
            case FLOAT16: // ONNX Runtime widens 16-bit floats to float
            case BFLOAT16: {
                FloatBuffer b = t.getFloatBuffer();
                float[] f = new float[b.remaining()];
                b.get(f);
                return f;
            }
            case DOUBLE: {
                DoubleBuffer b = t.getDoubleBuffer();
                float[] f = new float[b.remaining()];
                for (int i = 0; i < f.length; i++) f[i] = (float) b.get(i);
                return f;
            }
            case INT64: {
                LongBuffer b = t.getLongBuffer();
                float[] f = new float[b.remaining()];
                for (int i = 0; i < f.length; i++) f[i] = b.get(i);
                return f;
            }
            case INT32: {
                IntBuffer b = t.getIntBuffer();
                float[] f = new float[b.remaining()];
                for (int i = 0; i < f.length; i++) f[i] = b.get(i);
                return f;
            }
            default:
                return null;
        }
    }

    /** A CPU session on {@code proto} (external data from {@code source}'s folder); RUNTIME_FAILURE when ORT cannot load it. */
    static OrtSession session(OrtEnvironment env, OnnxMl.ModelProto proto, LoadedModel source) throws OrtException {
        return session(env, proto, source, false);
    }

    /** As above; {@code quiet}: ONNX Runtime logs only fatal errors (a probe run whose failure is expected and handled). */
    static OrtSession session(OrtEnvironment env, OnnxMl.ModelProto proto, LoadedModel source, boolean quiet) throws OrtException {
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        if (quiet) opts.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
        opts.setIntraOpNumThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        if (hasExternalData(proto.getGraph())) {
            opts.addConfigEntry(EXTERNAL_FOLDER_KEY, source.directory().toString());
        }
        try {
            return env.createSession(proto.toByteArray(), opts);
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime cannot load " + source.path().getFileName()
                    + ": " + TokenWindows.firstLine(e), e);
        }
    }

    private static boolean hasExternalData(OnnxMl.GraphProto g) {
        for (OnnxMl.TensorProto t : g.getInitializerList()) {
            if (t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL) return true;
        }
        return false;
    }

    private static Set<String> producedTensors(OnnxMl.GraphProto g) {
        Set<String> out = new HashSet<>();
        for (OnnxMl.NodeProto n : g.getNodeList()) out.addAll(n.getOutputList());
        return out;
    }
}
