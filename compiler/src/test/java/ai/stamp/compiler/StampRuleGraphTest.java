package ai.stamp.compiler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.testmodels.GraphBuilder;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Before/after graphs of the rewrite of one linear layer, in each mode, and their numbers in ORT. */
class StampRuleGraphTest {
    private static OnnxMl.ModelProto linearWithBias(int opset, long ir) {
        GraphBuilder g = new GraphBuilder(7);
        g.input("x", "batch", "seq", 8);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, 8, 4)), List.of("proj_out"));
        g.node("Add", "bias", List.of("proj_out", g.weight("b", 0.5f, 4)), List.of("y"));
        g.output("y", "batch", "seq", 4);
        return g.model(opset, ir);
    }

    /** Float weights: the activation path alone, in the simulation form (the defaults quantize W to int8, see below). */
    private static StampConfig.Builder floatWeights() { return StampConfig.builder().weights(StampConfig.WeightQuant.NONE); }

    private static final String BEFORE = """
            proj_out = MatMul(x, W)
            y = Add(proj_out, b)""";

    @Test
    void stampModeInsertsTransformQuantizerAndInverseBeforeTheBias() {
        OnnxMl.ModelProto before = linearWithBias(11, 6);
        assertEquals(BEFORE, GraphDump.of(before.getGraph()));
        StampResult r = StampCompiler.compile(before, floatWeights().build());
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x_stamp_coeffs)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)
                proj_out_coeffs = MatMul(x_stamp_q, W)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        // the model keeps its opset, gains the ai.stamp domain, and IR rises only to what functions need
        assertEquals(8, r.model().getIrVersion());
        assertEquals(11, OpsetCheck.defaultOpset(r.model()));
        assertTrue(r.model().getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals("ai.stamp") && o.getVersion() == 1));
        assertEquals(4, r.model().getFunctionsCount());
        assertTrue(r.model().getFunctionsList().stream().allMatch(f -> f.getOpsetImport(0).getVersion() == 11));
        assertEquals(1, r.report().rewritten().size());
        String layers = r.model().getMetadataPropsList().stream().filter(p -> p.getKey().equals(StampMetadata.LAYERS))
                .findFirst().orElseThrow().getValue();
        com.google.gson.JsonObject layer = com.google.gson.JsonParser.parseString(layers).getAsJsonArray().get(0).getAsJsonObject();
        assertEquals("proj", layer.get("name").getAsString());
        assertEquals("proj_out", layer.get("output").getAsString());
    }

    @Test
    void defaultsEmitTheIntegerFormWithInt8Weights() {
        // the defaults: RTN int8 weights per channel, and the integer form (--emit auto) for them
        OnnxMl.ModelProto before = linearWithBias(11, 6);
        StampResult r = StampCompiler.compile(before, StampConfig.defaults());
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x_stamp_coeffs)
                x_stamp_u8,x_stamp_scale,x_stamp_zp = ai.stamp.MixedPrecisionQuantize_ort(x_stamp_coeffs, x_stamp_levels)
                proj_out_coeffs = ai.stamp.ScaledMatMulInteger_ort(x_stamp_u8, x_stamp_scale, x_stamp_zp, W_rtn8, W_rtn8_colsum, W_rtn8_scale)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        assertEquals(8, r.model().getIrVersion());
        assertEquals(11, OpsetCheck.defaultOpset(r.model()));
        // below opset 13 the quantizer body uses com.microsoft QuantizeLinear, so the model imports that domain too
        assertEquals(List.of(":11", "ai.stamp:1", "com.microsoft:1"),
                r.model().getOpsetImportList().stream().map(o -> o.getDomain() + ":" + o.getVersion()).toList());
        assertEquals(List.of("HaarSequence_l3_s1", "TokenPrecision_haar1d_l3_s1_b8-4_band", "MixedPrecisionQuantize_ort", "ScaledMatMulInteger_ort",
                "HaarSequenceInverse_l3_s1"), r.model().getFunctionsList().stream().map(OnnxMl.FunctionProto::getName).toList());
        assertTrue(r.model().getFunctionsList().stream().allMatch(f -> f.getOpsetImport(0).getDomain().isEmpty() && f.getOpsetImport(0).getVersion() == 11));
        // the weight is stored as int8 with its int32 column sums and float per-channel scales; the float W is gone
        Map<String, OnnxMl.TensorProto> inits = new java.util.LinkedHashMap<>();
        r.model().getGraph().getInitializerList().forEach(t -> inits.put(t.getName(), t));
        assertEquals(List.of("b", "W_rtn8", "W_rtn8_colsum", "W_rtn8_scale"), List.copyOf(inits.keySet()));
        assertEquals(OnnxMl.TensorProto.DataType.INT8_VALUE, inits.get("W_rtn8").getDataType());
        assertEquals(List.of(8L, 4L), inits.get("W_rtn8").getDimsList());
        assertEquals(OnnxMl.TensorProto.DataType.INT32_VALUE, inits.get("W_rtn8_colsum").getDataType());
        assertEquals(List.of(4L), inits.get("W_rtn8_colsum").getDimsList());
        assertEquals(OnnxMl.TensorProto.DataType.FLOAT_VALUE, inits.get("W_rtn8_scale").getDataType());
        assertEquals(List.of(4L), inits.get("W_rtn8_scale").getDimsList());
        assertEquals(before.getGraph().getInitializer(1), inits.get("b"));
        assertEquals(1, r.report().rewritten().size());
        assertEquals("A8/4 hi-tokens=sink+band; W8 rtn per-channel as int8 for MatMulInteger", r.report().rewritten().get(0).detail());
        assertTrue(r.model().getMetadataPropsList().stream().anyMatch(p -> p.getKey().equals(StampMetadata.CONFIG)
                && p.getValue().equals(StampConfig.defaults().toString()) && p.getValue().contains(" weights=rtn8")));
        // the integer GEMM consumes the quantized coefficients: --inverse-at input still runs L^T on the output side
        assertEquals(GraphDump.of(r.model().getGraph()), GraphDump.of(StampCompiler.compile(before,
                StampConfig.builder().inverseAt(StampConfig.InversePlacement.INPUT).build()).model().getGraph()));
        // the same numbers as the float simulation of the same int8 weights and quantized coefficients
        Map<String, Object> in = Map.of("x", Ort.random(2, 2, 37, 8));
        float[] simulated = Ort.run(StampCompiler.compile(before, StampConfig.builder().emit(StampConfig.Emit.SIMULATE).build()).model(), in).get("y");
        float[] integer = Ort.run(r.model(), in).get("y");
        assertTrue(Ort.maxRelativeError(simulated, integer) < 1e-4, "integer vs simulation form: " + Ort.maxRelativeError(simulated, integer));

        // the matched baseline likewise; from opset 13 the standard per-axis QuantizeLinear (the product is still ONNX Runtime's
        // MatMulIntegerToFloat, unless --portable)
        StampResult base = StampCompiler.compile(linearWithBias(13, 8), StampConfig.builder().mode(StampConfig.Mode.BASELINE).build());
        assertEquals("""
                x_stamp_levels = ai.stamp.TokenPrecision_identity_l3_s1_b8-4_band(x)
                x_stamp_u8,x_stamp_scale,x_stamp_zp = ai.stamp.MixedPrecisionQuantize_ql(x, x_stamp_levels)
                proj_out = ai.stamp.ScaledMatMulInteger_ort(x_stamp_u8, x_stamp_scale, x_stamp_zp, W_rtn8, W_rtn8_colsum, W_rtn8_scale)
                y = Add(proj_out, b)""", GraphDump.of(base.model().getGraph()));
        assertEquals(List.of(":13", "ai.stamp:1", "com.microsoft:1"),
                base.model().getOpsetImportList().stream().map(o -> o.getDomain() + ":" + o.getVersion()).toList());
        assertEquals("A8/4 hi-tokens=sink+band; W8 rtn per-channel as int8 for MatMulInteger", base.report().rewritten().get(0).detail());
        // --portable: default-domain ops only, in the bodies and in the model's imports
        StampResult portable = StampCompiler.compile(linearWithBias(13, 8), StampConfig.builder().mode(StampConfig.Mode.BASELINE).portable(true).build());
        assertEquals(List.of(":13", "ai.stamp:1"), portable.model().getOpsetImportList().stream().map(o -> o.getDomain() + ":" + o.getVersion()).toList());
        assertTrue(portable.model().getFunctionsList().stream().flatMap(f -> f.getNodeList().stream()).allMatch(n -> n.getDomain().isEmpty()),
                "standard ops only");
        Map<String, Object> feed = Map.of("x", Ort.random(5, 2, 9, 8));
        float[] yPortable = Ort.run(portable.model(), feed).get("y"), yOrt = Ort.run(base.model(), feed).get("y");
        assertTrue(Ort.maxRelativeError(yPortable, yOrt) < 1e-5, "the two spellings compute the same numbers");
    }

    @Test
    void everyInsertedNodeNamesTheStageThatMadeIt() {
        StampResult r = StampCompiler.compile(linearWithBias(13, 6), StampConfig.builder().weights(StampConfig.WeightQuant.RTN8)
                .emit(StampConfig.Emit.SIMULATE).build());
        Map<String, String> stageOf = Map.of("HaarSequence_l3_s1", "sequence-transform", "HaarSequenceInverse_l3_s1", "sequence-transform",
                "MixedPrecisionQdq", "activation-quantization", "DequantizeLinear", "weight-quantization", "MatMul", "matmul");
        int labelled = 0;
        for (OnnxMl.NodeProto n : r.model().getGraph().getNodeList()) {
            if (!n.getDocString().startsWith("stamp-onnx ")) continue;
            String op = n.getOpType().startsWith("TokenPrecision_") ? "MixedPrecisionQdq" : n.getOpType();
            assertTrue(stageOf.containsKey(op), "unexpected inserted op " + op);
            assertTrue(n.getDocString().startsWith("stamp-onnx linear-layer/" + stageOf.get(op) + " for "), n.getOpType() + ": " + n.getDocString());
            labelled++;
        }
        assertEquals(6, labelled, "transform, precision, quantizer, weight DequantizeLinear, MatMul, inverse");
    }

    @Test
    void baselineModeQuantizesWithoutTransform() {
        StampResult r = StampCompiler.compile(linearWithBias(13, 8), floatWeights().mode(StampConfig.Mode.BASELINE).build());
        assertEquals("""
                x_stamp_levels = ai.stamp.TokenPrecision_identity_l3_s1_b8-4_band(x)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x, x_stamp_levels)
                proj_out = MatMul(x_stamp_q, W)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
    }

    @Test
    void transformOnlyModeIsExactInOrt() {
        OnnxMl.ModelProto before = linearWithBias(11, 6);
        StampResult r = StampCompiler.compile(before, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                proj_out_coeffs = MatMul(x_stamp_coeffs, W)
                proj_out = ai.stamp.HaarSequenceInverse_l3_s1(proj_out_coeffs, x)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        for (long seq : new long[] {1, 5, 8, 17, 64}) {
            Map<String, Object> in = Map.of("x", Ort.random(seq, 2, seq, 8));
            float[] expected = Ort.run(before, in).get("y");
            float[] actual = Ort.run(r.model(), in).get("y");
            assertTrue(Ort.maxRelativeError(expected, actual) < 1e-5, "seq " + seq + ": " + Ort.maxRelativeError(expected, actual));
        }
    }

    @Test
    void stampBeatsMatchedBaselineOnSmoothSequences() {
        // tokens that vary slowly along the sequence (what real activations look like) plus a large sink token
        long seq = 65;
        float[] x = new float[(int) (seq * 8)];
        java.util.Random rnd = new java.util.Random(3);
        for (int t = 0; t < seq; t++) {
            for (int d = 0; d < 8; d++) x[t * 8 + d] = (float) (Math.sin(0.07 * t + d) * 2 + 0.05 * rnd.nextGaussian() + (t == 0 ? 10 : 0));
        }
        OnnxMl.ModelProto before = linearWithBias(11, 6);
        Map<String, Object> in = Map.of("x", new Ort.Tensor(x, new long[] {1, seq, 8}));
        float[] ref = Ort.run(before, in).get("y");
        double stamp = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(before, StampConfig.defaults()).model(), in).get("y"));
        double base = Ort.sqnrDb(ref, Ort.run(StampCompiler.compile(before,
                StampConfig.builder().mode(StampConfig.Mode.BASELINE).build()).model(), in).get("y"));
        assertTrue(stamp > base + 3, "stamp " + stamp + " dB vs baseline " + base + " dB");
    }

    @Test
    void inverseOnTheInputSideRestoresTokensBeforeTheMatMul() {
        OnnxMl.ModelProto before = linearWithBias(11, 6);
        StampConfig input = floatWeights().inverseAt(StampConfig.InversePlacement.INPUT).build();
        StampResult r = StampCompiler.compile(before, input);
        assertEquals("""
                x_stamp_coeffs = ai.stamp.HaarSequence_l3_s1(x)
                x_stamp_levels = ai.stamp.TokenPrecision_haar1d_l3_s1_b8-4_band(x_stamp_coeffs)
                x_stamp_q = ai.stamp.MixedPrecisionQdq(x_stamp_coeffs, x_stamp_levels)
                x_stamp_dq = ai.stamp.HaarSequenceInverse_l3_s1(x_stamp_q, x)
                proj_out = MatMul(x_stamp_dq, W)
                y = Add(proj_out, b)""", GraphDump.of(r.model().getGraph()));
        // L^T(Q(LX) W) = (L^T Q(LX)) W: the two placements agree up to float rounding, with quantization on or off
        for (StampConfig.Mode mode : new StampConfig.Mode[] {StampConfig.Mode.STAMP, StampConfig.Mode.TRANSFORM_ONLY}) {
            Map<String, Object> in = Map.of("x", Ort.random(4, 2, 37, 8));
            float[] output = Ort.run(StampCompiler.compile(before, floatWeights().mode(mode).build()).model(), in).get("y");
            float[] inputSide = Ort.run(StampCompiler.compile(before, input.toBuilder().mode(mode).build()).model(), in).get("y");
            assertTrue(Ort.maxRelativeError(output, inputSide) < 1e-5, mode + ": " + Ort.maxRelativeError(output, inputSide));
        }
    }

    @Test
    void autoPlacementSharesOneInverseBetweenProjectionsOfOneInput() {
        OnnxMl.ModelProto block = ai.stamp.testmodels.TinyGraphs.encoderBlock(11, 16, 1);
        StampResult r = StampCompiler.compile(block, floatWeights().inverseAt(StampConfig.InversePlacement.AUTO).build());
        // q, k, v (16->16) share one input-side inverse; o (16->16) and fc1 (16->32) widen or keep width: input side;
        // fc2 (32->16) narrows: output side. 4 forwards, 4 inverses instead of 6.
        assertEquals(4, r.report().insertedFunctions().get("HaarSequence_l3_s1"));
        assertEquals(4, r.report().insertedFunctions().get("HaarSequenceInverse_l3_s1"));
        Map<String, Object> in = Map.of("x", Ort.random(8, 1, 40, 16));
        float[] output = Ort.run(StampCompiler.compile(block, floatWeights().build()).model(), in).get("hidden");
        float[] auto = Ort.run(r.model(), in).get("hidden");
        assertTrue(Ort.maxRelativeError(output, auto) < 1e-4, "auto vs output placement: " + Ort.maxRelativeError(output, auto));
    }
}
