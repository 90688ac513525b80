package ai.stamp.compiler.passes.linear;

import static ai.stamp.compiler.passes.linear.LinearFixtures.planned;
import static ai.stamp.compiler.passes.linear.LinearFixtures.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl;
import ai.stamp.compiler.GraphDump;
import ai.stamp.compiler.Ort;
import ai.stamp.compiler.StampCompiler;
import ai.stamp.compiler.StampConfig;
import ai.stamp.compiler.StampReport;
import ai.stamp.compiler.StampResult;
import ai.stamp.compiler.calibration.CalibrationStats;
import ai.stamp.compiler.io.ExternalWeights;
import ai.stamp.compiler.ir.OpsetCheck;
import ai.stamp.compiler.rewrite.Match;
import ai.stamp.compiler.rewrite.Refusal;
import ai.stamp.testmodels.GraphBuilder;
import ai.stamp.testmodels.QuantizedGraphs;
import ai.stamp.testmodels.TinyGraphs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** LinearLayerRule (through the pass that runs it per graph): which layers it accepts, each refusal's code, shared inputs. */
class LinearLayerRuleTest {
    private static final int D = 8;
    private static final int N = 4;

    private static Map<String, Match<LayerPlan>> decisions(OnnxMl.ModelProto model, StampConfig config, CalibrationStats stats) {
        LinearLayerPass.Plan plan = new LinearLayerPass(config, stats, ExternalWeights.NONE, OpsetCheck.defaultOpset(model)).plan(model);
        Map<String, Match<LayerPlan>> out = new LinkedHashMap<>();
        for (LinearLayerPass.Step s : plan.steps()) out.put(s.node().getName(), s.match());
        return out;
    }

    private static Map<String, Match<LayerPlan>> decisions(OnnxMl.ModelProto model, StampConfig config) {
        return decisions(model, config, CalibrationStats.NONE);
    }

    @Test
    void acceptsTheLinearLayersAndPassesTheMatchersRefusalsOn() {
        Map<String, Match<LayerPlan>> d = decisions(TinyGraphs.encoderBlock(13, 16, 1), StampConfig.defaults());
        assertEquals(List.of("q", "k", "v", "scores", "context", "o", "fc1", "fc2", "head"), List.copyOf(d.keySet()), "MatMul/Gemm only, in node order");
        for (String name : List.of("q", "k", "v", "o", "fc1", "fc2")) {
            LayerPlan p = planned(d.get(name));
            assertEquals(name, p.layer().name());
            assertEquals(WeightPlan.Form.INTEGER, p.weight().form(), "the defaults quantize W to int8 for the integer GEMM");
            assertTrue(p.input().integer(), name);
        }
        assertEquals(Refusal.Code.RUNTIME_OPERAND, refused(d.get("scores")).code());
        assertEquals(Refusal.Code.RUNTIME_OPERAND, refused(d.get("context")).code());
        assertEquals(Refusal.Code.NO_SEQUENCE, refused(d.get("head")).code());
        // a token-plan refusal is the rule's refusal too
        Map<String, Match<LayerPlan>> grid = decisions(TinyGraphs.encoderBlock(13, 16, 1), StampConfig.builder().transform("haar2d").build());
        assertEquals(Refusal.Code.NO_TOKEN_GRID, refused(grid.get("q")).code());
        assertEquals(Refusal.Code.RUNTIME_OPERAND, refused(grid.get("scores")).code());
    }

