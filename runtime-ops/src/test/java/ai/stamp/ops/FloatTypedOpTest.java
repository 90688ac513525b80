package ai.stamp.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The float16 and float64 variants of the ops ({@link FloatTypedOp}) in ONNX Runtime, with the layer-typed formals
 * declared at their type, against the float32 Java kernels on the same values.
 *
 * <p>Tolerances. Sequence transforms at float16: the matrix and every output are float16-rounded and ORT's float16
 * MatMul may round partial sums, so per element |Δ| <= 2^-8 · √B · max|x| (a row of the orthogonal B x B matrix has
 * Σ_c |H_kc| <= √B; up to B = 8 terms of relative error 2^-11 each, with margin); at float64 the kernel's float32
 * output rounding dominates: 1e-6 of the same bound. Quantizers (computed in float32 inside): the typed body equals the float32 body run
 * on the same values, rounded once to the type: bit-exact (up to the sign of zero), which pins "the fp32 semantics to the
 * precision of the type"; and the kernel agrees with it as in {@link MixedPrecisionQdqTest} (a step at rare ties).
 */
class FloatTypedOpTest {
    static final int[] OPSETS = {11, 17, 21};
    static final List<FloatType> TYPES = List.of(FloatType.FLOAT16, FloatType.DOUBLE);

    @Test
    void float32IsTheOpItselfSoItsBodyAndNameStay() {
        StampOp haar = SequenceTransforms.forward(SequenceTransforms.of("haar", 2, 1).layout());
        assertSame(haar, FloatTypedOp.atType(haar, FloatType.FLOAT));
        assertSame(MixedPrecisionQdq.INSTANCE, FloatTypedOp.qdq(FloatType.FLOAT));
        assertEquals("HaarSequence_l2_s1_f16", FloatTypedOp.atType(haar, FloatType.FLOAT16).functionName());
        assertEquals("MixedPrecisionQdq_f64", FloatTypedOp.qdq(FloatType.DOUBLE).functionName());
    }

    @Test
    void transformBodiesHoldNoFloat32Constant() {
        for (FloatType type : TYPES) {
            for (StampOp op : transforms()) {
                OnnxMl.FunctionProto f = FloatTypedOp.atType(op, type).function(17);
                long typed = f.getNodeList().stream().filter(n -> n.getOpType().equals("Constant"))
                        .filter(n -> n.getAttribute(0).getT().getDataType() == type.dataType()).count();
                assertTrue(typed >= 1, f.getName() + " has no " + type.label() + " matrix");
                assertTrue(f.getNodeList().stream().filter(n -> n.getOpType().equals("Constant"))
                        .noneMatch(n -> n.getAttribute(0).getT().getDataType() == DataType.FLOAT_VALUE), f.getName() + " keeps a float32 constant");
                assertEquals(op.function(17).getNodeCount(), f.getNodeCount(), "same nodes as the float32 body");
            }
        }
    }

    @Test
    void transformsMatchTheKernelsAtTheLayerType() {
        Random rnd = new Random(7);
        for (FloatType type : TYPES) {
            double rel = type == FloatType.FLOAT16 ? 0x1p-8 : 1e-6;
            int dt = type.dataType();
            for (int opset : OPSETS) {
                for (long s : new long[] {1, 5, 19}) {
                    for (SequenceTransform t : transformList()) {
                        long sTokens = t.is2d() ? t.sinkTokens() + t.gridHeight() * 3L : s;
                        FloatTensor x = rounded(type, OrtHarness.random(rnd, 2, sTokens, 6));
                        StampOp fwd = FloatTypedOp.atType(t.forward(), type);
                        FloatTensor z = TypedHarness.run(fwd, opset, Map.of("X", dt, "Z", dt), x).get(0);
                        FloatTensor zRef = t.forward().reference(x);
                        double bound = Math.sqrt(t.blockTokens()) * OrtHarness.maxAbs(x);
                        assertClose(zRef, z, bound, rel, fwd.functionName() + "@" + opset + " S=" + sTokens);
                        // the inverse on the kernel's (type-rounded) coefficients
                        FloatTensor y = rounded(type, zRef);
                        StampOp inv = FloatTypedOp.atType(t.inverse(), type);
                        FloatTensor back = TypedHarness.run(inv, opset, Map.of("Y", dt, "X", dt, "out", dt), y, x).get(0);
                        FloatTensor backRef = t.inverse().reference(y, x);
                        assertClose(backRef, back, Math.sqrt(t.blockTokens()) * OrtHarness.maxAbs(y), rel, inv.functionName() + "@" + opset + " S=" + sTokens);
                        // and back where it started: L is orthogonal at the type's precision
                        assertClose(x, back, t.blockTokens() * OrtHarness.maxAbs(x), 2 * rel, "round trip " + inv.functionName());
                    }
                }
            }
        }
    }

