package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.stamp.ops.Float16;
import ai.stamp.testmodels.TypedGraphs;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Linear layers that compute in float16 or float64 are rewritten with the ops at their type and load in ONNX Runtime;
 * integer and bfloat16 MatMuls are left alone with the reason.
 *
 * <p>Tolerances. Integer form vs simulation form at float64: max |ΔY| / max |Y| <= 1e-5 (the same bound
 * IntegerOpsTest puts on the two forms at float32: the activation quantization is float32 in both, only float rounding
 * of the products differs). At float16 both outputs are additionally float16-rounded and the simulation's MatMul runs
 * in float16: 2^-8 of max |Y| (a few float16 ulps of the largest output). Rewritten vs original: the int8 / 4-8 bit
 * quantization error, SQNR > 20 dB (the float32 layers of this size measure 30-40 dB). Transform-only at float16: the
 * original within float16 rounding, 2^-8 of max |Y| (two transform roundings and the MatMul's own).
 */
class ElementTypesTest {
    private static final int D = 16, N = 12;

    @Test
    void float64MatMulRunsItsOpsInDouble() {
        OnnxMl.ModelProto model = TypedGraphs.matMul(DataType.DOUBLE_VALUE, 17, D, N, 3);
        StampResult integer = StampCompiler.compile(model, StampConfig.defaults());
        StampResult simulated = StampCompiler.compile(model, StampConfig.builder().emit(StampConfig.Emit.SIMULATE).build());
        assertEquals(1, integer.report().rewritten().size(), integer.report().skipped().toString());
        assertTrue(integer.report().rewritten().get(0).detail().contains("as int8 for MatMulInteger"), integer.report().rewritten().get(0).detail());
        assertTrue(integer.report().rewritten().get(0).detail().contains("float64 layer: transforms at float64, activation quantization in float32"),
                integer.report().rewritten().get(0).detail());
        assertEquals(List.of("HaarSequenceInverse_l3_s1_f64", "HaarSequence_l3_s1_f64", "MixedPrecisionQuantize_ql_f64",
                "ScaledMatMulInteger_ort_f64", "TokenPrecision_haar1d_l3_s1_b8-4_band"), functionNames(integer.model()));
        assertEquals(List.of("HaarSequenceInverse_l3_s1_f64", "HaarSequence_l3_s1_f64", "MixedPrecisionQdq_f64",
                "TokenPrecision_haar1d_l3_s1_b8-4_band"), functionNames(simulated.model()));
        for (long seq : new long[] {3, 17}) {
            Map<String, Object> in = Map.of("x", doubles(seq, 2, seq, D));
            float[] original = Ort.run(model, in).get("y");
            float[] y = Ort.run(integer.model(), in).get("y");
            float[] ySim = Ort.run(simulated.model(), in).get("y");
            assertTrue(Ort.maxRelativeError(ySim, y) <= 1e-5, "integer vs simulation: " + Ort.maxRelativeError(ySim, y));
            assertTrue(Ort.sqnrDb(original, y) > 20, "SQNR " + Ort.sqnrDb(original, y));
        }
    }

    @Test
    void float16GemmKeepsAlphaBetaAndBiasAtItsType() {
        OnnxMl.ModelProto model = TypedGraphs.gemm(DataType.FLOAT16_VALUE, 13, D, N, 5);
        StampResult integer = StampCompiler.compile(model, StampConfig.defaults());
        StampResult simulated = StampCompiler.compile(model, StampConfig.builder().emit(StampConfig.Emit.SIMULATE).build());
        StampResult transformOnly = StampCompiler.compile(model, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        for (StampResult r : List.of(integer, simulated, transformOnly)) {
            assertEquals(1, r.report().rewritten().size(), r.report().skipped().toString());
            assertTrue(functionNames(r.model()).stream().filter(f -> !f.startsWith("TokenPrecision")).allMatch(f -> f.endsWith("_f16")),
                    functionNames(r.model()).toString());
        }
        for (long seq : new long[] {2, 9, 21}) {
            Map<String, Object> in = Map.of("x", new Ort.Halves(halves(seq, seq, D), new long[] {seq, D}));
            float[] original = Ort.run(model, in).get("y");
            float[] y = Ort.run(integer.model(), in).get("y");
            float[] ySim = Ort.run(simulated.model(), in).get("y");
            float[] yTransformed = Ort.run(transformOnly.model(), in).get("y");
            assertTrue(Ort.maxRelativeError(ySim, y) <= 0x1p-8, "integer vs simulation: " + Ort.maxRelativeError(ySim, y));
            assertTrue(Ort.sqnrDb(original, y) > 20, "SQNR " + Ort.sqnrDb(original, y));
            assertTrue(Ort.maxRelativeError(original, yTransformed) <= 0x1p-8, "transform-only: " + Ort.maxRelativeError(original, yTransformed));
        }
    }

    @Test
    void float16WeightsAreQuantizedFromTheirOwnValues() {
        OnnxMl.ModelProto model = TypedGraphs.matMul(DataType.FLOAT16_VALUE, 17, D, N, 9);
        StampResult r = StampCompiler.compile(model, StampConfig.defaults());
        List<OnnxMl.TensorProto> inits = r.model().getGraph().getInitializerList();
        assertTrue(inits.stream().anyMatch(t -> t.getName().equals("W_rtn8") && t.getDataType() == DataType.INT8_VALUE), names(inits));
        assertTrue(inits.stream().noneMatch(t -> t.getName().equals("W")), "the float16 weight is gone: " + names(inits));
        assertTrue(r.report().rewritten().get(0).detail().contains("W8 rtn per-channel as int8"), r.report().rewritten().get(0).detail());
    }

    @Test
    void dequantizedFloat16MatMulNBitsIsRewrittenAtFloat16() {
        // --dequantize-weights restores a float16 MatMul from MatMulNBits with float16 scales: a float16 layer
        OnnxMl.ModelProto model = ai.stamp.testmodels.QuantizedGraphs.matMulNBits(32, 8, 16, 4,
                ai.stamp.testmodels.QuantizedGraphs.NBitsZeroPoints.PACKED, true, true, 4);
        StampResult r = StampCompiler.compile(model, StampConfig.builder().dequantizeWeights(true).build());
        assertEquals(1, r.report().rewritten().size(), r.report().skipped().toString());
        assertTrue(functionNames(r.model()).contains("HaarSequence_l3_s1_f16"), functionNames(r.model()).toString());
        Map<String, Object> in = Map.of("x", Ort.random(2, 2, 11, 32));
        float[] original = Ort.run(model, in).get("y");
        float[] y = Ort.run(r.model(), in).get("y");
        assertTrue(Ort.sqnrDb(original, y) > 20, "SQNR " + Ort.sqnrDb(original, y));
    }

    @Test
    void integerMatMulIsNoLinearLayer() {
        OnnxMl.ModelProto model = TypedGraphs.matMul(DataType.INT32_VALUE, 17, D, N, 1);
        StampReport report = StampCompiler.compile(model, StampConfig.defaults()).report();
        assertTrue(report.rewritten().isEmpty());
        assertEquals(1, report.skipped().size());
        assertEquals("element-type", report.skipped().get(0).code());
        assertEquals("computes on int32 tensors: integer arithmetic (indices, shapes), not a float linear layer to quantize",
                report.skipped().get(0).reason());
    }

    @Test
    void bfloat16MatMulIsLeftAloneWithTheReason() {
        StampReport report = StampCompiler.compile(TypedGraphs.matMul(DataType.BFLOAT16_VALUE, 17, D, N, 1), StampConfig.defaults()).report();
        assertTrue(report.rewritten().isEmpty());
        assertEquals("element-type", report.skipped().get(0).code());
        assertTrue(report.skipped().get(0).reason().startsWith("computes in bfloat16, which is not supported"), report.skipped().get(0).reason());
    }

    private static List<String> functionNames(OnnxMl.ModelProto m) {
        return m.getFunctionsList().stream().map(OnnxMl.FunctionProto::getName).sorted().toList();
    }

    private static String names(List<OnnxMl.TensorProto> inits) {
        return inits.stream().map(t -> t.getName() + ":" + t.getDataType()).toList().toString();
    }

    private static Ort.Doubles doubles(long seed, long... shape) {
        Ort.Tensor t = Ort.random(seed, shape);
        double[] d = new double[t.data().length];
        for (int i = 0; i < d.length; i++) d[i] = t.data()[i];
        return new Ort.Doubles(d, shape);
    }

    private static float[] halves(long seed, long seq, long d) {
        float[] v = Ort.random(seed, seq, d).data();
        for (int i = 0; i < v.length; i++) v[i] = Float16.round(v[i]);
        return v;
    }
}
