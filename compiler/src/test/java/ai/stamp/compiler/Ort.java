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

/**
 * Runs a ModelProto in ONNX Runtime (CPU) on float, float16, float64, int32, int64 or bool inputs; test helper. A
 * rewritten model is first given to onnx.checker with full checks ({@link ai.stamp.testmodels.OnnxChecker}).
 */
public final class Ort {
    private Ort() {}

    public record Tensor(float[] data, long[] shape) {}

    /** An int64 input (token ids, indices). */
    public record Longs(long[] data, long[] shape) {}

    /** A float64 input; its values are given as doubles. */
    public record Doubles(double[] data, long[] shape) {}

    /** A float16 input; the floats are rounded to half precision (nearest even) when fed. */
    public record Halves(float[] data, long[] shape) {}

    /** An int32 input. */
    public record Ints(int[] data, long[] shape) {}

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
        ai.stamp.testmodels.OnnxChecker.requireValidIfRewritten(model); // every rewrite a test runs passes ONNX's full checker too
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
                        } else if (e.getValue() instanceof Doubles d) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, java.nio.DoubleBuffer.wrap(d.data()), d.shape()));
                        } else if (e.getValue() instanceof Ints n) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, java.nio.IntBuffer.wrap(n.data()), n.shape()));
                        } else if (e.getValue() instanceof Halves h) {
                            short[] bits = new short[h.data().length];
                            for (int i = 0; i < bits.length; i++) bits[i] = ai.stamp.ops.Float16.fromFloat(h.data()[i]);
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, java.nio.ShortBuffer.wrap(bits), h.shape(), ai.onnxruntime.OnnxJavaType.FLOAT16));
                        } else if (e.getValue() instanceof Boolean b) {
                            feeds.put(e.getKey(), OnnxTensor.createTensor(env, b));
                        }
                    }
                    Map<String, float[]> out = new LinkedHashMap<>();
                    try (OrtSession.Result result = session.run(feeds)) {
                        for (Map.Entry<String, ai.onnxruntime.OnnxValue> e : result) out.put(e.getKey(), floats((OnnxTensor) e.getValue()));
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

    /** A float, float16, float64 or int32 output as floats (float16 exactly, float64 rounded). */
    private static float[] floats(OnnxTensor t) {
        switch (t.getInfo().type) {
            case DOUBLE -> {
                java.nio.DoubleBuffer b = t.getDoubleBuffer();
                float[] v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = (float) b.get(i);
                return v;
            }
            case FLOAT16 -> {
                java.nio.ShortBuffer b = t.getShortBuffer();
                float[] v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = ai.stamp.ops.Float16.toFloat(b.get(i));
                return v;
            }
            case INT32 -> {
                java.nio.IntBuffer b = t.getIntBuffer();
                float[] v = new float[b.remaining()];
                for (int i = 0; i < v.length; i++) v[i] = b.get(i);
                return v;
            }
            default -> {
                FloatBuffer fb = t.getFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                return v;
            }
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
