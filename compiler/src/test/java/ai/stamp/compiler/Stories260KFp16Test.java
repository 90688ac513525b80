package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnx.proto.OnnxMl.TensorProto.DataType;
import ai.stamp.testmodels.RealModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * stories260K_fp16 (a Llama-2 LM whose 36 MatMuls compute in float16 between Casts) rewritten end to end: it loads in
 * ONNX Runtime, its float16 weights become int8, and its logits for a 12-token prompt behave like the rewritten float32
 * twin's.
 *
 * <p>Tolerances, on the logits (max |logit| ≈ 17, RMS ≈ 10.5). Quantization is not continuous: float16 activations
 * that differ from the float32 twin's in the last bit move some values across a rounding boundary, so the two rewritten
 * models do not agree to float16 rounding but each carries its own draw of the same quantization noise. Hence: the
 * float16 rewrite is about as accurate as the float32 one, RMS(fp16 rewritten - fp32 original) <= 1.5 x RMS(fp32
 * rewritten - fp32 original) (measured 1.09 integer form, 0.84 simulation), and the two rewrites differ by no more than
 * two such noises, RMS(fp16 rewritten - fp32 rewritten) <= 2 x RMS(fp32 rewritten - fp32 original) (measured 1.04 and
 * 0.69); the float16 original itself is 0.0013 RMS from the float32 one, nothing next to the quantization noise of
 * ~0.23. Transform-only (no quantization) must reproduce the float16 original within float16 rounding: max |Δ| <= 2^-8 of
 * max |logit| (a few float16 ulps after 36 layers with two transform roundings each; measured 1.1e-3).
 */
class Stories260KFp16Test {
    private static final long S = 12;
    private static OnnxMl.ModelProto fp32, fp16;
    private static Map<String, Object> inputs;

    @BeforeAll
    static void load() throws IOException {
        fp32 = read(RealModels.stories260K());
        fp16 = read(RealModels.stories260KFp16());
        inputs = new HashMap<>();
        long[] ids = {1, 403, 407, 261, 378, 269, 302, 280, 400, 261, 350, 46};
        long[] ones = new long[(int) S], positions = new long[(int) S];
        for (int i = 0; i < S; i++) {
            ones[i] = 1;
            positions[i] = i;
        }
        inputs.put("input_ids", new Ort.Longs(ids, new long[] {1, S}));
        inputs.put("attention_mask", new Ort.Longs(ones, new long[] {1, S}));
        inputs.put("position_ids", new Ort.Longs(positions, new long[] {1, S}));
        for (OnnxMl.ValueInfoProto in : fp16.getGraph().getInputList()) {
            if (in.getName().startsWith("past_key_values.")) inputs.put(in.getName(), new Ort.Tensor(new float[0], new long[] {1, 4, 0, 8}));
        }
    }

    private static OnnxMl.ModelProto read(Path p) throws IOException { return OnnxMl.ModelProto.parseFrom(Files.readAllBytes(p)); }

    private static float[] logits(OnnxMl.ModelProto m) { return Ort.run(m, inputs).get("logits"); }

    @Test
    void integerFormLoadsWithInt8WeightsAndTracksTheFloat32Rewrite() {
        StampResult r16 = StampCompiler.compile(fp16, StampConfig.defaults());
        StampResult r32 = StampCompiler.compile(fp32, StampConfig.defaults());
        assertEquals(36, r16.report().rewritten().size());
        assertTrue(r16.report().skipped().stream().allMatch(s -> s.code().equals("runtime-operand")), r16.report().skipped().toString());
        for (StampReport.Layer l : r16.report().rewritten()) {
            assertTrue(l.detail().contains("W8 rtn per-channel as int8 for MatMulInteger"), l.name() + ": " + l.detail());
        }
        long int8 = r16.model().getGraph().getInitializerList().stream().filter(t -> t.getDataType() == DataType.INT8_VALUE).count();
        java.util.Set<String> weights = new java.util.HashSet<>();
        fp16.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMul")).forEach(n -> weights.add(n.getInput(1)));
        weights.retainAll(fp16.getGraph().getInitializerList().stream().map(OnnxMl.TensorProto::getName).toList());
        assertEquals(36, weights.size());
        assertEquals(36, int8);
        assertTrue(r16.model().getGraph().getInitializerList().stream().noneMatch(t -> weights.contains(t.getName())),
                "the float16 weights are replaced by their int8 values");
        assertTracks(logits(r16.model()), logits(r32.model()));
    }

    @Test
    void simulationFormLoadsAndTracksTheFloat32Simulation() {
        StampConfig simulate = StampConfig.builder().emit(StampConfig.Emit.SIMULATE).build();
        StampResult r16 = StampCompiler.compile(fp16, simulate);
        assertEquals(36, r16.report().rewritten().size());
        assertTrue(r16.model().getFunctionsList().stream().anyMatch(f -> f.getName().equals("MixedPrecisionQdq_f16")));
        assertTracks(logits(r16.model()), logits(StampCompiler.compile(fp32, simulate).model()));
    }

    @Test
    void transformOnlyReproducesTheFloat16OriginalWithinItsRounding() {
        StampResult r = StampCompiler.compile(fp16, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        assertEquals(36, r.report().rewritten().size());
        float[] original = logits(fp16), transformed = logits(r.model());
        assertTrue(Ort.maxRelativeError(original, transformed) <= 0x1p-8, "transform-only: " + Ort.maxRelativeError(original, transformed));
    }

    /** {@code rewritten16} against {@code rewritten32}, both measured by the float32 original's quantization noise. */
    private static void assertTracks(float[] rewritten16, float[] rewritten32) {
        float[] original = logits(fp32);
        double noise32 = rms(rewritten32, original);
        double noise16 = rms(rewritten16, original);
        double apart = rms(rewritten16, rewritten32);
        String numbers = String.format(java.util.Locale.ROOT, "RMS fp32 rewrite %.4f, fp16 rewrite %.4f, apart %.4f", noise32, noise16, apart);
        assertTrue(noise32 > 0.01, "the rewrite quantizes: " + numbers);
        assertTrue(noise16 <= 1.5 * noise32, numbers);
        assertTrue(apart <= 2 * noise32, numbers);
    }

    private static double rms(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) (a[i] - b[i]) * (a[i] - b[i]);
        return Math.sqrt(s / a.length);
    }
}
