package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.calibration.Calibrator;
import ai.stamp.compiler.quant.EnergyAllocator;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.TinyGraphs;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The paper's ablation transforms (block DCT-II and sequency-ordered Walsh–Hadamard) end to end through the
 * compiler, as the Haar tests do for Haar: graphs, exactness, every linear layer rewritten, --hi-tokens,
 * energy allocation from a calibration with the same transform, and the refusal when the calibration's
 * energies are of another transform.
 */
class FrequencyTransformsTest {
    private static final int D = 16;
    private static final OnnxMl.ModelProto BLOCK = TinyGraphs.encoderBlock(11, D, 1);
    private static final List<String> ALL_LINEAR = List.of("q", "k", "v", "o", "fc1", "fc2");

    /** "DctSequence" / "WhtSequence". */
    private static String op(String id) { return id.equals("dct") ? "DctSequence" : "WhtSequence"; }

    private static StampConfig.Builder with(String id) { return StampConfig.builder().transform(id); }

    private static List<String> rewritten(StampResult r) {
        return r.report().rewritten().stream().map(StampReport.Layer::name).toList();
    }

    /** Sequences that vary slowly along the tokens (as real activations do), with a large first (sink) token. */
    private static Ort.Tensor smooth(long seed, int batch, int seq) {
        Random r = new Random(seed);
        float[] v = new float[batch * seq * D];
        for (int b = 0; b < batch; b++) {
            for (int d = 0; d < D; d++) {
                double a1 = r.nextGaussian(), a2 = r.nextGaussian() * 0.5, f1 = r.nextDouble() * 0.05, f2 = r.nextDouble() * 0.15;
                double p1 = r.nextDouble() * 6, p2 = r.nextDouble() * 6, off = r.nextGaussian() * 0.3;
                for (int t = 0; t < seq; t++) {
                    v[(b * seq + t) * D + d] = (float) (off + a1 * Math.sin(f1 * t + p1) + a2 * Math.sin(f2 * t + p2)
                            + 0.05 * r.nextGaussian() + (t == 0 ? 4 : 0));
                }
            }
        }
        return new Ort.Tensor(v, new long[] {batch, seq, D});
    }

