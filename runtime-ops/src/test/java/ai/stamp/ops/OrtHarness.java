package ai.stamp.ops;

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
import java.util.concurrent.ConcurrentHashMap;

/**
 * Wraps one {@link StampOp} in a one-node model (ir_version 8, the op's FunctionProto as a model-local
 * function, inputs/outputs FLOAT with no shape) and runs it in ONNX Runtime. Sessions are cached per
 * (function, opset) so a test can sweep many shapes through one compiled model.
 */
final class OrtHarness {
    static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private static final Map<String, OrtSession> SESSIONS = new ConcurrentHashMap<>();

    private OrtHarness() {}

    static OnnxMl.ModelProto model(StampOp op, int opset) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName(op.functionName() + "_graph");
        OnnxMl.NodeProto.Builder node = OnnxMl.NodeProto.newBuilder()
                .setName("op").setOpType(op.functionName()).setDomain(StampDomain.NAME);
        for (String in : op.inputs()) {
            g.addInput(INT64_INPUTS.contains(in) ? value("in_" + in, OnnxMl.TensorProto.DataType.INT64_VALUE) : floatValue("in_" + in));
            node.addInput("in_" + in);
        }
        for (String out : op.outputs()) {
            g.addOutput(floatValue("out_" + out));
            node.addOutput("out_" + out);
        }
        g.addNode(node);
        return OnnxMl.ModelProto.newBuilder()
                .setIrVersion(8)
                .setProducerName("stamp-onnx-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(StampDomain.NAME).setVersion(StampDomain.VERSION))
                .addFunctions(op.function(opset))
                .setGraph(g)
                .build();
    }

    /**
     * Formal inputs that are int64 counts, not float tensors (the chunk ops' {@code past}): the harness declares them
     * INT64 and feeds the FloatTensor's values as longs.
     */
    static final java.util.Set<String> INT64_INPUTS = java.util.Set.of("past");

    private static OnnxMl.ValueInfoProto floatValue(String name) {
        return value(name, OnnxMl.TensorProto.DataType.FLOAT_VALUE);
    }

    private static OnnxMl.ValueInfoProto value(String name, int elemType) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(
                        OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType)))
                .build();
    }

    private static OrtSession session(StampOp op, int opset) {
        return SESSIONS.computeIfAbsent(op.functionName() + "@" + opset, k -> {
            try {
                OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                so.setIntraOpNumThreads(1);
                return ENV.createSession(model(op, opset).toByteArray(), so);
            } catch (OrtException e) {
                throw new IllegalStateException("ORT rejected " + k + ": " + e.getMessage(), e);
            }
        });
    }

    /** Runs the op's function in ORT on the given inputs (in {@link StampOp#inputs()} order). */
    static FloatTensor run(StampOp op, int opset, FloatTensor... inputs) { return runOutput(op, opset, 0, inputs); }

    /** As {@link #run}, returning output {@code index} (ops with several outputs). */
    static FloatTensor runOutput(StampOp op, int opset, int index, FloatTensor... inputs) {
        OrtSession s = session(op, opset);
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            for (int i = 0; i < inputs.length; i++) {
                String name = op.inputs().get(i);
                if (INT64_INPUTS.contains(name)) {
                    long[] v = new long[inputs[i].data().length];
                    for (int k = 0; k < v.length; k++) v[k] = (long) inputs[i].data()[k];
                    feeds.put("in_" + name, OnnxTensor.createTensor(ENV, java.nio.LongBuffer.wrap(v), inputs[i].shape()));
                } else {
                    feeds.put("in_" + name, OnnxTensor.createTensor(ENV, FloatBuffer.wrap(inputs[i].data()), inputs[i].shape()));
                }
            }
            try (OrtSession.Result r = s.run(feeds)) {
                OnnxTensor t = (OnnxTensor) r.get(index);
                long[] shape = t.getInfo().getShape();
                FloatBuffer fb = t.getFloatBuffer();
                float[] data = new float[fb.remaining()];
                fb.get(data);
                return new FloatTensor(data, shape);
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ORT failed on " + op.functionName() + "@" + opset + ": " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    // ------------------------------------------------------------------ small tensor helpers

    static FloatTensor random(Random rnd, long... shape) {
        FloatTensor t = FloatTensor.zeros(shape);
        for (int i = 0; i < t.data().length; i++) t.data()[i] = (float) rnd.nextGaussian();
        return t;
    }

    static float maxAbs(FloatTensor t) {
        float m = 0;
        for (float v : t.data()) m = Math.max(m, Math.abs(v));
        return m;
    }

    /** Row-major matmul over the last axis: x [..., D] · w [D, N], double accumulation. */
    static FloatTensor matmul(FloatTensor x, FloatTensor w) {
        int d = (int) w.dim(0), n = (int) w.dim(1);
        int rows = x.data().length / d;
        float[] out = new float[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int k = 0; k < d; k++) acc += (double) x.data()[r * d + k] * w.data()[k * n + j];
                out[r * n + j] = (float) acc;
            }
        }
        long[] shape = x.shape().clone();
        shape[shape.length - 1] = n;
        return new FloatTensor(out, shape);
    }

    /** Shape of a rank-r tensor [lead..., S, D] with small lead dims. */
    static long[] shapeOfRank(int rank, long s, long d) {
        long[] shape = new long[rank];
        for (int i = 0; i < rank - 2; i++) shape[i] = 2 + i;
        shape[rank - 2] = s;
        shape[rank - 1] = d;
        return shape;
    }

    static Map<String, Integer> counts(OnnxMl.FunctionProto f) {
        Map<String, Integer> c = new HashMap<>();
        f.getNodeList().forEach(n -> c.merge(n.getOpType(), 1, Integer::sum));
        return c;
    }
}