    @Test
    void alreadyQuantizedWeightsAreRefused() {
        Map<String, Match<LayerPlan>> d = decisions(QuantizedGraphs.qdq(13), StampConfig.defaults());
        Refusal fc1 = refused(d.get("fc1"));
        assertEquals(Refusal.Code.ALREADY_QUANTIZED, fc1.code());
        assertEquals("already quantized: weight 'W1' is DequantizeLinear 'W1_dq' of int8 constant 'W1_q';"
                + " use --dequantize-weights to turn it back into float and rewrite it", fc1.detail());
        Refusal fc2 = refused(d.get("fc2"));
        assertEquals(Refusal.Code.ALREADY_QUANTIZED, fc2.code());
        assertTrue(fc2.detail().startsWith("already quantized: weight 'W2' is DequantizeLinear 'W2_dq' of uint8 constant 'W2_q'"), fc2.detail());
        // an integer initializer cast to float is quantized too
        GraphBuilder g = new GraphBuilder(1);
        g.input("x", "batch", "seq", D);
        g.graph().addInitializer(OnnxMl.TensorProto.newBuilder().setName("Wq").setDataType(OnnxMl.TensorProto.DataType.INT8_VALUE)
                .addDims(D).addDims(N).setRawData(com.google.protobuf.ByteString.copyFrom(new byte[D * N])));
        g.node("Cast", "cast", List.of("Wq"), List.of("W"), GraphBuilder.intAttr("to", OnnxMl.TensorProto.DataType.FLOAT_VALUE));
        g.node("MatMul", "proj", List.of("x", "W"), List.of("y"));
        g.output("y", "batch", "seq", N);
        Refusal cast = refused(decisions(g.model(13, 8), StampConfig.defaults()).get("proj"));
        assertEquals(Refusal.Code.ALREADY_QUANTIZED, cast.code());
        assertTrue(cast.detail().startsWith("already quantized: weight 'W' is computed from int8 initializer 'Wq'"), cast.detail());
    }

    @Test
    void integerMatMulsAreReportedAsAlreadyQuantized() {
        OnnxMl.ModelProto dynamic = QuantizedGraphs.dynamic(13);
        Map<String, Match<LayerPlan>> d = decisions(dynamic, StampConfig.defaults());
        assertEquals(List.of("q", "k"), List.copyOf(d.keySet()), "only the integer matmuls: the other nodes are not applicable");
        for (String name : List.of("q", "k")) {
            Refusal r = refused(d.get(name));
            assertEquals(Refusal.Code.ALREADY_QUANTIZED, r.code());
            assertEquals("already quantized: MatMulInteger computes on integer operands; use --dequantize-weights to turn"
                    + " DynamicQuantizeLinear + MatMulInteger back into a float MatMul and rewrite it", r.detail());
        }
        List<StampReport.Skipped> skipped = StampCompiler.compile(dynamic, StampConfig.defaults()).report().skipped();
        assertEquals(List.of("MatMulInteger", "MatMulInteger"), skipped.stream().map(StampReport.Skipped::opType).toList());
        assertEquals(List.of("already-quantized", "already-quantized"), skipped.stream().map(StampReport.Skipped::code).toList());
    }

    /** x [batch, seq, D] -> MatMul 'proj' (W [D, N], also a graph input: an overridable default) -> y. */
    private static OnnxMl.ModelProto overridable(long ir) {
        GraphBuilder g = new GraphBuilder(9);
        g.input("x", "batch", "seq", D);
        g.node("MatMul", "proj", List.of("x", g.weight("W", 0.5f, D, N)), List.of("y"));
        g.input("W", D, N);
        g.output("y", "batch", "seq", N);
        return g.model(13, ir);
    }

    private static CalibrationStats statsOfX() { return LinearFixtures.channelMax(Map.of("x", LinearFixtures.outlierMaxima(D, 3))); }

    /**
     * {@code m} with W's default (the initializer) dropped, so W must be fed: what ORT runs when a caller overrides the
     * default. (The Java API counts only inputs without an initializer, so it refuses a feed for an overridable one.)
     */
    private static OnnxMl.ModelProto overriding(OnnxMl.ModelProto m) {
        OnnxMl.GraphProto.Builder g = m.getGraph().toBuilder();
        for (int i = g.getInitializerCount() - 1; i >= 0; i--) if (g.getInitializer(i).getName().equals("W")) g.removeInitializer(i);
        return m.toBuilder().setGraph(g).build();
    }