    /** Calibration of BLOCK on smooth samples, with the coefficient energies of {@code transform}. */
    private static CalibrationStats calibrate(String transform) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<Map<String, OnnxTensor>> feeds = new ArrayList<>();
        for (long seed = 11; seed < 14; seed++) {
            Ort.Tensor x = smooth(seed, 1, 65);
            feeds.add(Map.of("x", OnnxTensor.createTensor(env, FloatBuffer.wrap(x.data()), x.shape())));
        }
        List<String> tensors = StampCompiler.prepare(BLOCK, StampConfig.defaults(), ai.stamp.compiler.io.ExternalWeights.NONE).calibrationTensors();
        return Calibrator.collect(BLOCK, null, tensors, feeds, new Calibrator.Options(1, false, transform), null);
    }

    private static String reasonOf(StampResult r, String layer) {
        return r.report().skipped().stream().filter(s -> s.name().equals(layer)).findFirst().orElseThrow().reason();
    }

    private static OnnxMl.ModelProto linearWithBias() {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", 8);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, 8, 4)), List.of("proj_out"));
        g.node("Add", "bias", List.of("proj_out", g.weight("b", 0.5f, 4)), List.of("y"));
        g.output("y", "batch", "seq", 4);
        return g.model(11, 6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void stampInsertsTheTransformsOwnFunctions(String id) {
        // float weights: the activation path in the simulation form (the integer form's graph is StampRuleGraphTest's)
        StampResult r = StampCompiler.compile(linearWithBias(), with(id).weights(StampConfig.WeightQuant.NONE).build());
        assertEquals("x_stamp_coeffs = ai.stamp." + op(id) + "_l3_s1(x)\n"
                + "x_stamp_levels = ai.stamp.TokenPrecision_" + id + "_l3_s1_b8-4_band(x_stamp_coeffs)\n"
                + "x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)\n"
                + "proj_out_coeffs = MatMul(x_stamp_q, W)\n"
                + "proj_out = ai.stamp." + op(id) + "Inverse_l3_s1(proj_out_coeffs, x)\n"
                + "y = Add(proj_out, b)", GraphDump.of(r.model().getGraph()));
        assertTrue(r.model().getMetadataPropsList().stream().anyMatch(p -> p.getKey().equals(StampMetadata.CONFIG)
                && p.getValue().contains("transform=" + id + " ")), "the config metadata names the transform");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void stampRewritesEveryLinearLayerOfTheEncoderBlock(String id) {
        StampResult r = StampCompiler.compile(BLOCK, with(id).build());
        assertEquals(ALL_LINEAR, rewritten(r));
        Map<String, Integer> fns = r.report().insertedFunctions();
        // inputs: x (shared by q, k, v), context (o), residual (fc1), relu (fc2) -> 4 transforms, 6 inverses
        assertEquals(4, fns.get(op(id) + "_l3_s1"), fns.toString());
        assertEquals(6, fns.get(op(id) + "Inverse_l3_s1"), fns.toString());
        assertEquals(4, fns.get("TokenPrecision_" + id + "_l3_s1_b8-4_band"), fns.toString());
        assertTrue(fns.keySet().stream().noneMatch(f -> f.contains("Haar") || f.contains("haar")), fns.toString());
        for (OnnxMl.FunctionProto f : r.model().getFunctionsList()) assertTrue(f.getNodeCount() > 0, f.getName());
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void transformOnlyReproducesTheOriginal(String id) {
        OnnxMl.ModelProto exact = StampCompiler.compile(BLOCK, with(id).mode(StampConfig.Mode.TRANSFORM_ONLY).build()).model();
        for (int seq : new int[] {1, 5, 8, 17, 37, 64}) {
            Map<String, Object> in = Map.of("x", Ort.random(seq, 2, seq, D));
            Map<String, float[]> ref = Ort.run(BLOCK, in), out = Ort.run(exact, in);
            for (String o : List.of("hidden", "pooled")) {
                double err = Ort.maxRelativeError(ref.get(o), out.get(o));
                assertTrue(err < 1e-5, id + " seq " + seq + " " + o + ": " + err);
            }
        }
        for (int levels : new int[] {0, 1, 2, 4}) {
            Map<String, Object> in = Map.of("x", Ort.random(levels + 40, 1, 37, D));
            float[] ref = Ort.run(BLOCK, in).get("hidden");
            float[] out = Ort.run(StampCompiler.compile(BLOCK, with(id).levels(levels).mode(StampConfig.Mode.TRANSFORM_ONLY).build()).model(), in)
                    .get("hidden");
            assertTrue(Ort.maxRelativeError(ref, out) < 1e-5, id + " levels " + levels + ": " + Ort.maxRelativeError(ref, out));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void stampBeatsTheMatchedBaselineOnSmoothSequences(String id) {
        Map<String, Object> in = Map.of("x", smooth(3, 2, 65));
        float[] ref = Ort.run(BLOCK, in).get("hidden");
        double stamp = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(BLOCK, with(id).build()).model(), in).get("hidden"));
        StampResult b = StampCompiler.compile(BLOCK, with(id).mode(StampConfig.Mode.BASELINE).build());
        assertEquals(4, b.report().insertedFunctions().get("TokenPrecision_identity_l3_s1_b8-4_band"), "the baseline is the identity layout");
        double base = Ort.sqnrDb(ref, Ort.run(b.model(), in).get("hidden"));
        // the matched baseline does not depend on the transform: only its band size, the same for every 1D transform
        double haarBase = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(BLOCK, StampConfig.builder().mode(StampConfig.Mode.BASELINE).build())
                .model(), in).get("hidden"));
        assertEquals(haarBase, base, 1e-9);
        assertTrue(stamp > base + 1, id + ": stamp " + stamp + " dB vs baseline " + base + " dB");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void hiTokensRanksCoefficientsInTheTransformsStandardOrder(String id) {
        Map<String, Object> in = Map.of("x", Ort.random(6, 1, 64, D));
        float[] ref = Ort.run(BLOCK, in).get("hidden");
        StampResult band = StampCompiler.compile(BLOCK, with(id).build());
        StampResult many = StampCompiler.compile(BLOCK, with(id).hiTokens(48).build());
        assertEquals(ALL_LINEAR, rewritten(many));
        assertEquals(4, many.report().insertedFunctions().get("TokenPrecision_" + id + "_l3_s1_b8-4_k48"), many.report().insertedFunctions().toString());
        double b = Ort.sqnrDb(ref, Ort.run(band.model(), in).get("hidden"));
        double m = Ort.sqnrDb(ref, Ort.run(many.model(), in).get("hidden"));
        assertTrue(m > b + 1, id + ": 48 of 64 tokens at 8 bits: " + m + " dB vs band only: " + b + " dB");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dct", "wht"})
    void energyAllocationPlansFromACalibrationWithTheSameTransform(String id) throws Exception {
        StampConfig energy = with(id).allocation(StampConfig.Allocation.ENERGY).avgBits(5).build();
        assertEquals(id, Calibrator.Options.of(energy).transform(), "the CLI calibrates with the configured transform");
        CalibrationStats stats = calibrate(id);
        assertEquals(id, stats.energyTransform());

        StampResult r = StampCompiler.compile(BLOCK, energy, stats);
        assertEquals(ALL_LINEAR, rewritten(r));
        assertTrue(r.report().insertedFunctions().keySet().stream().anyMatch(f -> f.matches("TokenPrecision_" + id + "_l\\d_s1_b8_(e\\d+|x\\p{XDigit}{12})")),
                r.report().insertedFunctions().toString());
        EnergyAllocator.Allocation a = EnergyAllocator.of(energy.precision(), 1).allocate(stats.of("x").orElseThrow(), 65);
        assertTrue(a.averageBits() <= 5 + 1e-9, a.toString());
        assertTrue(r.report().insertedFunctions().containsKey(op(id) + "_l" + a.levels() + "_s1"), "the allocator's levels for x: " + a);

        StampResult base = StampCompiler.compile(BLOCK, energy.toBuilder().mode(StampConfig.Mode.BASELINE).build(), stats);
        assertEquals(ALL_LINEAR, rewritten(base));
        // float weights for the exactness check: energy's default weights (rtn8) stay set on its builder
        StampResult exact = StampCompiler.compile(BLOCK, energy.toBuilder().mode(StampConfig.Mode.TRANSFORM_ONLY)
                .weights(StampConfig.WeightQuant.NONE).build(), stats);
        double e = 0, b = 0;
        for (long seed = 100; seed < 103; seed++) {
            Map<String, Object> in = Map.of("x", smooth(seed, 1, 65));
            float[] ref = Ort.run(BLOCK, in).get("hidden");
            e += Ort.sqnrDb(ref, Ort.run(r.model(), in).get("hidden")) / 3;
            b += Ort.sqnrDb(ref, Ort.run(base.model(), in).get("hidden")) / 3;
            assertTrue(Ort.maxRelativeError(ref, Ort.run(exact.model(), in).get("hidden")) < 1e-5, "transform-only at the allocator's levels");
        }
        assertTrue(e > b, id + ": energy " + e + " dB vs matched baseline " + b + " dB");
    }

    @Test
    void energiesOfAnotherTransformAreRefusedNamingBoth() throws Exception {
        CalibrationStats haar = calibrate("haar");
        StampResult r = StampCompiler.compile(BLOCK, with("dct").allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), haar);
        assertTrue(r.report().rewritten().isEmpty());
        assertEquals(ALL_LINEAR.size(), r.report().skipped().stream().filter(s -> ALL_LINEAR.contains(s.name())).count());
        for (StampReport.Skipped s : r.report().skipped()) {
            if (!ALL_LINEAR.contains(s.name())) continue;
            assertEquals("needs-calibration", s.code(), s.toString());
            assertTrue(s.reason().contains("calibration energies are of 'haar' but --transform is 'dct': recalibrate with --calib"), s.reason());
        }
        CalibrationStats dct = calibrate("dct");
        StampResult w = StampCompiler.compile(BLOCK, with("wht").allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), dct);
        assertTrue(w.report().rewritten().isEmpty());
        assertTrue(reasonOf(w, "q").contains("of 'dct' but --transform is 'wht'"), reasonOf(w, "q"));
        // haar with DCT energies, and the identity baseline (which plans with Haar energies) with them, likewise
        StampResult h = StampCompiler.compile(BLOCK, StampConfig.builder().allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), dct);
        assertTrue(h.report().rewritten().isEmpty());
        StampResult i = StampCompiler.compile(BLOCK, with("identity").allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), dct);
        assertTrue(i.report().rewritten().isEmpty());
        assertTrue(reasonOf(i, "q").contains("--transform is 'identity' (its matched baseline plans with 'haar' energies)"),
                reasonOf(i, "q"));
        // and the matching calibration is accepted
        assertEquals(ALL_LINEAR, rewritten(StampCompiler.compile(BLOCK, with("dct").allocation(StampConfig.Allocation.ENERGY).avgBits(5).build(), dct)));
    }
}