    @Test
    void qdqIsTheFloat32BodyRoundedOnceToTheType() {
        Random rnd = new Random(11);
        for (FloatType type : TYPES) {
            int dt = type.dataType();
            for (int opset : OPSETS) {
                FloatTensor z = rounded(type, OrtHarness.random(rnd, 2, 9, 33));
                for (int i = 0; i < 33; i++) z.data()[i] = 0f; // an all-zero token: EPS (1e-8, 0 in float16) must not divide by zero
                FloatTensor levels = levels(rnd, 9);
                StampOp typed = FloatTypedOp.qdq(type);
                FloatTensor ort = TypedHarness.run(typed, opset, Map.of("Z", dt, "Zq", dt), z, levels).get(0);
                FloatTensor ort32 = OrtHarness.run(MixedPrecisionQdq.INSTANCE, opset, z, levels);
                for (int k = 0; k < ort.data().length; k++) {
                    assertEquals(type.round(ort32.data()[k]) + 0f, ort.data()[k] + 0f, typed.functionName() + "@" + opset + " element " + k);
                }
                FloatTensor kernel = MixedPrecisionQdq.apply(z, levels);
                int off = 0;
                for (int k = 0; k < kernel.data().length; k++) if (type.round(kernel.data()[k]) + 0f != ort.data()[k] + 0f) off++;
                assertTrue(off <= 2, off + " elements off the kernel (only rare rounding ties may be)");
            }
        }
    }

    @Test
    void integerOpsTakeTypedActivationsAndReturnTypedOutputs() {
        Random rnd = new Random(5);
        int d = 16, n = 5;
        for (FloatType type : TYPES) {
            int dt = type.dataType();
            for (int opset : OPSETS) {
                for (MixedPrecisionQuantize.Form form : MixedPrecisionQuantize.Form.values()) {
                    if (form == MixedPrecisionQuantize.Form.QUANTIZE_LINEAR && opset < 13) continue;
                    FloatTensor z = rounded(type, OrtHarness.random(rnd, 7, d));
                    FloatTensor levels = levels(rnd, 7);
                    List<FloatTensor> q = TypedHarness.run(FloatTypedOp.quantize(form, type), opset,
                            Map.of("Z", dt, "Zq", DataType.UINT8_VALUE), z, levels);
                    MixedPrecisionQuantize.Quantized ref = MixedPrecisionQuantize.apply(z, levels);
                    assertArrayEquals(ref.scale(), q.get(1).data(), form + " scale");
                    assertArrayEquals(ref.zeroPoint(), q.get(2).data(), form + " zero point");
                    int steps = 0;
                    for (int k = 0; k < ref.values().length; k++) steps += Math.abs(ref.values()[k] - (int) q.get(0).data()[k]);
                    assertTrue(steps <= 1, form + ": " + steps + " values off (only a QuantizeLinear tie may be)");
                }
                for (ScaledMatMulInteger.Form form : ScaledMatMulInteger.Form.values()) {
                    IntegerHarness.Weights w = IntegerHarness.Weights.random(rnd, d, n);
                    FloatTensor z = rounded(type, OrtHarness.random(rnd, 7, d));
                    MixedPrecisionQuantize.Quantized zq = MixedPrecisionQuantize.apply(z, levels(rnd, 7));
                    FloatTensor values = new FloatTensor(toFloats(zq.values()), zq.shape());
                    FloatTensor y = TypedHarness.run(FloatTypedOp.scaledMatMulInteger(form, type), opset,
                            Map.of("Zq", DataType.UINT8_VALUE, "Wq", DataType.INT8_VALUE, "w_colsum", DataType.INT32_VALUE, "Y", dt),
                            values, new FloatTensor(zq.scale(), new long[] {7, 1}), new FloatTensor(zq.zeroPoint(), new long[] {7, 1}),
                            new FloatTensor(toFloats(w.wq()), new long[] {d, n}), new FloatTensor(toFloats(w.colsum()), new long[] {n}),
                            new FloatTensor(w.wScale(), new long[] {n})).get(0);
                    FloatTensor ref = ScaledMatMulInteger.apply(zq, w.wq(), w.wScale(), n);
                    float max = OrtHarness.maxAbs(ref);
                    for (int k = 0; k < ref.data().length; k++) {
                        float tol = Math.abs(ref.data()[k]) * (type == FloatType.FLOAT16 ? 0x1p-10f : 0f) + 1e-5f * max;
                        assertTrue(Math.abs(ref.data()[k] - y.data()[k]) <= tol, form + " " + type + " Y[" + k + "] " + y.data()[k] + " vs " + ref.data()[k]);
                    }
                }
            }
        }
    }

    private static List<SequenceTransform> transformList() {
        return List.of(SequenceTransforms.of("haar", 2, 0), SequenceTransforms.of("haar", 3, 1), SequenceTransforms.of("dct", 2, 1),
                SequenceTransforms.of("wht", 3, 0), SequenceTransforms.of("haar2d", 1, 1, 2));
    }

    private static List<StampOp> transforms() {
        return transformList().stream().flatMap(t -> java.util.stream.Stream.of(t.forward(), t.inverse())).toList();
    }

    private static void assertClose(FloatTensor ref, FloatTensor got, double bound, double rel, String what) {
        assertArrayEquals(ref.shape(), got.shape(), what + " shape");
        for (int k = 0; k < ref.data().length; k++) {
            double tol = rel * bound;
            assertTrue(Math.abs(ref.data()[k] - got.data()[k]) <= tol, what + " element " + k + ": " + got.data()[k] + " vs " + ref.data()[k] + " (tolerance " + tol + ")");
        }
    }

    private static FloatTensor rounded(FloatType type, FloatTensor t) {
        float[] v = t.data().clone();
        for (int i = 0; i < v.length; i++) v[i] = type.round(v[i]);
        return new FloatTensor(v, t.shape().clone());
    }

    private static FloatTensor levels(Random rnd, int t) {
        float[] q = new float[t];
        for (int i = 0; i < t; i++) q[i] = i % 3 == 0 ? 255f : 15f;
        return new FloatTensor(q, new long[] {t, 1});
    }

    private static float[] toFloats(int[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    private static float[] toFloats(byte[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }
}