    private static boolean readsW(OnnxMl.ModelProto m) {
        return m.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("MatMul") && n.getInput(1).equals("W"))
                && m.getGraph().getInputList().stream().anyMatch(v -> v.getName().equals("W"))
                && LinearFixtures.hasInitializer(m.getGraph(), "W");
    }

    @Test
    void anOverridableWeightIsNotBakedIn() {
        OnnxMl.ModelProto model = overridable(8);
        Map<String, Object> in = Map.of("x", Ort.random(1, 2, 9, D), "W", Ort.random(2, D, N));
        float[] overridden = Ort.run(overriding(model), in).get("y");
        for (StampConfig config : List.of(StampConfig.defaults(), StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build(),
                StampConfig.builder().rotation(StampConfig.Rotation.HADAMARD).build(), StampConfig.builder().smoothAlpha(0.5).build())) {
            Refusal r = refused(decisions(model, config, statsOfX()).get("proj"));
            assertEquals(Refusal.Code.OVERRIDABLE_WEIGHT, r.code(), config.toString());
            assertEquals("weight 'W' is also a graph input, so a caller may replace it at run time; quantizing or transforming it would bake"
                    + " today's value in: layer left alone", r.detail());
            StampResult result = StampCompiler.compile(model, config, statsOfX());
            assertEquals(List.of("overridable-weight"), result.report().skipped().stream().map(StampReport.Skipped::code).toList());
            assertTrue(readsW(result.model()), GraphDump.of(result.model().getGraph()));
            assertEquals(0, LinearFixtures.maxAbsDiff(overridden, Ort.run(overriding(result.model()), in).get("y")), config.toString());
        }
    }

    @Test
    void aWeightComputedFromAnOverridableInitializerIsNotBakedInEither() {
        GraphBuilder g = new GraphBuilder(9);
        g.input("x", "batch", "seq", D);
        g.node("Transpose", "wt", List.of(g.weight("W0", 0.5f, N, D)), List.of("W"), GraphBuilder.intsAttr("perm", 1, 0));
        g.node("MatMul", "proj", List.of("x", "W"), List.of("y"));
        g.input("W0", N, D);
        g.output("y", "batch", "seq", N);
        Refusal r = refused(decisions(g.model(13, 8), StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build()).get("proj"));
        assertEquals(Refusal.Code.OVERRIDABLE_WEIGHT, r.code());
        assertEquals("weight 'W' is computed from 'W0', which is also a graph input, so a caller may replace it at run time; quantizing or"
                + " transforming it would bake today's value in: layer left alone", r.detail());
    }

    @Test
    void withFloatWeightsAnOverridableWeightIsRewrittenAndStillRead() {
        OnnxMl.ModelProto model = overridable(8);
        Ort.Tensor x = Ort.random(1, 2, 9, D);
        Map<String, Object> in = Map.of("x", x, "W", Ort.random(2, D, N));
        float[] overridden = Ort.run(overriding(model), in).get("y");
        float[] defaultW = Ort.run(model, Map.of("x", x)).get("y");
        assertTrue(LinearFixtures.maxAbsDiff(overridden, defaultW) > 0.5, "the override changes the output");

        // nothing bakes W in (the defaults quantize it: refused, see above)
        StampConfig floatWeights = StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build();
        StampResult stamp = StampCompiler.compile(model, floatWeights);
        assertEquals(List.of("proj"), stamp.report().rewritten().stream().map(StampReport.Layer::name).toList());
        assertEquals(WeightPlan.Form.UNCHANGED, planned(decisions(model, floatWeights).get("proj")).weight().form());
        assertTrue(readsW(stamp.model()), GraphDump.of(stamp.model().getGraph()));
        float[] got = Ort.run(overriding(stamp.model()), in).get("y");
        assertTrue(Ort.sqnrDb(overridden, got) > 20, "follows the override: " + Ort.sqnrDb(overridden, got) + " dB");
        assertTrue(Ort.sqnrDb(defaultW, got) < 5, "not the default's output: " + Ort.sqnrDb(defaultW, got) + " dB");

        StampResult exact = StampCompiler.compile(model, StampConfig.builder().mode(StampConfig.Mode.TRANSFORM_ONLY).build());
        assertTrue(readsW(exact.model()));
        assertTrue(Ort.maxRelativeError(overridden, Ort.run(overriding(exact.model()), in).get("y")) < 1e-5);
    }

    @Test
    void belowIr4AnInitializerListedAsInputIsAConstant() {
        OnnxMl.ModelProto model = overridable(3);
        StampConfig rtn = StampConfig.builder().weights(StampConfig.WeightQuant.RTN8).build();
        LayerPlan p = planned(decisions(model, rtn).get("proj"));
        assertEquals(WeightPlan.Form.INTEGER, p.weight().form(), "quantized for the integer GEMM (--emit auto)");
        assertFalse(p.weight().original().removed(), "still listed as an input: the initializer stays");
        StampResult r = StampCompiler.compile(model, rtn);
        assertTrue(GraphDump.of(r.model().getGraph()).contains("ScaledMatMulInteger_ort(x_stamp_u8, x_stamp_scale, x_stamp_zp, W_rtn8, W_rtn8_colsum, W_rtn8_scale)"),
                GraphDump.of(r.model().getGraph()));
        LayerPlan rotated = planned(decisions(model, StampConfig.builder().weights(StampConfig.WeightQuant.NONE)
                .rotation(StampConfig.Rotation.HADAMARD).build()).get("proj"));
        assertEquals(WeightPlan.Form.FLOAT, rotated.weight().form());
        assertTrue(rotated.input().features().rotation().isPresent());
    }

    @Test
    void readersOfOneActivationShareOneInputPlan() {
        OnnxMl.ModelProto block = TinyGraphs.encoderBlock(13, 16, 1);
        CalibrationStats stats = LinearFixtures.channelMax(Map.of("x", LinearFixtures.outlierMaxima(16, 4), "context_out", LinearFixtures.outlierMaxima(16, 5)));
        StampConfig floatWeights = StampConfig.builder().weights(StampConfig.WeightQuant.NONE).build();
        for (StampConfig config : List.of(StampConfig.defaults(), floatWeights, StampConfig.builder().inverseAt(StampConfig.InversePlacement.AUTO).build(),
                floatWeights.toBuilder().inverseAt(StampConfig.InversePlacement.AUTO).build(),
                StampConfig.builder().smoothAlpha(0.5).rotation(StampConfig.Rotation.HADAMARD).build())) {
            Map<String, Match<LayerPlan>> d = decisions(block, config, stats);
            InputPlan q = planned(d.get("q")).input();
            assertSame(q, planned(d.get("k")).input(), config.toString());
            assertSame(q, planned(d.get("v")).input(), config.toString());
            assertEquals("x", q.activation());
            assertNotSame(q, planned(d.get("o")).input());
            assertEquals("context_out", planned(d.get("o")).input().activation());
        }
        // AUTO, float weights: the inverse runs on the input side where N >= D (q, k, v, o, fc1), on the output side of fc2 (32 -> 16)
        Map<String, Match<LayerPlan>> auto = decisions(block, floatWeights.toBuilder().inverseAt(StampConfig.InversePlacement.AUTO).build());
        assertTrue(planned(auto.get("q")).input().inverseFirst());
        assertTrue(planned(auto.get("fc1")).input().inverseFirst());
        assertFalse(planned(auto.get("fc2")).input().inverseFirst());
        // AUTO with the default int8 weights: the integer GEMM reads the quantized coefficients, so every inverse is on the output side
        Map<String, Match<LayerPlan>> autoInteger = decisions(block, StampConfig.builder().inverseAt(StampConfig.InversePlacement.AUTO).build());
        for (String name : List.of("q", "fc1", "fc2")) {
            assertTrue(planned(autoInteger.get(name)).input().integer(), name);
            assertFalse(planned(autoInteger.get(name)).input().inverseFirst(), name);
        }
        // one shared input is emitted once: 4 forward transforms for 6 layers, with either weights
        for (StampConfig config : List.of(StampConfig.defaults(), floatWeights)) {
            StampResult r = StampCompiler.compile(block, config);
            assertEquals(4, r.report().insertedFunctions().get("HaarSequence_l3_s1"), config.toString());
            assertEquals(6, r.report().insertedFunctions().get("HaarSequenceInverse_l3_s1"), config.toString());
        }
    }

    @Test
    void aRulePlansOnlyItsOwnGraph() {
        OnnxMl.ModelProto model = TinyGraphs.linearInsideIf(13, 8, 2);
        LayerMatches matches = LinearFixtures.matches(model);
        LinearLayerPass.Plan plan = new LinearLayerPass(StampConfig.defaults(), CalibrationStats.NONE, ExternalWeights.NONE, 13).plan(model, matches);
        assertEquals(List.of("main/if.then_branch", "main/if.else_branch"), plan.steps().stream().map(s -> s.graph().path()).toList());
        LinearLayerPass.Step then = plan.steps().get(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> then.rule().match(matches.graphs().get(0), model.getGraph().getNode(0)));
        assertEquals("this rule plans graph main/if.then_branch, not main", e.getMessage());
    }
}
