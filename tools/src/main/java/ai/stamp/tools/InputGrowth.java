package ai.stamp.tools;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.stamp.compiler.StampException;
import ai.stamp.compiler.io.LoadedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Random inputs whose default lengths the model accepts. The documented defaults (256 for a dynamic axis) are too
 * short for some models — a speech encoder's strided convolutions need a few hundred samples — so when any axis was
 * defaulted, the first sample is run once in ONNX Runtime on the original model; if ONNX Runtime rejects it, every
 * defaulted axis (batch excepted) is made {@value #FACTOR}x longer and it is tried again, at most {@value #TRIES}
 * lengths in all and never past {@value #MAX_ELEMENTS} elements in one input. Axes set by the model or by
 * {@code --dim} are never changed. What was used is reported.
 */
final class InputGrowth {
    static final int FACTOR = 4;
    static final int TRIES = 4;
    static final long MAX_ELEMENTS = 1L << 24;

    private InputGrowth() {}

    static ModelInputs.Prepared fit(LoadedModel model, Map<String, Long> dims, int count, long seed) {
        ModelInputs.Resolved r = ModelInputs.resolve(model.proto(), dims);
        List<String> used = new ArrayList<>();
        List<ModelInputs.Sample> samples = ModelInputs.random(model.proto(), dims, count, seed);
        if (r.defaulted().isEmpty()) {
            used.add("uniform [0,1) random values (seed " + seed + "): " + shapes(r.shapes()));
            return new ModelInputs.Prepared(samples, used, null);
        }
        List<String> rejected = new ArrayList<>();
        Map<String, Long> tried = new LinkedHashMap<>(dims);
        Map<String, Long> lengths = new LinkedHashMap<>(r.defaulted());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = Validator.session(env, model.proto(), model, true)) {
            for (int attempt = 1; ; attempt++) {
                String error = firstRunError(env, session, samples.get(0));
                if (error == null) break;
                rejected.add(lengths + " (" + error + ")");
                Map<String, Long> longer = new LinkedHashMap<>();
                lengths.forEach((k, v) -> longer.put(k, v * FACTOR));
                Map<String, Long> next = new LinkedHashMap<>(dims);
                next.putAll(longer);
                if (attempt == TRIES || tooLarge(ModelInputs.resolveShapes(model.proto(), next))) {
                    throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime rejects " + model.path().getFileName()
                            + "'s random inputs at every default length tried: " + String.join("; ", rejected)
                            + ". Give the lengths with --dim NAME=VALUE (inputs: " + ModelInputs.describe(model.proto()) + ")");
                }
                lengths = longer;
                tried = next;
                samples = ModelInputs.random(model.proto(), tried, count, seed);
            }
        } catch (OrtException e) {
            throw new StampException(StampException.Kind.RUNTIME_FAILURE, "ONNX Runtime failed on " + model.path().getFileName() + ": "
                    + TokenWindows.firstLine(e), e);
        }
        used.add("uniform [0,1) random values (seed " + seed + "): " + shapes(ModelInputs.resolveShapes(model.proto(), tried)));
        if (rejected.isEmpty()) {
            used.add("default lengths " + lengths + " (set them with --dim NAME=VALUE)");
        } else {
            used.add("default lengths grown to " + lengths + " after ONNX Runtime rejected " + String.join("; ", rejected)
                    + " (set them with --dim NAME=VALUE)");
        }
        return new ModelInputs.Prepared(samples, used, null);
    }

    /** The first line of ONNX Runtime's error running {@code sample}, or null when it runs. */
    private static String firstRunError(OrtEnvironment env, OrtSession session, ModelInputs.Sample sample) throws OrtException {
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, ModelInputs.Input> e : sample.inputs().entrySet()) feeds.put(e.getKey(), e.getValue().toTensor(env));
            try (OrtSession.Result ignored = session.run(feeds)) {
                return null;
            } catch (OrtException e) {
                return TokenWindows.firstLine(e);
            }
        } finally {
            for (OnnxTensor t : feeds.values()) t.close();
        }
    }

    private static boolean tooLarge(Map<String, long[]> shapes) {
        for (long[] s : shapes.values()) {
            long n = 1;
            for (long v : s) n = Math.multiplyExact(n, v);
            if (n > MAX_ELEMENTS) return true;
        }
        return false;
    }

    private static String shapes(Map<String, long[]> shapes) {
        List<String> parts = new ArrayList<>();
        shapes.forEach((k, v) -> parts.add(k + Arrays.toString(v)));
        return String.join(", ", parts);
    }
}
