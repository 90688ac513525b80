package ai.stamp.ops;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The integer chain of docs/method.md#integer-form as one ORT model with typed (uint8 / int8 / int32) tensors, which
 * {@link OrtHarness} (float I/O only) cannot express. Graph, per default opset:
 * <pre>
 *   Zq, scale, zero_point = ai.stamp.MixedPrecisionQuantize(Z, levels)
 *   Y    = ai.stamp.ScaledMatMulInteger(Zq, scale, zero_point, Wq, w_colsum, w_scale)
 *   Zhat = ai.stamp.MixedPrecisionQdq(Z, levels)                                  (the simulation form)
 *   Zdq  = (Cast(Zq, float) - zero_point) * scale                                 (ORT dequantizes ORT's Zq)
 *   Ysim = MatMul(Zhat, Cast(Wq, float) * w_scale)                                (float GEMM of the simulation)
 * </pre>
 * The three functions are model-local FunctionProtos in domain {@link StampDomain#NAME}, the two integer ops in the
 * body {@link Forms} given; the model imports every domain a body imports (com.microsoft for the ONNXRUNTIME forms).
 * Wq [D, N] int8, w_colsum [N] int32 and w_scale [N] float are graph inputs, or initializers (ORT then prepacks the
 * constant int8 operand of MatMulInteger and constant-folds the simulation's weight, the deployment situation).
 * Sessions are cached.
 */
final class IntegerHarness {
    private static final Map<String, OrtSession> SESSIONS = new ConcurrentHashMap<>();

    private IntegerHarness() {}

    /** The body forms of the two integer ops in one chain model. */
    record Forms(MixedPrecisionQuantize.Form quantize, ScaledMatMulInteger.Form matmul) {
        static final Forms DEFAULT = new Forms(MixedPrecisionQuantize.Form.ARITHMETIC, ScaledMatMulInteger.Form.STANDARD);

        /** Whether the bodies can be written at {@code opset} (per-axis QuantizeLinear needs 13). */
        static boolean valid(MixedPrecisionQuantize.Form quantize, int opset) {
            return quantize != MixedPrecisionQuantize.Form.QUANTIZE_LINEAR || opset >= 13;
        }

        /** Every combination of the two ops' forms that is valid at {@code opset}. */
        static List<Forms> at(int opset) {
            List<Forms> all = new java.util.ArrayList<>();
            for (MixedPrecisionQuantize.Form q : MixedPrecisionQuantize.Form.values()) {
                if (!valid(q, opset)) continue;
                for (ScaledMatMulInteger.Form m : ScaledMatMulInteger.Form.values()) all.add(new Forms(q, m));
            }
            return all;
        }

        MixedPrecisionQuantize quantizeOp() { return MixedPrecisionQuantize.of(quantize); }
        ScaledMatMulInteger matmulOp() { return ScaledMatMulInteger.of(matmul); }

        @Override public String toString() { return quantize + "+" + matmul; }
    }

    /** A symmetric int8 weight [D, N] row-major with its column sums and per-channel scales. */
    record Weights(byte[] wq, int[] colsum, float[] wScale, int d, int n) {
        /** Random int8 in [-127, 127], colsum by a direct double loop (independent of {@link ScaledMatMulInteger#columnSums}). */
        static Weights random(Random rnd, int d, int n) {
            byte[] wq = new byte[d * n];
            for (int i = 0; i < wq.length; i++) wq[i] = (byte) (rnd.nextInt(255) - 127);
            float[] s = new float[n];
            for (int c = 0; c < n; c++) s[c] = (float) ((0.25 + rnd.nextDouble()) * 0.01);
            return of(wq, s, d, n);
        }

        static Weights of(byte[] wq, float[] wScale, int d, int n) {
            return new Weights(wq, directColumnSums(wq, d, n), wScale, d, n);
        }

        /** The dequantized weight Wq ⊙ w_scale in double, [D, N] row-major. */
        double[] dequantized() {
            double[] w = new double[d * n];
            for (int k = 0; k < d; k++) for (int c = 0; c < n; c++) w[k * n + c] = (double) wq[k * n + c] * wScale[c];
            return w;
        }
    }

    /** Column by column, one column at a time (the other loop order from the kernel's). */
    static int[] directColumnSums(byte[] wq, int d, int n) {
        int[] s = new int[n];
        for (int c = 0; c < n; c++) {
            long acc = 0;
            for (int k = 0; k < d; k++) acc += wq[k * n + c];
            s[c] = Math.toIntExact(acc);
        }
        return s;
    }

    /** ORT's outputs, flattened row-major; zq as ints 0..255, token tensors [..., T, 1], y and ysim [..., T, N]. */
    record Out(int[] zq, float[] scale, float[] zeroPoint, float[] zhat, float[] zdq, float[] y, float[] ysim,
               long[] zShape, long[] tokenShape, long[] yShape) {
        MixedPrecisionQuantize.Quantized quantized() {
            return new MixedPrecisionQuantize.Quantized(zq, scale, zeroPoint, zShape);
        }
    }

    static OnnxMl.ModelProto chainModel(int opset, Forms forms, Weights initializers) {
        OnnxMl.GraphProto.Builder g = OnnxMl.GraphProto.newBuilder().setName("integer_chain");
        g.addInput(value("Z", DataType.FLOAT_VALUE));
        g.addInput(value("levels", DataType.FLOAT_VALUE));
        if (initializers == null) {
            g.addInput(value("Wq", DataType.INT8_VALUE));
            g.addInput(value("w_colsum", DataType.INT32_VALUE));
            g.addInput(value("w_scale", DataType.FLOAT_VALUE));
        } else {
            Weights w = initializers;
            ByteBuffer cs = ByteBuffer.allocate(4 * w.n()).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : w.colsum()) cs.putInt(v);
            ByteBuffer sc = ByteBuffer.allocate(4 * w.n()).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : w.wScale()) sc.putFloat(v);
            g.addInitializer(tensor("Wq", DataType.INT8_VALUE, w.wq(), w.d(), w.n()));
            g.addInitializer(tensor("w_colsum", DataType.INT32_VALUE, cs.array(), w.n()));
            g.addInitializer(tensor("w_scale", DataType.FLOAT_VALUE, sc.array(), w.n()));
        }
        g.addNode(stampNode(forms.quantizeOp(), List.of("Z", "levels"), List.of("Zq", "scale", "zero_point")));
        g.addNode(stampNode(forms.matmulOp(), List.of("Zq", "scale", "zero_point", "Wq", "w_colsum", "w_scale"), List.of("Y")));
        g.addNode(stampNode(MixedPrecisionQdq.INSTANCE, List.of("Z", "levels"), List.of("Zhat")));
        g.addNode(node("Cast", List.of(OnnxDialect.intAttr("to", DataType.FLOAT_VALUE)), List.of("Zq"), "zq_f"));
        g.addNode(node("Sub", List.of(), List.of("zq_f", "zero_point"), "zq_c"));
        g.addNode(node("Mul", List.of(), List.of("zq_c", "scale"), "Zdq"));
        g.addNode(node("Cast", List.of(OnnxDialect.intAttr("to", DataType.FLOAT_VALUE)), List.of("Wq"), "wq_f"));
        g.addNode(node("Mul", List.of(), List.of("wq_f", "w_scale"), "w_deq"));
        g.addNode(node("MatMul", List.of(), List.of("Zhat", "w_deq"), "Ysim"));
        g.addOutput(value("Zq", DataType.UINT8_VALUE));
        for (String out : List.of("scale", "zero_point", "Zhat", "Zdq", "Y", "Ysim")) g.addOutput(value(out, DataType.FLOAT_VALUE));
        List<OnnxMl.FunctionProto> functions = List.of(forms.quantizeOp().function(opset), forms.matmulOp().function(opset),
                MixedPrecisionQdq.INSTANCE.function(opset));
        OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(StampDomain.MIN_IR_FOR_FUNCTIONS)
                .setProducerName("stamp-onnx-tests")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset))
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(StampDomain.NAME).setVersion(StampDomain.VERSION));
        // the domains the bodies import beyond the default one (com.microsoft), as the compiler imports them
        Map<String, Long> other = new java.util.TreeMap<>();
        for (OnnxMl.FunctionProto f : functions) {
            for (OnnxMl.OperatorSetIdProto o : f.getOpsetImportList()) if (!o.getDomain().isEmpty()) other.merge(o.getDomain(), o.getVersion(), Math::max);
        }
        other.forEach((domain, version) -> m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version)));
        return m.addAllFunctions(functions).setGraph(g).build();
    }

    private static OnnxMl.NodeProto stampNode(StampOp op, List<String> in, List<String> out) {
        return OnnxMl.NodeProto.newBuilder().setName(op.opName()).setOpType(op.functionName()).setDomain(StampDomain.NAME)
                .addAllInput(in).addAllOutput(out).build();
    }

    private static OnnxMl.NodeProto node(String type, List<OnnxMl.AttributeProto> attrs, List<String> in, String out) {
        return OnnxMl.NodeProto.newBuilder().setName(out + "_" + type).setOpType(type)
                .addAllInput(in).addOutput(out).addAllAttribute(attrs).build();
    }

    private static OnnxMl.ValueInfoProto value(String name, int elemType) {
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(OnnxMl.TypeProto.Tensor.newBuilder().setElemType(elemType)))
                .build();
    }

    private static OnnxMl.TensorProto tensor(String name, int type, byte[] raw, long... dims) {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(type).setRawData(ByteString.copyFrom(raw));
        for (long d : dims) t.addDims(d);
        return t.build();
    }

    private static OrtSession session(int opset, Forms forms, OrtSession.SessionOptions.OptLevel level, Weights initializers) {
        String key = opset + "/" + forms + "/" + level + "/" + (initializers == null ? "inputs" : "init@" + System.identityHashCode(initializers));
        return SESSIONS.computeIfAbsent(key, k -> {
            try {
                OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                so.setIntraOpNumThreads(1);
                so.setOptimizationLevel(level);
                return OrtHarness.ENV.createSession(chainModel(opset, forms, initializers).toByteArray(), so);
            } catch (OrtException e) {
                throw new IllegalStateException("ORT rejected the integer chain " + k + ": " + e.getMessage(), e);
            }
        });
    }

    static Out run(int opset, Forms forms, Weights w, boolean asInitializers, FloatTensor z, FloatTensor levels) {
        return run(opset, forms, OrtSession.SessionOptions.OptLevel.ALL_OPT, w, asInitializers, z, levels);
    }

    static Out run(int opset, Forms forms, OrtSession.SessionOptions.OptLevel level, Weights w, boolean asInitializers,
                   FloatTensor z, FloatTensor levels) {
        OrtSession s = session(opset, forms, level, asInitializers ? w : null);
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        try {
            feeds.put("Z", OnnxTensor.createTensor(OrtHarness.ENV, FloatBuffer.wrap(z.data()), z.shape()));
            feeds.put("levels", OnnxTensor.createTensor(OrtHarness.ENV, FloatBuffer.wrap(levels.data()), levels.shape()));
            if (!asInitializers) {
                feeds.put("Wq", OnnxTensor.createTensor(OrtHarness.ENV, ByteBuffer.wrap(w.wq()), new long[] {w.d(), w.n()}, OnnxJavaType.INT8));
                feeds.put("w_colsum", OnnxTensor.createTensor(OrtHarness.ENV, IntBuffer.wrap(w.colsum()), new long[] {w.n()}));
                feeds.put("w_scale", OnnxTensor.createTensor(OrtHarness.ENV, FloatBuffer.wrap(w.wScale()), new long[] {w.n()}));
            }
            try (OrtSession.Result r = s.run(feeds)) {
                OnnxTensor zq = (OnnxTensor) r.get("Zq").orElseThrow();
                if (zq.getInfo().type != OnnxJavaType.UINT8) throw new AssertionError("Zq is " + zq.getInfo().type + ", not uint8");
                ByteBuffer bb = zq.getByteBuffer();
                int[] zqi = new int[bb.remaining()];
                for (int i = 0; i < zqi.length; i++) zqi[i] = bb.get() & 0xFF;
                OnnxTensor scale = (OnnxTensor) r.get("scale").orElseThrow();
                OnnxTensor y = (OnnxTensor) r.get("Y").orElseThrow();
                return new Out(zqi, floats(scale), floats((OnnxTensor) r.get("zero_point").orElseThrow()),
                        floats((OnnxTensor) r.get("Zhat").orElseThrow()), floats((OnnxTensor) r.get("Zdq").orElseThrow()),
                        floats(y), floats((OnnxTensor) r.get("Ysim").orElseThrow()),
                        zq.getInfo().getShape(), scale.getInfo().getShape(), y.getInfo().getShape());
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ORT failed on the integer chain " + forms + " @" + opset + ": " + e.getMessage(), e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    private static float[] floats(OnnxTensor t) {
        if (t.getInfo().type != OnnxJavaType.FLOAT) throw new AssertionError("expected float, got " + t.getInfo().type);
        FloatBuffer fb = t.getFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }
}
