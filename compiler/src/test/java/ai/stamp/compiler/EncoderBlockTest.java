package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.testmodels.TinyGraphs;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Which MatMuls of a transformer block are linear layers, and that the rewritten block runs. */
class EncoderBlockTest {
    private static final OnnxMl.ModelProto BLOCK = TinyGraphs.encoderBlock(11, 16, 1);

    private static Map<String, String> skipReasons(StampResult r) {
        return r.report().skipped().stream().collect(Collectors.toMap(StampReport.Skipped::name, StampReport.Skipped::reason));
    }

    @Test
    void rewritesProjectionsAndMlpButNotAttentionOrPooledHead() {
        StampResult r = StampCompiler.compile(BLOCK, StampConfig.defaults());
        assertEquals(List.of("q", "k", "v", "o", "fc1", "fc2"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        Map<String, String> skipped = skipReasons(r);
        assertEquals(3, skipped.size());
        assertTrue(skipped.get("scores").contains("computed at run time"), skipped.get("scores"));
        assertTrue(skipped.get("context").contains("computed at run time"), skipped.get("context"));
        assertTrue(skipped.get("head").contains("pooled vector"), skipped.get("head"));
        // the attention MatMuls and the head are untouched, by name and inputs
        for (String name : List.of("scores", "context", "head")) {
            OnnxMl.NodeProto original = BLOCK.getGraph().getNodeList().stream().filter(n -> n.getName().equals(name)).findFirst().orElseThrow();
            assertTrue(r.model().getGraph().getNodeList().contains(original), name + " changed");
        }
    }

    @Test
    void projectionsReadingTheSameInputShareOneTransformAndQuantizer() {
        // inputs: x (shared by q, k, v), context (o), residual (fc1), relu (fc2) -> 4 transforms, 6 inverses, 4 quantizers:
        // with the defaults (int8 weights, the integer form) a quantizer to uint8 and an integer GEMM per layer
        Map<String, Integer> fns = StampCompiler.compile(BLOCK, StampConfig.defaults()).report().insertedFunctions();
        assertEquals(4, fns.get("HaarSequence_l3_s1"), fns.toString());
        assertEquals(6, fns.get("HaarSequenceInverse_l3_s1"), fns.toString());
        assertEquals(4, fns.get("MixedPrecisionQuantize_ort"), fns.toString());
        assertEquals(6, fns.get("ScaledMatMulInteger_ort"), fns.toString());
        assertFalse(fns.containsKey("MixedPrecisionQdq"), fns.toString());
        // with float weights (the simulation form) a fake quantizer
        Map<String, Integer> simulated = StampCompiler.compile(BLOCK, StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build())
                .report().insertedFunctions();
        assertEquals(4, simulated.get("HaarSequence_l3_s1"), simulated.toString());
        assertEquals(6, simulated.get("HaarSequenceInverse_l3_s1"), simulated.toString());
        assertEquals(4, simulated.get("MixedPrecisionQdq"), simulated.toString());
        assertFalse(simulated.containsKey("ScaledMatMulInteger_ort"), simulated.toString());
    }

    @Test
    void excludePatternLeavesMatchingLayersAlone() {
        StampResult r = StampCompiler.compile(BLOCK, StampConfig.builder().exclude(Pattern.compile("^fc")).build());
        assertEquals(List.of("q", "k", "v", "o"), r.report().rewritten().stream().map(StampReport.Layer::name).toList());
        assertTrue(skipReasons(r).get("fc1").startsWith("excluded by --exclude"));
    }

    @Test
    void transformOnlyReproducesBothOutputsAndStampStaysClose() {
        Map<String, Object> in = Map.of("x", Ort.random(5, 2, 37, 16));
        Map<String, float[]> ref = Ort.run(BLOCK, in);
        Map<String, float[]> exact = Ort.run(StampCompiler.compile(BLOCK, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build()).model(), in);
        for (String out : List.of("hidden", "pooled")) {
            assertTrue(Ort.maxRelativeError(ref.get(out), exact.get(out)) < 1e-5, out);
        }
        Map<String, float[]> stamp = Ort.run(StampCompiler.compile(BLOCK, StampConfig.defaults()).model(), in);
        double sqnr = Ort.sqnrDb(ref.get("hidden"), stamp.get("hidden"));
        assertTrue(sqnr > 10 && sqnr < 60, "4/8-bit activations on random data: " + sqnr + " dB");
    }

    @Test
    void hiTokensOverrideRaisesAccuracy() {
        Map<String, Object> in = Map.of("x", Ort.random(6, 1, 64, 16));
        float[] ref = Ort.run(BLOCK, in).get("hidden");
        double band = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(BLOCK, StampConfig.defaults()).model(), in).get("hidden"));
        double many = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(BLOCK, StampConfig.builder().hiTokens(48).build()).model(), in).get("hidden"));
        assertTrue(many > band + 1, "48 of 64 tokens at 8 bits: " + many + " dB vs band only: " + band + " dB");
    }
}
