package ai.stamp.compiler;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Runs a ModelProto in ONNX Runtime (CPU) on float/bool inputs; test helper. */
public final class Ort {
    private Ort() {}

    public record Tensor(float[] data, long[] shape) {}

    /** An int64 input (token ids, indices). */
    public record Longs(long[] data, long[] shape) {}

    public static Tensor random(long seed, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        Random r = new Random(seed);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return new Tensor(v, shape);
    }

    /** Runs the model; inputs are float tensors ({@link Tensor}), int64 tensors ({@link Longs}), or Boolean values (bool scalars). */
    public static Map<String, float[]> run(OnnxMl.ModelProto model, Map<String, Object> inputs) {
        return run(model, inputs, Map.of());
    }

    /** As {@link #run(OnnxMl.ModelProto, Map)} with extra session config entries. */
    public static Map<String, float[]> run(OnnxMl.ModelProto model, Map<String, Object> inputs, Map<String, String> config) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            for (Map.Entry<String, String> e : config.entrySet()) opts.addConfigEntry(e.getKey(), e.getValue());
            try (OrtSession session = env.createSession(model.toByteArray(), opts)) {
                Map<String, OnnxTensor> feeds = new HashMap<>();
                try {
                    for (Map.Entry<String, Object> e : inputs.entrySet()) {
                        if (e.getValue() instanceof Tensor t) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, FloatBuffer.wrap(t.data()), t.shape()));
                        } else if (e.getValue() instanceof Longs l) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(l.data()), l.shape()));
                        } else if (e.getValue() instanceof Boolean b) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, b));
                        }
                    }
                    Map<String, float[]> out = new LinkedHashMap<>();
                    try (OrtSession.Result result = session.run(feeds)) {
                        for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : result) {
                            FloatBuffer fb = ((OnnxTensor) e.getValue()).getFloatBuffer();
                            float[] v = new float[fb.remaining()];
                            fb.get(v);
                            out.put(e.getKey(), v);
                        }
                    }
                    return out;
                } finally {
                    feeds.values().forEach(OnnxTensor::close);
                }
            }
        } catch (OrtException e) {
            throw new AssertionError("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    public static double maxRelativeError(float[] expected, float[] actual) {
        double maxAbs = 0, maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
            maxDiff = Math.max(maxDiff, Math.abs(expected[i] - actual[i]));
        }
        return maxDiff / Math.max(maxAbs, 1e-30);
    }

    public static double sqnrDb(float[] expected, float[] actual) {
        double signal = 0, noise = 0;
        for (int i = 0; i < expected.length; i++) {
            signal += (double) expected[i] * expected[i];
            double d = expected[i] - actual[i];
            noise += d * d;
        }
        return 10 * Math.log10(signal / noise);
    }
}
